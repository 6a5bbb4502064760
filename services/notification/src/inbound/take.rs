//! N14: taking one report for one delivery — read it (domain), record it with its audit event in one
//! transaction (store), count it, and when it ended the delivery `DEAD`, let N8 escalation look at the account
//! right away instead of at the next sweep.

use std::collections::BTreeSet;

use chrono::Utc;
use portal_runtime::{CallContext, Principal};

use crate::{
    NotificationApi,
    domain::{About, bounce},
    error::Result,
    jobs, store,
};

/// Who records reports in the audit log: the notification service's own work, not any caller's.
fn context(report_key: &str) -> CallContext {
    CallContext {
        principal: Principal::Service {
            name: "notification".into(),
            scopes: BTreeSet::new(),
        },
        request_id: format!("report-{report_key}"),
        trace_id: String::new(),
    }
}

impl NotificationApi {
    /// N14: the delivery a report sent to `address` concerns, if the address is one of ours.
    pub(crate) fn report_address(&self, address: &str) -> Option<String> {
        bounce::n14_read_return_path(address, self.mailer.bounce_domain())
    }

    /// N14: records the report `raw` about delivery `delivery_id`. A report about a delivery that is no longer
    /// in the ledger is dropped (logged); an error means nothing was recorded and the relay should retry.
    pub(crate) async fn take_report(&self, delivery_id: &str, raw: &[u8]) -> Result<()> {
        let Some(delivery) = store::deliveries::find(&self.db, delivery_id).await? else {
            tracing::warn!(
                delivery_id,
                "a delivery report names a delivery that is not in the ledger"
            );
            portal_runtime::metrics::delivery_report("unknown_delivery");
            return Ok(());
        };
        let report = bounce::n14_read_report(raw, &delivery.delivery_id, &delivery.to.email);
        let recorded = store::reports::record(
            &self.db,
            &context(&report.key),
            &delivery,
            &report,
            Utc::now(),
        )
        .await?;
        if !recorded.fresh {
            portal_runtime::metrics::delivery_report("duplicate");
            return Ok(());
        }
        portal_runtime::metrics::delivery_report(report.kind.metric());
        tracing::info!(
            delivery_id,
            kind = report.kind.as_str(),
            status = report.status,
            dead = recorded.killed,
            "delivery report recorded"
        );
        if recorded.killed
            && let About::Advisory(advisory_id) = &delivery.about
        {
            let api = self.clone();
            let advisory_id = advisory_id.clone();
            let account_id = delivery.to.account_id.clone();
            tokio::spawn(async move {
                match jobs::escalate_now(&api, &advisory_id, &account_id).await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(advisory_id, error = %e, "escalating after a bounce failed; the sweep tries again")
                    }
                }
            });
        }
        Ok(())
    }
}
