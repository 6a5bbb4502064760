//! N2 as identity answers it: who in one account is told about an advisory of a given kind.

use crate::domain::{Permissions, Role};

/// One active member of an account, as far as choosing recipients goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub role: Role,
    pub permissions: Permissions,
}

/// The indices of `members` to tell, and whether they are the fallback: every holder of the contact
/// permission (Security for security advisories, Technical otherwise); with none, the Administrators when
/// `include_fallback` is set.
pub fn recipients(
    members: &[Member],
    security: bool,
    include_fallback: bool,
) -> (Vec<usize>, bool) {
    let holds = |m: &Member| {
        if security {
            m.permissions.security_contact
        } else {
            m.permissions.technical_contact
        }
    };
    let contacts: Vec<usize> = (0..members.len()).filter(|&i| holds(&members[i])).collect();
    if !contacts.is_empty() {
        return (contacts, false);
    }
    if !include_fallback {
        return (Vec::new(), false);
    }
    (
        (0..members.len())
            .filter(|&i| members[i].role == Role::Administrator)
            .collect(),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: Role, security: bool, technical: bool) -> Member {
        Member {
            role,
            permissions: Permissions {
                security_contact: security,
                technical_contact: technical,
                case_administrator: false,
            },
        }
    }

    #[test]
    fn n2_contacts_of_the_advisory_kind_are_chosen() {
        let members = [
            member(Role::Administrator, false, false),
            member(Role::DownloadOnly, true, false),
            member(Role::DownloadOnly, false, true),
        ];
        assert_eq!(recipients(&members, true, true), (vec![1], false));
        assert_eq!(recipients(&members, false, true), (vec![2], false));
    }

    #[test]
    fn n2_without_contacts_administrators_are_the_fallback() {
        let members = [
            member(Role::Administrator, false, false),
            member(Role::DownloadOnly, false, true),
            member(Role::Administrator, false, false),
        ];
        assert_eq!(recipients(&members, true, true), (vec![0, 2], true));
        assert_eq!(recipients(&members, true, false), (vec![], false));
    }
}
