//! ListDeliveries and RetryDeliveries (N3, N4): an advisory's ledger, and DEAD rows retried by hand.

use portal_proto::notification as pb;
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, error::Violations, paging};

use super::{PUBLISH, convert, service_caller};
use crate::{
    NotificationApi, app,
    error::{Error, Result},
    store::{advisories, deliveries},
};

/// The most delivery ids one RetryDeliveries names: a page's worth, well under any database's limit on bound
/// parameters (the probe's 33,000 ids failed as INTERNAL).
const MAX_RETRY_IDS: usize = 1000;

impl NotificationApi {
    pub(super) async fn list_deliveries(
        &self,
        context: CallContext,
        r: pb::ListDeliveriesRequest,
    ) -> Result<pb::ListDeliveriesResponse> {
        service_caller(&context, &[PUBLISH, INTERNAL_SCOPE])?;
        let mut v = Violations::default();
        v.require("advisory_id", &r.advisory_id);
        let states = v.check(convert::states(r.state)).flatten();
        let scope = paging::Scope::new("ListDeliveries", format!("{}|{}", r.advisory_id, r.state));
        let page = v.check(paging::parse(r.page_size, &r.page_token, &scope));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(page) = page else {
            return Err(Error::invalid("page_token", "invalid"));
        };
        advisories::find(&self.db, &r.advisory_id).await?;
        let rows = deliveries::page(
            &self.db,
            &r.advisory_id,
            states.as_deref(),
            page.after.as_deref(),
            page.size,
        )
        .await?;
        let next_page_token = paging::next_token(
            &scope,
            rows.last().map(|d| d.delivery_id.as_str()),
            rows.len(),
            page.size,
        );
        let domain = self.mailer.domain();
        Ok(pb::ListDeliveriesResponse {
            deliveries: rows.iter().map(|d| convert::delivery(d, domain)).collect(),
            next_page_token,
        })
    }

    /// N3: DEAD deliveries can be retried by hand.
    pub(super) async fn retry_deliveries(
        &self,
        context: CallContext,
        r: pb::RetryDeliveriesRequest,
    ) -> Result<pb::RetryDeliveriesResponse> {
        service_caller(&context, &[PUBLISH])?;
        let mut v = Violations::default();
        v.require("advisory_id", &r.advisory_id);
        if r.delivery_ids.len() > MAX_RETRY_IDS {
            v.add(
                "delivery_ids",
                format!("at most {MAX_RETRY_IDS} a call (none retries every dead delivery)"),
            );
        }
        v.finish().map_err(Error::invalid_fields)?;
        let requeued =
            app::deliveries::retry(&self.db, &context, &r.advisory_id, &r.delivery_ids).await?;
        self.wake_worker();
        Ok(pb::RetryDeliveriesResponse {
            requeued: i32::try_from(requeued).unwrap_or(i32::MAX),
        })
    }
}
