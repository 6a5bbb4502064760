//! CheckAccess (I10) and the persona every user answer carries (I9), both decided by `portal_policy` from the
//! user's role and licensing's key facts.

use portal_policy::{Holdings, Persona, decide};
use portal_proto::identity as pb;
use portal_runtime::{CallContext, error::Violations};

use super::convert;
use crate::{
    IdentityApi,
    domain::{User, access},
    error::{Error, Result},
};

impl IdentityApi {
    /// I9: licensing's key facts about the user, asked only when the role leaves the persona open.
    async fn holdings(&self, user: &User) -> Result<Holdings> {
        if !Persona::needs_holdings(user.role) {
            return Ok(Holdings::default());
        }
        Ok(self
            .licensing
            .holdings(&user.account_id, &user.user_id, &user.email)
            .await?)
    }

    /// I9: derived at read time (`User::persona`); licensing is not asked about removed users.
    pub(super) async fn persona(&self, user: &User) -> Result<Option<Persona>> {
        let holdings = if user.is_active() {
            self.holdings(user).await?
        } else {
            Holdings::default()
        };
        Ok(user.persona(holdings))
    }

    pub(super) async fn check_access(
        &self,
        context: CallContext,
        r: pb::CheckAccessRequest,
    ) -> Result<pb::CheckAccessResponse> {
        let caller = self.caller(&context).await?;
        access::ensure_may_check_access(&caller, &r.user_id)?;
        let mut v = Violations::default();
        v.require("user_id", &r.user_id);
        v.require("account_id", &r.account_id);
        let action = v.check(convert::action(r.action));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(action) = action else {
            return Err(Error::invalid("action", "required"));
        };
        let found = match caller.own(&r.user_id) {
            // A user asking about themselves was just read (and found active) to resolve the caller.
            Some(me) => Ok(me.clone()),
            None => self.users.find(&self.db, &r.user_id).await,
        };
        let user = match found {
            Ok(user) if user.is_active_member_of(&r.account_id) => user,
            Ok(_) | Err(Error::UserNotFound) => {
                return Ok(pb::CheckAccessResponse {
                    allowed: false,
                    persona: pb::Persona::Unspecified as i32,
                    reason: "not an active user of the account".into(),
                });
            }
            Err(e) => return Err(e),
        };
        let decision = decide(user.subject(self.holdings(&user).await?), action);
        Ok(pb::CheckAccessResponse {
            allowed: decision.allowed,
            persona: convert::persona_to_proto(decision.persona) as i32,
            reason: decision.reason,
        })
    }
}
