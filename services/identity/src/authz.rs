//! Who is calling, and what they may do here (I6, I10). Every handler starts with one of these checks;
//! authorization comes before existence, so a portal user learns nothing about other accounts.

use portal_runtime::Principal;
use sea_orm::DatabaseConnection;

use crate::{
    domain::Role,
    error::{Error, Result},
    store::{self, user},
    users::UserCache,
};

/// The caller, resolved: a service principal, or an active portal user with their row.
#[derive(Debug, Clone)]
pub enum Caller {
    Service(Principal),
    User(user::Model),
}

pub const ADMIN: &str = "identity.admin";
pub const INTERNAL: &str = "internal";

impl Caller {
    pub async fn resolve(
        db: &DatabaseConnection,
        users: &UserCache,
        principal: Principal,
    ) -> Result<Self> {
        match &principal {
            Principal::Service { .. } => Ok(Caller::Service(principal)),
            Principal::User { user_id } => match users.find(db, user_id).await {
                Ok(row) if store::is_active(&row) => Ok(Caller::User(row)),
                Ok(_) | Err(Error::UserNotFound) => Err(Error::denied(
                    "the calling user is not an active portal user",
                )),
                Err(e) => Err(e),
            },
        }
    }

    /// A service principal holding one of `scopes`.
    pub fn has_scope(&self, scopes: &[&str]) -> bool {
        matches!(self, Caller::Service(p) if scopes.iter().any(|s| p.has_scope(s)))
    }

    pub fn user(&self) -> Option<&user::Model> {
        match self {
            Caller::User(row) => Some(row),
            Caller::Service(_) => None,
        }
    }

    /// Only service principals with one of `scopes`.
    pub fn require_scope(&self, scopes: &[&str]) -> Result<()> {
        if self.has_scope(scopes) {
            Ok(())
        } else {
            Err(Error::denied(format!(
                "requires a service principal with scope {}",
                scopes.join(" or ")
            )))
        }
    }

    /// An active Administrator of `account_id`, or a service principal with one of `scopes` (I6).
    pub fn require_admin_of(&self, account_id: &str, scopes: &[&str]) -> Result<()> {
        if self.has_scope(scopes) || self.is_admin_of(account_id) {
            Ok(())
        } else {
            Err(Error::denied(
                "only an Administrator of the account may do this",
            ))
        }
    }

    pub fn is_admin_of(&self, account_id: &str) -> bool {
        self.user()
            .is_some_and(|u| u.account_id == account_id && store::role_of(u) == Role::Administrator)
    }

    pub fn is_member_of(&self, account_id: &str) -> bool {
        self.user().is_some_and(|u| u.account_id == account_id)
    }

    pub fn is_user(&self, user_id: &str) -> bool {
        self.user().is_some_and(|u| u.user_id == user_id)
    }
}
