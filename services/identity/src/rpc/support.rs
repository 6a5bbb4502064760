//! CheckSupportEligibility (I11): the account's facts from the store, its deployments from licensing, the
//! answer from `domain::support_eligibility`.

use portal_proto::identity as pb;
use portal_runtime::{
    CallContext,
    error::{FieldViolation, Violations},
};

use crate::{
    IdentityApi,
    domain::{self, Email, access},
    error::{Error, Result},
    store,
};

impl IdentityApi {
    pub(super) async fn check_support_eligibility(
        &self,
        context: CallContext,
        r: pb::CheckSupportEligibilityRequest,
    ) -> Result<pb::CheckSupportEligibilityResponse> {
        let caller = self.caller(&context).await?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let email = v.check(Email::parse(&r.email).map_err(FieldViolation::of("email")));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(email) = email else {
            return Err(Error::invalid("email", "required"));
        };
        access::ensure_may_ask_support_eligibility(&caller, &r.account_id, &email)?;
        let account = store::find_account(&self.db, &r.account_id).await?;
        let is_user = store::has_active_user(&self.db, &account.account_id, email.key()).await?;
        let deployments = if account.academic {
            Vec::new()
        } else {
            self.licensing.deployments(&account.account_id).await?
        };
        let eligibility = domain::support_eligibility(account.academic, is_user, &deployments);
        Ok(pb::CheckSupportEligibilityResponse {
            eligible: eligibility.eligible,
            reason: eligibility.reason.into(),
        })
    }
}
