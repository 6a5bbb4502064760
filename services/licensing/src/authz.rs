//! Who is calling licensing, and what they may see and do (L4, L5, L12 via the shared policy, I10).

use portal_policy::Role;
use portal_runtime::Principal;

use crate::{
    error::{Error, Result},
    identity::{Identity, Member},
    store::key,
};

pub const INTERNAL: &str = "internal";
pub const ISSUE: &str = "licensing.issue";
pub const ACTIVATE: &str = "licensing.activate";

#[derive(Debug, Clone)]
pub enum Caller {
    Service(Principal),
    User(Member),
}

impl Caller {
    pub async fn resolve(identity: &Identity, principal: Principal) -> Result<Self> {
        match &principal {
            Principal::Service { .. } => Ok(Caller::Service(principal)),
            Principal::User { user_id } => match identity.user(user_id).await? {
                Some(member) => Ok(Caller::User(member)),
                None => Err(Error::denied("the calling user is not an active portal user")),
            },
        }
    }

    pub fn has_scope(&self, scopes: &[&str]) -> bool {
        matches!(self, Caller::Service(p) if scopes.iter().any(|s| p.has_scope(s)))
    }

    pub fn member(&self) -> Option<&Member> {
        match self {
            Caller::User(m) => Some(m),
            Caller::Service(_) => None,
        }
    }

    pub fn require_scope(&self, scopes: &[&str]) -> Result<()> {
        if self.has_scope(scopes) { Ok(()) } else { Err(Error::denied(format!("requires a service principal with scope {}", scopes.join(" or ")))) }
    }

    pub fn is_admin_of(&self, account_id: &str) -> bool {
        self.member().is_some_and(|m| m.account_id == account_id && m.role == Role::Administrator)
    }

    /// An Administrator of `account_id`, or a service principal with one of `scopes`.
    pub fn require_admin_of(&self, account_id: &str, scopes: &[&str]) -> Result<()> {
        if self.has_scope(scopes) || self.is_admin_of(account_id) {
            Ok(())
        } else {
            Err(Error::denied("only an Administrator of the account may do this"))
        }
    }

    /// L12: Administrators see every key of their account, owners the keys they own, assignees the keys
    /// assigned to them; services with `scopes` see all.
    pub fn may_see(&self, key: &key::Model, assignees: &[String], scopes: &[&str]) -> bool {
        if self.has_scope(scopes) || self.is_admin_of(&key.account_id) {
            return true;
        }
        self.member().is_some_and(|m| {
            m.account_id == key.account_id
                && (key.owner_user_id.as_deref() == Some(m.user_id.as_str()) || assignees.iter().any(|e| e.eq_ignore_ascii_case(&m.email)))
        })
    }

    /// L5: Administrators assign any key, owners the keys they own, nobody else.
    pub fn may_assign(&self, key: &key::Model) -> bool {
        self.has_scope(&[INTERNAL])
            || self.is_admin_of(&key.account_id)
            || self.member().is_some_and(|m| m.account_id == key.account_id && key.owner_user_id.as_deref() == Some(m.user_id.as_str()))
    }
}
