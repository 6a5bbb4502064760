//! Activation summary reports (L10): requested by an Administrator at most once a day, e-mailed to them and
//! downloadable.

use chrono::Utc;
use portal_proto::licensing as pb;
use portal_proto::notification::{Attachment, NoticeKind, SendNoticeRequest as NoticeRequest};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    auth::INTERNAL_SCOPE,
    idempotency::{self, Claim},
    new_id,
    time::to_proto,
};
use serde_json::json;

use super::convert;
use crate::{
    LicensingApi,
    domain::{
        access,
        report::{self, Report, ReportRow},
    },
    error::{Error, Result},
    store::{self, activations::ActivationFilter},
};

impl LicensingApi {
    pub(super) async fn request_activation_report(
        &self,
        context: CallContext,
        r: pb::RequestActivationReportRequest,
    ) -> Result<pb::RequestActivationReportResponse> {
        let caller = self.caller(&context).await?;
        if !access::may_request_report(&caller, &r.account_id) {
            return Err(Error::denied(
                "only an Administrator of the account requests activation reports",
            ));
        }
        let requester = caller
            .member()
            .map(|m| m.user_id.clone())
            .unwrap_or_default();
        let report_id = new_id("rpt");
        let txn =
            match idempotency::claim(&self.db, "RequestActivationReport", &r, &report_id).await? {
                Claim::Fresh(txn) => txn,
                Claim::Replay(id) => {
                    let done = store::reports::get_report(&self.db, &id).await?;
                    return Ok(pb::RequestActivationReportResponse {
                        report_id: done.report_id,
                        csv: done.csv.into_bytes(),
                        create_time: Some(to_proto(done.create_time)),
                    });
                }
            };
        let now = Utc::now();
        let claimed = store::reports::claim_report_slot(
            &txn,
            &r.account_id,
            now,
            report::report_window_start(now),
        )
        .await?;
        report::ensure_report_allowed(claimed)?;
        let everything = ActivationFilter {
            show_deactivated: true,
            ..Default::default()
        };
        let activations =
            store::activations::list_activations(&txn, &r.account_id, &everything).await?;
        let key_ids = activations.iter().map(|a| a.key_id.clone()).collect();
        let keys = store::keys::keys_by_id(&txn, key_ids).await?;
        let rows: Vec<ReportRow> = activations
            .iter()
            .map(|a| {
                let last_group = keys.get(&a.key_id).map_or("", |k| k.key.last_group());
                ReportRow::of(a, last_group)
            })
            .collect();
        let csv = report::to_csv(&rows)?;
        let made = Report {
            report_id: report_id.clone(),
            account_id: r.account_id.clone(),
            requester_user_id: requester,
            row_count: rows.len() as u64,
            csv: csv.clone(),
            create_time: now,
        };
        store::reports::insert_report(&txn, &made).await?;
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &r.account_id,
                action: "RequestActivationReport",
                resource_type: "report",
                resource_id: &report_id,
                before: None,
                after: Some(json!({ "rows": rows.len() })),
            },
        )
        .await?;
        // L10: e-mailed to the requester (with the CSV) through notification's ledger, queued with the report.
        if let Some(member) = caller.member() {
            let notice = NoticeRequest {
                kind: NoticeKind::ActivationReportReady as i32,
                account_id: r.account_id.clone(),
                email: member.email.clone(),
                display_name: member.display_name.clone(),
                fields: [
                    ("report_id".to_string(), report_id.clone()),
                    ("user_id".to_string(), member.user_id.clone()),
                ]
                .into_iter()
                .collect(),
                attachments: vec![Attachment {
                    filename: "activation-report.csv".into(),
                    content_type: "text/csv".into(),
                    content: csv.clone().into_bytes(),
                }],
                ..Default::default()
            };
            portal_runtime::outbox::enqueue(&txn, notice).await?;
        }
        txn.commit().await?;
        Ok(pb::RequestActivationReportResponse {
            report_id,
            csv: csv.into_bytes(),
            create_time: Some(to_proto(now)),
        })
    }

    pub(super) async fn get_activation_report(
        &self,
        context: CallContext,
        r: pb::GetActivationReportRequest,
    ) -> Result<pb::ActivationReport> {
        let caller = self.caller(&context).await?;
        let found = store::reports::find_report(&self.db, &r.report_id).await?;
        match found {
            Some(done) if access::may_download_report(&caller, &done.account_id) => {
                Ok(convert::report(&done))
            }
            None if caller.has_scope(&[INTERNAL_SCOPE]) => Err(Error::ReportNotFound),
            _ => Err(Error::denied(
                "only Administrators of the report's account download it",
            )),
        }
    }
}
