//! A person's key facts, which identity derives personas from (I9), and releasing them when identity removes
//! the person (I8).

use portal_proto::licensing as pb;
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, error::Violations};

use super::convert::clamp;
use crate::{
    LicensingApi, app,
    domain::access::KeyAccess,
    error::{Error, Result},
    store,
};

impl LicensingApi {
    pub(super) async fn get_holdings(
        &self,
        context: CallContext,
        r: pb::GetHoldingsRequest,
    ) -> Result<pb::GetHoldingsResponse> {
        let caller = self.caller(&context).await?;
        if !caller.may_read_holdings(&r.account_id, &r.user_id, &r.email) {
            return Err(Error::denied(
                "only the user, an Administrator of the account or another service may ask",
            ));
        }
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.require("user_id", &r.user_id);
        v.finish().map_err(Error::invalid_fields)?;
        let email = if r.email.is_empty() {
            // A user of another account is not a user of this one: the same USER_NOT_FOUND as an id nobody has,
            // rather than the empty holdings that told a caller the id is real.
            match self.identity.user(&r.user_id).await? {
                Some(m) if m.account_id == r.account_id => m.email,
                _ => return Err(Error::UserNotFound),
            }
        } else {
            r.email
        };
        let email_key = email.to_lowercase();
        let (owned, assigned) = self
            .holdings
            .get_or_load(
                (r.account_id.clone(), r.user_id.clone(), email_key.clone()),
                store::holdings::holdings(&self.db, &r.account_id, &r.user_id, &email_key),
            )
            .await?;
        Ok(pb::GetHoldingsResponse {
            owned_key_count: clamp(owned),
            assigned_key_count: clamp(assigned),
        })
    }

    pub(super) async fn release_holdings(
        &self,
        context: CallContext,
        r: pb::ReleaseHoldingsRequest,
    ) -> Result<pb::ReleaseHoldingsResponse> {
        self.caller(&context)
            .await?
            .require_scope(&[INTERNAL_SCOPE])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.require("user_id", &r.user_id);
        v.require("email", &r.email);
        v.finish().map_err(Error::invalid_fields)?;
        let email_key = r.email.to_lowercase();
        let released =
            app::holdings::release(&self.db, &context, &r.account_id, &r.user_id, &email_key)
                .await?;
        Ok(pb::ReleaseHoldingsResponse {
            released_assignment_count: clamp(released.assignments),
            cleared_ownership_count: clamp(released.ownerships),
            ended_site_role_count: clamp(released.site_roles),
            released_activation_count: clamp(released.activations),
        })
    }
}
