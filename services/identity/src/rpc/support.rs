//! CheckSupportEligibility (I11): the request becomes an account and a parsed address; the answer is `app`'s.

use portal_proto::identity as pb;
use portal_runtime::{
    CallContext,
    error::{FieldViolation, Violations},
};

use crate::{
    IdentityApi,
    domain::{Email, access},
    error::{Error, Result},
};

impl IdentityApi {
    pub(super) async fn check_support_eligibility(
        &self,
        context: CallContext,
        r: pb::CheckSupportEligibilityRequest,
    ) -> Result<pb::CheckSupportEligibilityResponse> {
        let caller = self.app.caller(&context).await?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let email = v.check(Email::parse(&r.email).map_err(FieldViolation::of("email")));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(email) = email else {
            return Err(Error::invalid("email", "required"));
        };
        access::ensure_may_ask_support_eligibility(&caller, &r.account_id, &email)?;
        let eligibility = self.app.support_eligibility(&r.account_id, &email).await?;
        Ok(pb::CheckSupportEligibilityResponse {
            eligible: eligibility.eligible,
            reason: eligibility.reason.into(),
        })
    }
}
