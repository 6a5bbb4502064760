//! N2 as identity answers it: who in one account is told about an advisory of a given kind.

use crate::domain::{Role, User};

/// Which additional permission (I4) designates the people told about an advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    /// `SECURITY_POINT_OF_CONTACT`, for security advisories.
    Security,
    /// `TECHNICAL_POINT_OF_CONTACT`, for technical advisories.
    Technical,
}

/// The people of one account to tell, and whether they are the fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipients<'a> {
    pub users: Vec<&'a User>,
    pub fallback: bool,
}

/// N2: every active holder of the contact permission of `kind`; with none, the active Administrators as the
/// fallback when `include_fallback` is set. `members` are the users of one account.
pub fn recipients(members: &[User], kind: ContactKind, include_fallback: bool) -> Recipients<'_> {
    let holds = |u: &User| match kind {
        ContactKind::Security => u.permissions.security_contact,
        ContactKind::Technical => u.permissions.technical_contact,
    };
    let active = || members.iter().filter(|u| u.is_active());
    let contacts: Vec<&User> = active().filter(|u| holds(u)).collect();
    if !contacts.is_empty() || !include_fallback {
        return Recipients {
            users: contacts,
            fallback: false,
        };
    }
    Recipients {
        users: active().filter(|u| u.role == Role::Administrator).collect(),
        fallback: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{UserState, user::tests::user};

    fn member(id: &str, role: Role, security: bool, technical: bool) -> User {
        let mut u = user(role);
        u.user_id = id.into();
        u.permissions.security_contact = security;
        u.permissions.technical_contact = technical;
        u
    }

    fn ids(r: &Recipients<'_>) -> (Vec<String>, bool) {
        (
            r.users.iter().map(|u| u.user_id.clone()).collect(),
            r.fallback,
        )
    }

    #[test]
    fn n2_contacts_of_the_advisory_kind_are_chosen() {
        let members = [
            member("a", Role::Administrator, false, false),
            member("s", Role::DownloadOnly, true, false),
            member("t", Role::DownloadOnly, false, true),
        ];
        let security = recipients(&members, ContactKind::Security, true);
        assert_eq!(ids(&security), (vec!["s".to_string()], false));
        let technical = recipients(&members, ContactKind::Technical, true);
        assert_eq!(ids(&technical), (vec!["t".to_string()], false));
    }

    #[test]
    fn n2_without_contacts_administrators_are_the_fallback() {
        let mut removed = member("r", Role::Administrator, true, false);
        removed.state = UserState::Removed;
        let members = [
            member("a", Role::Administrator, false, false),
            member("t", Role::DownloadOnly, false, true),
            member("b", Role::Administrator, false, false),
            removed,
        ];
        let fallback = recipients(&members, ContactKind::Security, true);
        assert_eq!(
            ids(&fallback),
            (vec!["a".to_string(), "b".to_string()], true)
        );
        let none = recipients(&members, ContactKind::Security, false);
        assert_eq!(ids(&none), (vec![], false));
    }
}
