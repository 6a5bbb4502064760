//! Writes to the delivery ledger by hand: RetryDeliveries (N3), SendNotice (N6) and RemindAdvisory (N9). Each
//! is one transaction with its audit event; the caller then wakes the delivery worker.

use chrono::Utc;
use portal_proto::Idempotent;
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
    new_id,
};
use sea_orm::DatabaseConnection;

use super::audit::{self, Event};
use crate::{
    domain::{NewNotice, reminder::Reminders},
    error::{Error, Result},
    store::{advisories, deliveries},
};

/// N3: queues the DEAD deliveries `delivery_ids` of an advisory again (none named: every dead one). Returns how
/// many were queued.
pub async fn retry(
    db: &DatabaseConnection,
    context: &CallContext,
    advisory_id: &str,
    delivery_ids: &[String],
) -> Result<u64> {
    advisories::find(db, advisory_id).await?;
    let txn = portal_runtime::db::begin_write(db).await?;
    let requeued = deliveries::requeue_dead(&txn, advisory_id, delivery_ids, Utc::now()).await?;
    audit::record(
        &txn,
        context,
        Event::DeliveriesRetried {
            advisory_id,
            requeued,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(requeued)
}

/// N6: writes one notice to the ledger, idempotent on `request`'s id. Returns its delivery id (the first
/// call's, on a replay).
pub async fn send_notice<R: Idempotent>(
    db: &DatabaseConnection,
    context: &CallContext,
    request: &R,
    notice: &NewNotice,
) -> Result<String> {
    let delivery_id = new_id("dlv");
    let txn = match idempotency::claim(db, "SendNotice", request, &delivery_id).await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(delivery_id) => return Ok(delivery_id),
    };
    deliveries::insert_notice(&txn, &delivery_id, notice, Utc::now()).await?;
    audit::record(
        &txn,
        context,
        Event::NoticeSent {
            account_id: &notice.recipient.account_id,
            delivery_id: &delivery_id,
            kind: notice.payload.kind,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(delivery_id)
}

/// What RemindAdvisory queued: reminder number `reminder` to `queued` contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reminded {
    pub reminder: i32,
    pub queued: i32,
}

/// N9: writes the next reminder ([`Reminders::n9_next`]) for every contact reached at an account nobody
/// acknowledged the advisory at ([`Reminders::n9_copies`]), idempotent on `request`'s id (a replay answers
/// what the first call queued).
pub async fn remind<R: Idempotent>(
    db: &DatabaseConnection,
    context: &CallContext,
    request: &R,
    advisory_id: &str,
) -> Result<Reminded> {
    const OPERATION: &str = "RemindAdvisory";
    advisories::find(db, advisory_id).await?;
    let txn = match idempotency::claim(db, OPERATION, request, "").await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(recorded) => {
            return recorded
                .split_once('/')
                .and_then(|(n, q)| {
                    Some(Reminded {
                        reminder: n.parse().ok()?,
                        queued: q.parse().ok()?,
                    })
                })
                .ok_or_else(|| Error::internal("unreadable RemindAdvisory replay"));
        }
    };
    let reminders = Reminders::n9_next(
        advisory_id,
        deliveries::last_reminder(&txn, advisory_id).await?,
    );
    let queued = deliveries::insert_reminders(&txn, &reminders, Utc::now()).await?;
    let reminder = reminders.number;
    let queued = i32::try_from(queued).unwrap_or(i32::MAX);
    let request_id = request.request_id();
    if !request_id.is_empty() {
        idempotency::set_resource(&txn, OPERATION, request_id, &format!("{reminder}/{queued}"))
            .await?;
    }
    audit::record(
        &txn,
        context,
        Event::RemindersQueued {
            advisory_id,
            reminder,
            queued,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Reminded { reminder, queued })
}
