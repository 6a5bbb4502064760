//! CheckAccess (I10) and the persona every user answer carries (I9), both decided by `portal_policy` from the
//! user's role and licensing's key facts.

use portal_policy::{Action, Decision, Holdings, Persona, decide};

use crate::{
    app::{Calling, Identity},
    domain::{User, access::hide_whether_it_exists},
    error::Result,
};

impl Identity {
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

    /// I10: whether the user `user_id` may take `action` in the account `account_id`, or `None` when they are
    /// not an active user of it (whether they exist elsewhere is not told).
    pub async fn check_access(
        &self,
        caller: &Calling,
        user_id: &str,
        account_id: &str,
        action: Action,
    ) -> Result<Option<Decision>> {
        let found = match caller.own(user_id) {
            // A user asking about themselves was just read (and found active) to resolve the caller.
            Some(me) => Ok(me.clone()),
            None => self.users.find(&self.db, user_id).await,
        };
        let Some(user) = hide_whether_it_exists(found, |u| u.is_active_member_of(account_id))?
        else {
            return Ok(None);
        };
        Ok(Some(decide(
            user.subject(self.holdings(&user).await?),
            action,
        )))
    }
}
