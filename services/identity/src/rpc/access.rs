//! CheckAccess (I10): the request becomes a user, an account and an action; the answer is `app`'s decision.

use portal_proto::identity as pb;
use portal_runtime::{CallContext, error::Violations};

use super::convert;
use crate::{
    IdentityApi,
    domain::access,
    error::{Error, Result},
};

impl IdentityApi {
    pub(super) async fn check_access(
        &self,
        context: CallContext,
        r: pb::CheckAccessRequest,
    ) -> Result<pb::CheckAccessResponse> {
        let caller = self.app.caller(&context).await?;
        access::ensure_may_check_access(&caller, &r.user_id)?;
        let mut v = Violations::default();
        v.require("user_id", &r.user_id);
        v.require("account_id", &r.account_id);
        let action = v.check(convert::action(r.action));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(action) = action else {
            return Err(Error::invalid("action", "required"));
        };
        let decision = self
            .app
            .check_access(&caller, &r.user_id, &r.account_id, action)
            .await?;
        Ok(match decision {
            Some(decision) => pb::CheckAccessResponse {
                allowed: decision.allowed,
                persona: convert::persona_to_proto(decision.persona) as i32,
                reason: decision.reason,
            },
            None => pb::CheckAccessResponse {
                allowed: false,
                persona: pb::Persona::Unspecified as i32,
                reason: "not an active user of the account".into(),
            },
        })
    }
}
