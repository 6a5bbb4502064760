//! ProvisionSiteSeats (B11): the request checked into a [`SeatProvision`], provisioned by
//! [`app::sites::provision`].

use portal_proto::licensing as pb;
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, error::Violations};

use super::convert;
use crate::{
    LicensingApi, app,
    domain::{access::ISSUE, deployment::MAX_CREATOR_SEATS, site::SeatProvision},
    error::{Error, Result},
};

impl TryFrom<&pb::ProvisionSiteSeatsRequest> for SeatProvision {
    type Error = Error;

    fn try_from(r: &pb::ProvisionSiteSeatsRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.require("key_id", &r.key_id);
        v.require("request_id", &r.request_id);
        let seats = u64::try_from(r.creator_seats)
            .ok()
            .filter(|s| (1..=MAX_CREATOR_SEATS).contains(s));
        if seats.is_none() {
            v.add(
                "creator_seats",
                format!("must be between 1 and {MAX_CREATOR_SEATS}"),
            );
        }
        v.finish().map_err(Error::invalid_fields)?;
        Ok(SeatProvision {
            account_id: r.account_id.clone(),
            key_id: r.key_id.clone(),
            creator_seats: seats.unwrap_or_default(),
            purchase_id: (!r.purchase_id.is_empty()).then(|| r.purchase_id.clone()),
        })
    }
}

impl LicensingApi {
    pub(super) async fn provision_site_seats(
        &self,
        context: CallContext,
        r: pb::ProvisionSiteSeatsRequest,
    ) -> Result<pb::ProvisionSiteSeatsResponse> {
        self.caller(&context)
            .await?
            .require_scope(&[ISSUE, INTERNAL_SCOPE])?;
        let asked = SeatProvision::try_from(&r)?;
        let done = app::sites::provision(&self.db, &self.identity, &context, &asked, &r).await?;
        Ok(pb::ProvisionSiteSeatsResponse {
            site: Some(convert::deployment(&done.site)),
            created: done.created,
            administrators_notified: i32::try_from(done.administrators_notified)
                .unwrap_or(i32::MAX),
            replayed: done.replayed,
        })
    }
}
