//! Who is calling identity: the shared [`Caller`] every service decides with, resolved from identity's own
//! users (not through the Directory the other services ask), with the calling user's row kept beside it so
//! that reads about oneself (GetUser, CheckAccess) do not read it again; and the users a caller may learn of.

use std::ops::Deref;

use portal_clients::Caller;
use portal_runtime::{CallContext, Principal};

use crate::{
    app::Identity,
    domain::{User, access::hide_whether_it_exists},
    error::{Error, Result},
};

/// The resolved caller of an RPC; dereferences to the shared [`Caller`].
#[derive(Debug, Clone)]
pub struct Calling {
    caller: Caller,
    /// The calling portal user, active.
    user: Option<User>,
}

impl Calling {
    /// The caller's own row, when the caller is the user `user_id`.
    pub fn own(&self, user_id: &str) -> Option<&User> {
        self.user.as_ref().filter(|u| u.user_id == user_id)
    }
}

impl Deref for Calling {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl Identity {
    /// A user token must name an active portal user; anything else, unknown or removed alike, is
    /// `PERMISSION_DENIED`.
    pub async fn caller(&self, context: &CallContext) -> Result<Calling> {
        let principal = &context.principal;
        let Principal::User { user_id } = principal else {
            return Ok(Calling {
                caller: Caller::Service(principal.clone()),
                user: None,
            });
        };
        let found = self.users.find(&self.db, user_id).await;
        match hide_whether_it_exists(found, User::is_active)? {
            Some(user) => Ok(Calling {
                caller: Caller::User(user.member()),
                user: Some(user),
            }),
            None => Err(Error::denied(
                "the calling user is not an active portal user",
            )),
        }
    }

    /// A user the caller may learn about: for a portal user, or a service without one of the `scopes` that let it
    /// act on users, an unknown id is `PERMISSION_DENIED` in the words of `refusal` — the refusal of the check
    /// that follows for a user who exists — so nothing reveals whether it exists elsewhere (authorization before
    /// existence).
    pub(super) async fn visible_user(
        &self,
        caller: &Calling,
        user_id: &str,
        scopes: &[&str],
        refusal: &str,
    ) -> Result<User> {
        let found = self.users.find(&self.db, user_id).await;
        if caller.has_scope(scopes) {
            return found;
        }
        hide_whether_it_exists(found, |_| true)?.ok_or_else(|| Error::denied(refusal))
    }
}
