//! RemindAdvisory (N9): one more mail to the contacts of the accounts nobody acknowledged an advisory at.

use portal_proto::notification as pb;
use portal_runtime::{CallContext, error::Violations};

use super::{PUBLISH, service_caller};
use crate::{
    NotificationApi, app,
    error::{Error, Result},
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
        let app::deliveries::Reminded { reminder, queued } =
            app::deliveries::remind(&self.db, &context, &r, &r.advisory_id).await?;
        self.wake_worker();
        Ok(pb::RemindAdvisoryResponse { reminder, queued })
    }
}
