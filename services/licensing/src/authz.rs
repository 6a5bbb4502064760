//! Who is calling licensing, and what they may see and do (L4, L5, L12 via the shared policy, I10).

use crate::store::key;

pub const INTERNAL: &str = "internal";
pub const ISSUE: &str = "licensing.issue";
pub const ACTIVATE: &str = "licensing.activate";

pub use portal_clients::Caller;

/// Who may see and hand out a key (L5, L12).
pub trait KeyAccess {
    /// L12: Administrators see every key of their account, owners the keys they own, assignees the keys
    /// assigned to them; services with `scopes` see all.
    fn may_see(&self, key: &key::Model, assignees: &[String], scopes: &[&str]) -> bool;

    /// L5: Administrators assign any key, owners the keys they own, nobody else.
    fn may_assign(&self, key: &key::Model) -> bool;
}

impl KeyAccess for Caller {
    fn may_see(&self, key: &key::Model, assignees: &[String], scopes: &[&str]) -> bool {
        if self.has_scope(scopes) || self.is_admin_of(&key.account_id) {
            return true;
        }
        self.member().is_some_and(|m| {
            m.account_id == key.account_id
                && (key.owner_user_id.as_deref() == Some(m.user_id.as_str())
                    || assignees.iter().any(|e| e.eq_ignore_ascii_case(&m.email)))
        })
    }

    fn may_assign(&self, key: &key::Model) -> bool {
        self.has_scope(&[INTERNAL])
            || self.is_admin_of(&key.account_id)
            || self.member().is_some_and(|m| {
                m.account_id == key.account_id
                    && key.owner_user_id.as_deref() == Some(m.user_id.as_str())
            })
    }
}
