//! L10: the activation summary report, at most once a day per account, e-mailed to its requester.

use chrono::Utc;
use portal_clients::Member;
use portal_proto::{
    Idempotent,
    notification::{Attachment, NoticeKind, SendNoticeRequest as NoticeRequest},
};
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
    new_id,
};
use sea_orm::DatabaseConnection;

use super::audit::{self, Event};
use crate::{
    domain::report::{self, Report, ReportRow},
    error::Result,
    store::{self, activations::ActivationFilter},
};

/// L10: makes the CSV of every activation of `account_id` for `requester` (a portal user, who gets it by
/// e-mail; or a service), idempotent on `request`'s id, refused within 24 hours of the last one.
pub async fn request(
    db: &DatabaseConnection,
    context: &CallContext,
    account_id: &str,
    requester: Option<&Member>,
    request: &impl Idempotent,
) -> Result<Report> {
    let report_id = new_id("rpt");
    let txn = match idempotency::claim(db, "RequestActivationReport", request, &report_id).await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(id) => return store::reports::get_report(db, &id).await,
    };
    let now = Utc::now();
    let claimed =
        store::reports::claim_report_slot(&txn, account_id, now, report::report_window_start(now))
            .await?;
    report::ensure_report_allowed(claimed)?;
    let everything = ActivationFilter {
        show_deactivated: true,
        ..Default::default()
    };
    let activations = store::activations::list_activations(&txn, account_id, &everything).await?;
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
        account_id: account_id.to_string(),
        requester_user_id: requester.map(|m| m.user_id.clone()).unwrap_or_default(),
        row_count: rows.len() as u64,
        csv,
        create_time: now,
    };
    store::reports::insert_report(&txn, &made).await?;
    let event = Event::RequestActivationReport {
        account_id,
        report_id: &report_id,
        rows: rows.len(),
    };
    audit::record(&txn, context, event).await?;
    // L10: e-mailed to the requester (with the CSV) through notification's ledger, queued with the report.
    if let Some(member) = requester {
        let notice = NoticeRequest {
            kind: NoticeKind::ActivationReportReady as i32,
            account_id: account_id.to_string(),
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
                content: made.csv.clone().into_bytes(),
            }],
            ..Default::default()
        };
        portal_runtime::outbox::enqueue(&txn, notice).await?;
    }
    txn.commit().await?;
    Ok(made)
}
