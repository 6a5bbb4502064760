//! RemindAdvisory (N9): one more mail to the contacts of the accounts nobody acknowledged an advisory at.

use chrono::Utc;
use portal_proto::notification as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Claim},
};
use serde_json::json;

use super::{PUBLISH, service_caller};
use crate::{
    NotificationApi,
    error::{Error, Result},
    store::{advisories, deliveries},
};

impl NotificationApi {
    /// N9: writes reminder `n` (the next) for every contact reached at an unacknowledged account, idempotent on
    /// the request id, audited; the delivery worker sends them.
    pub(super) async fn remind_advisory(
        &self,
        context: CallContext,
        r: pb::RemindAdvisoryRequest,
    ) -> Result<pb::RemindAdvisoryResponse> {
        service_caller(&context, &[PUBLISH])?;
        let mut v = Violations::default();
        v.require("advisory_id", &r.advisory_id);
        v.finish().map_err(Error::invalid_fields)?;
        advisories::find(&self.db, &r.advisory_id).await?;
        let txn = match idempotency::claim(&self.db, "RemindAdvisory", &r, "").await? {
            Claim::Fresh(txn) => txn,
            Claim::Replay(recorded) => {
                let (reminder, queued) = recorded
                    .split_once('/')
                    .and_then(|(n, q)| Some((n.parse().ok()?, q.parse().ok()?)))
                    .ok_or_else(|| Error::internal("unreadable RemindAdvisory replay"))?;
                return Ok(pb::RemindAdvisoryResponse { reminder, queued });
            }
        };
        let reminder = deliveries::next_reminder(&txn, &r.advisory_id).await?;
        let queued =
            deliveries::insert_reminders(&txn, &r.advisory_id, reminder, Utc::now()).await?;
        let queued = i32::try_from(queued).unwrap_or(i32::MAX);
        if !r.request_id.is_empty() {
            idempotency::set_resource(
                &txn,
                "RemindAdvisory",
                &r.request_id,
                &format!("{reminder}/{queued}"),
            )
            .await?;
        }
        audit::record(
            &txn,
            &context,
            Change {
                account_id: "",
                action: "RemindAdvisory",
                resource_type: "advisory",
                resource_id: &r.advisory_id,
                before: None,
                after: Some(json!({ "reminder": reminder, "queued": queued })),
            },
        )
        .await?;
        txn.commit().await?;
        self.wake_worker();
        Ok(pb::RemindAdvisoryResponse { reminder, queued })
    }
}
