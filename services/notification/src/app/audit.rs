//! The notification service's audit events, typed: one variant per mutation the application layer makes, each
//! written in the transaction of its change (every mutation is audited). The rows read as they always have.

use portal_runtime::{
    CallContext,
    audit::{self, Change},
};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    domain::{Delivery, NewAdvisory, NoticeKind},
    error::Result,
};

/// One audited change.
pub enum Event<'a> {
    /// N1/N11: an advisory numbered and written, by PublishAdvisory or PublishCsafAdvisory (`operation`).
    AdvisoryPublished {
        operation: &'a str,
        advisory_id: &'a str,
        new: &'a NewAdvisory,
    },
    /// N3: DEAD deliveries of an advisory queued again by hand.
    DeliveriesRetried { advisory_id: &'a str, requeued: u64 },
    /// N6: a notice written to the ledger.
    NoticeSent {
        account_id: &'a str,
        delivery_id: &'a str,
        kind: NoticeKind,
    },
    /// N9: the first acknowledgement of an advisory's delivery.
    Acknowledged {
        advisory_id: &'a str,
        delivery: &'a Delivery,
    },
    /// N9: reminder `reminder` queued to `queued` contacts.
    RemindersQueued {
        advisory_id: &'a str,
        reminder: i32,
        queued: i32,
    },
}

impl Event<'_> {
    fn change(&self) -> Change<'_> {
        let (account_id, action, resource_type, resource_id, after): (
            &str,
            &str,
            &str,
            &str,
            Value,
        ) = match self {
            Event::AdvisoryPublished {
                operation,
                advisory_id,
                new,
            } => {
                let mut after = json!({
                    "kind": new.kind.as_str(),
                    "severity": new.severity.as_str(),
                    "tlp": new.tlp.as_str(),
                    "title": new.title,
                });
                if let Some(csaf) = &new.content.csaf {
                    after["csaf_tracking_id"] = json!(csaf.id);
                    after["csaf_tracking_version"] = json!(csaf.version);
                }
                ("", operation, "advisory", advisory_id, after)
            }
            Event::DeliveriesRetried {
                advisory_id,
                requeued,
            } => (
                "",
                "RetryDeliveries",
                "advisory",
                advisory_id,
                json!({ "requeued": requeued }),
            ),
            Event::NoticeSent {
                account_id,
                delivery_id,
                kind,
            } => (
                account_id,
                "SendNotice",
                "delivery",
                delivery_id,
                json!({ "kind": kind.as_str() }),
            ),
            Event::Acknowledged {
                advisory_id,
                delivery,
            } => (
                &delivery.to.account_id,
                "AcknowledgeAdvisory",
                "advisory",
                advisory_id,
                json!({
                    "delivery_id": delivery.delivery_id,
                    "email": delivery.to.email,
                }),
            ),
            Event::RemindersQueued {
                advisory_id,
                reminder,
                queued,
            } => (
                "",
                "RemindAdvisory",
                "advisory",
                advisory_id,
                json!({ "reminder": reminder, "queued": queued }),
            ),
        };
        Change {
            account_id,
            action,
            resource_type,
            resource_id,
            before: None,
            after: Some(after),
        }
    }
}

/// Writes `event` as `context`'s, in `db` (the change's transaction).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    context: &CallContext,
    event: Event<'_>,
) -> Result<()> {
    audit::record(db, context, event.change()).await?;
    Ok(())
}
