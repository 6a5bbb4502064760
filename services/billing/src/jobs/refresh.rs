//! Refreshing a paid renewal's keys (B8, L7): licensing moves each key to the renewal date plus the term, then
//! the renewal's pending flag is cleared exactly once, with the keys licensing refused noted on it.

use chrono::{DateTime, Utc};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
};
use serde_json::json;

use crate::{
    BillingApi,
    domain::{Answer, renewal as rules},
    error::Result,
    store,
};

impl BillingApi {
    /// B8/L7: refreshes the keys of a paid renewal to `renewal_date + term_months`, then clears its pending
    /// flag (exactly once). Unavailable licensing leaves it pending for the retry loop.
    pub(crate) async fn refresh_renewal(
        &self,
        context: &CallContext,
        renewal_id: &str,
    ) -> Result<()> {
        let renewal = store::renewals::find(&self.db, renewal_id).await?;
        if !renewal.refresh_pending {
            return Ok(());
        }
        let until = renewal.extended_until()?;
        let mut answers = Vec::new();
        for key_id in &renewal.key_ids {
            let answer = self.refresh_key(key_id, until).await;
            // Once licensing is unavailable, the rest waits for the next attempt too.
            let unavailable = matches!(answer, Answer::Unavailable(_));
            answers.push((key_id.clone(), answer));
            if unavailable {
                break;
            }
        }
        let Some(refused) = rules::b8_refresh_outcome(answers) else {
            tracing::info!(
                renewal_id,
                "licensing is unavailable; the renewal's refresh stays pending"
            );
            return Ok(());
        };
        if !refused.is_empty() {
            tracing::warn!(renewal_id, refused = ?refused, "licensing refused to refresh keys of a paid renewal");
        }
        let error = (!refused.is_empty()).then(|| refused.join("; "));
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        if store::renewals::finish_refresh(&txn, renewal_id, error, Utc::now()).await? {
            let change = Change {
                account_id: &renewal.account_id,
                action: "RefreshRenewedKeys",
                resource_type: "renewal",
                resource_id: &renewal.renewal_id,
                before: None,
                after: Some(
                    json!({ "key_ids": renewal.key_ids, "until": until, "refused": refused }),
                ),
            };
            audit::record(&txn, context, change).await?;
            txn.commit().await?;
        }
        Ok(())
    }

    /// Moves one key to `until`, unless it is there already (a retry after a lost answer).
    async fn refresh_key(&self, key_id: &str, until: DateTime<Utc>) -> Answer<()> {
        let key = match self.licensing.key(key_id).await {
            Ok(Some(key)) => key,
            Ok(None) => return Answer::Refused("no such key".into()),
            Err(e) => return super::answer(e),
        };
        let Some(plan) =
            rules::refresh_plan(key.license_type, key.period_end, key.maintenance_end, until)
        else {
            return Answer::Done(());
        };
        match self
            .licensing
            .refresh_key(key_id, plan.period_end, plan.maintenance_end)
            .await
        {
            Ok(()) => Answer::Done(()),
            Err(e) => super::answer(e),
        }
    }
}
