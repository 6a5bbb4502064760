//! Who may see and hand out keys (L5, L12, following the personas of I9), ask for authorizations to run (L9)
//! and activation reports (L10), and the service scopes of licensing (L3, L6). The caller is the shared
//! [`Caller`]: a service principal or a portal user.

use portal_clients::Caller;
use portal_runtime::auth::INTERNAL_SCOPE;

use crate::{
    domain::{Deployment, Email, Key},
    error::{Error, Result},
};

/// L12: the one refusal of a key read, whether the key exists, is in another account, or is one the caller may
/// not see in their own.
pub const SEE_KEY_REFUSAL: &str =
    "only Administrators, the key's owner and its assignees see a key";

/// L9: the one refusal of an authorization to run, whether the deployment exists, is in another account, or the
/// e-mail is someone else's.
pub const GRANT_REFUSAL: &str = "only the person themself, on a deployment of their own account, or the activation back end may ask";

/// L3: issues, refreshes and registers keys and their deployments.
pub const ISSUE: &str = "licensing.issue";
/// L6: the products' activation back end.
pub const ACTIVATE: &str = "licensing.activate";

/// L12: which keys of an account a listing shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScope {
    All,
    /// Owned by this user id, or assigned to this e-mail key.
    Holder {
        user_id: String,
        email_key: String,
    },
}

/// Who may see and hand out a key (L5, L12).
pub trait KeyAccess {
    /// L12: Administrators see every key of their account, owners the keys they own, assignees the keys
    /// assigned to them; services with `scopes` see all.
    fn may_see(&self, key: &Key, assignees: &[String], scopes: &[&str]) -> bool;

    /// L5: Administrators assign (and unassign) any key, owners the keys they own, nobody else.
    fn may_assign(&self, key: &Key) -> bool;

    /// L12: the keys of `account_id` the caller lists; a Support Only user's scope matches none.
    fn key_scope(&self, account_id: &str) -> Result<KeyScope>;

    /// I9: a person's key facts are read by another service, an Administrator of the account, or the person —
    /// about themself in their own account: a user may not ask how many keys some e-mail holds in an account
    /// that is not theirs, nor about another address in their own.
    fn may_read_holdings(&self, account_id: &str, user_id: &str, email: &str) -> bool;
}

impl KeyAccess for Caller {
    fn may_see(&self, key: &Key, assignees: &[String], scopes: &[&str]) -> bool {
        if self.has_scope(scopes) || self.is_admin_of(&key.account_id) {
            return true;
        }
        self.member().is_some_and(|m| {
            m.account_id == key.account_id
                && (key.is_owned_by(&m.user_id)
                    || assignees.iter().any(|e| e.eq_ignore_ascii_case(&m.email)))
        })
    }

    fn may_assign(&self, key: &Key) -> bool {
        self.has_scope(&[INTERNAL_SCOPE])
            || self.is_admin_of(&key.account_id)
            || self
                .member()
                .is_some_and(|m| m.account_id == key.account_id && key.is_owned_by(&m.user_id))
    }

    fn key_scope(&self, account_id: &str) -> Result<KeyScope> {
        if self.has_scope(&[INTERNAL_SCOPE, ISSUE]) || self.is_admin_of(account_id) {
            return Ok(KeyScope::All);
        }
        match self.member().filter(|m| m.account_id == account_id) {
            Some(m) => Ok(KeyScope::Holder {
                user_id: m.user_id.clone(),
                email_key: m.email_key(),
            }),
            None => Err(Error::denied("only users of the account list its keys")),
        }
    }

    fn may_read_holdings(&self, account_id: &str, user_id: &str, email: &str) -> bool {
        self.has_scope(&[INTERNAL_SCOPE])
            || self.is_admin_of(account_id)
            || self.member().is_some_and(|m| {
                m.account_id == account_id
                    && m.user_id == user_id
                    && (email.is_empty() || email.eq_ignore_ascii_case(&m.email))
            })
    }
}

/// L9: an authorization to run is asked for by the person themself or by the activation back end.
pub fn may_request_grant(caller: &Caller, email: &Email) -> bool {
    caller.has_scope(&[ACTIVATE]) || is_own(caller, email)
}

/// L9: the person asks about a deployment of their own account only; the activation back end about any.
pub fn may_request_grant_on(caller: &Caller, deployment: &Deployment) -> bool {
    caller.has_scope(&[ACTIVATE])
        || caller
            .member()
            .is_some_and(|m| m.account_id == deployment.account_id)
}

/// L11: a code is redeemed by the eLearning platform's back end (or another service), or by a portal user for
/// their own e-mail. `None` is an address that did not parse: a service hears about it, a user may only name
/// their own, so it is not theirs.
pub fn may_redeem_code(caller: &Caller, email: Option<&Email>) -> bool {
    caller.has_scope(&[ACTIVATE]) || email.is_some_and(|email| is_own(caller, email))
}

/// The caller is the portal user with this e-mail.
fn is_own(caller: &Caller, email: &Email) -> bool {
    caller
        .member()
        .is_some_and(|m| m.email.eq_ignore_ascii_case(email.as_str()))
}

/// L10: only an Administrator of the account requests its activation summary.
pub fn may_request_report(caller: &Caller, account_id: &str) -> bool {
    caller.is_admin_of(account_id)
}

/// L10: a stored report is downloaded by Administrators of its account, or by another service.
pub fn may_download_report(caller: &Caller, account_id: &str) -> bool {
    caller.has_scope(&[INTERNAL_SCOPE]) || caller.is_admin_of(account_id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use portal_clients::Member;
    use portal_policy::{LicenseType, Role};
    use portal_runtime::Principal;

    use super::*;
    use crate::domain::{KeyState, key::tests::key};

    fn user(user_id: &str, role: Role) -> Caller {
        Caller::User(Member {
            user_id: user_id.into(),
            account_id: "acc".into(),
            email: format!("{user_id}@example.com"),
            display_name: user_id.into(),
            role,
            case_administrator: false,
        })
    }

    #[test]
    fn l11_a_code_is_redeemed_by_the_platform_or_for_ones_own_email() {
        let me = user("me", Role::DownloadOnly);
        let mine = Email::parse("Me@Example.com").unwrap();
        let theirs = Email::parse("someone@example.com").unwrap();
        assert!(may_redeem_code(&me, Some(&mine)));
        assert!(!may_redeem_code(&me, Some(&theirs)));
        assert!(!may_redeem_code(&me, None));
        let platform = Caller::Service(Principal::Service {
            name: "elearning".into(),
            scopes: [ACTIVATE.to_string()].into(),
        });
        assert!(may_redeem_code(&platform, Some(&theirs)));
        assert!(may_redeem_code(&platform, None));
        // The contract names the eLearning platform only: another of the suite's services may not redeem.
        let billing = Caller::Service(Principal::Service {
            name: "billing".into(),
            scopes: [INTERNAL_SCOPE.to_string()].into(),
        });
        assert!(!may_redeem_code(&billing, Some(&theirs)));
    }

    #[test]
    fn i9_a_user_reads_only_their_own_holdings_in_their_own_account() {
        let me = user("me", Role::DownloadOnly);
        assert!(me.may_read_holdings("acc", "me", ""));
        assert!(me.may_read_holdings("acc", "me", "ME@example.com"));
        assert!(!me.may_read_holdings("other-acc", "me", "someone@other.example"));
        assert!(!me.may_read_holdings("other-acc", "me", ""));
        assert!(!me.may_read_holdings("acc", "me", "someone@example.com"));
        assert!(!me.may_read_holdings("acc", "someone", ""));
        let admin = user("admin", Role::Administrator);
        assert!(admin.may_read_holdings("acc", "someone", "someone@example.com"));
        assert!(!admin.may_read_holdings("other-acc", "admin", ""));
    }

    #[test]
    fn l12_administrators_owners_and_assignees_see_a_key_and_nobody_else() {
        let key = key(KeyState::Active, LicenseType::Term);
        let assignees = vec!["Assignee@Example.com".to_string()];
        assert!(user("admin", Role::Administrator).may_see(&key, &assignees, &[]));
        assert!(user("owner", Role::DownloadOnly).may_see(&key, &assignees, &[]));
        assert!(user("assignee", Role::DownloadOnly).may_see(&key, &assignees, &[]));
        assert!(!user("other", Role::DownloadOnly).may_see(&key, &assignees, &[]));
        let service = Caller::Service(Principal::Service {
            name: "billing".into(),
            scopes: [ISSUE.to_string()].into(),
        });
        assert!(service.may_see(&key, &[], &[ISSUE]));
        assert_eq!(
            user("other", Role::DownloadOnly).key_scope("acc").unwrap(),
            KeyScope::Holder {
                user_id: "other".into(),
                email_key: "other@example.com".into()
            }
        );
        assert!(
            user("admin", Role::Administrator)
                .key_scope("elsewhere")
                .is_err()
        );
    }

    #[test]
    fn l9_grants_are_asked_for_by_the_person_or_the_activation_back_end() {
        let email = Email::parse("Owner@example.com").unwrap();
        assert!(may_request_grant(
            &user("owner", Role::DownloadOnly),
            &email
        ));
        assert!(!may_request_grant(
            &user("other", Role::Administrator),
            &email
        ));
        let back_end = Caller::Service(Principal::Service {
            name: "activation".into(),
            scopes: [ACTIVATE.to_string()].into(),
        });
        assert!(may_request_grant(&back_end, &email));
    }

    #[test]
    fn l10_administrators_request_and_download_reports() {
        assert!(may_request_report(
            &user("admin", Role::Administrator),
            "acc"
        ));
        assert!(!may_request_report(
            &user("owner", Role::DownloadOnly),
            "acc"
        ));
        assert!(may_download_report(
            &user("admin", Role::Administrator),
            "acc"
        ));
        assert!(!may_download_report(
            &user("admin", Role::Administrator),
            "other"
        ));
    }

    #[test]
    fn l5_administrators_assign_any_key_owners_their_own_nobody_else() {
        let key = key(KeyState::Active, LicenseType::Term);
        assert!(user("admin", Role::Administrator).may_assign(&key));
        assert!(user("owner", Role::DownloadOnly).may_assign(&key));
        assert!(!user("assignee", Role::DownloadOnly).may_assign(&key));
    }
}
