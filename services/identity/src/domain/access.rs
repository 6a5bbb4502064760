//! Who may call which identity RPC (I6, and the reads around the users it protects). Each handler starts with
//! one of these checks; authorization comes before existence, so a portal user learns nothing about other
//! accounts. What a persona may do elsewhere (I9, I10) is `portal_policy::decide`, shared with every service.

use portal_clients::Caller;
use portal_policy::{Email, Role};
use portal_runtime::auth::INTERNAL_SCOPE;

use crate::{
    domain::User,
    error::{Error, Result},
};

/// Hide whether it exists: `found` when it is a user `shown` lets the caller learn of, `None` both when no such
/// user exists and when one exists that the caller is not to learn of, so that the answer that follows is the
/// same and nothing can probe for users (authorization before existence). Other failures pass through.
pub fn hide_whether_it_exists(
    found: Result<User>,
    shown: impl FnOnce(&User) -> bool,
) -> Result<Option<User>> {
    match found {
        Ok(user) if shown(&user) => Ok(Some(user)),
        Ok(_) | Err(Error::UserNotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The vendor's account team: creates accounts and manages the users of any account (I6), e.g. to appoint a
/// new Administrator when the last one has left (I7).
pub const ADMIN_SCOPE: &str = "identity.admin";
/// The advisory pipeline, which reads the points of contact (N2).
pub const PUBLISH_SCOPE: &str = "notification.publish";

/// Only the account team creates accounts (I1).
pub fn ensure_may_create_accounts(caller: &Caller) -> Result<()> {
    Ok(caller.require_scope(&[ADMIN_SCOPE])?)
}

/// An account is read by its own users, the account team and the other services.
pub fn ensure_may_read_account(caller: &Caller, account_id: &str) -> Result<()> {
    let member = caller.member().is_some_and(|m| m.account_id == account_id);
    if member || caller.has_scope(&[ADMIN_SCOPE, INTERNAL_SCOPE]) {
        Ok(())
    } else {
        Err(Error::denied("only users of the account may read it"))
    }
}

/// I6: only an Administrator of the account, or the account team (`identity.admin`), adds, updates or removes
/// its users; refused, [`MANAGE_USERS_REFUSAL`].
pub fn ensure_may_manage_users(caller: &Caller, account_id: &str) -> Result<()> {
    Ok(caller.require_admin_of(account_id, MANAGE_USER_SCOPES)?)
}

/// The one refusal of a change to a user, whether the user exists, is in another account, or is in the
/// caller's own.
pub const MANAGE_USERS_REFUSAL: &str = portal_clients::caller::ADMIN_ONLY;

/// The scopes that let a service change or remove any user.
pub const MANAGE_USER_SCOPES: &[&str] = &[ADMIN_SCOPE];
/// The scopes that let a service read any user.
pub const READ_USER_SCOPES: &[&str] = &[ADMIN_SCOPE, INTERNAL_SCOPE];

/// An account's users are listed by its Administrators, the account team and the other services.
pub fn ensure_may_list_users(caller: &Caller, account_id: &str) -> Result<()> {
    Ok(caller.require_admin_of(account_id, &[ADMIN_SCOPE, INTERNAL_SCOPE])?)
}

/// The one refusal of a read of a user, whether the user exists, is in another account, or is in the caller's
/// own.
pub const READ_USER_REFUSAL: &str =
    "only the user themself or an Administrator of their account may read a user";

/// A user is read by themself, an Administrator of their account, the account team and the other services.
pub fn ensure_may_read_user(caller: &Caller, user: &User) -> Result<()> {
    let themself = caller.member().is_some_and(|m| m.user_id == user.user_id);
    if themself || caller.is_admin_of(&user.account_id) || caller.has_scope(READ_USER_SCOPES) {
        Ok(())
    } else {
        Err(Error::denied(READ_USER_REFUSAL))
    }
}

/// I10: a portal user checks only their own access; the other services check anyone's.
pub fn ensure_may_check_access(caller: &Caller, user_id: &str) -> Result<()> {
    let themself = caller.member().is_some_and(|m| m.user_id == user_id);
    if themself || caller.has_scope(&[INTERNAL_SCOPE, ADMIN_SCOPE]) {
        Ok(())
    } else {
        Err(Error::denied(
            "portal users may only check their own access",
        ))
    }
}

/// I11 (with I9's `CASE_ADMINISTRATOR`): a portal user asks about themself in their own account; a Case
/// Administrator or an Administrator of the account asks about anyone in it; so do the other services. A user
/// learns nothing about another account (not whether it has a cloud site, not whether it exists).
pub fn ensure_may_ask_support_eligibility(
    caller: &Caller,
    account_id: &str,
    email: &Email,
) -> Result<()> {
    let themself = caller
        .member()
        .is_some_and(|m| m.account_id == account_id && m.email_key() == email.key());
    let oversees = caller.member().is_some_and(|m| {
        m.account_id == account_id && (m.case_administrator || m.role == Role::Administrator)
    });
    if themself || oversees || caller.has_scope(&[INTERNAL_SCOPE, ADMIN_SCOPE]) {
        Ok(())
    } else {
        Err(Error::denied(
            "only the person themself, a Case Administrator or an Administrator of the account may ask",
        ))
    }
}

/// I12: an account's audit log is read by its Administrators and the account team.
pub fn ensure_may_read_audit_log(caller: &Caller, account_id: &str) -> Result<()> {
    Ok(caller.require_admin_of(account_id, &[ADMIN_SCOPE])?)
}

/// N2: the points of contact are read by services only: the advisory pipeline, the account team, the others.
pub fn ensure_may_list_points_of_contact(caller: &Caller) -> Result<()> {
    Ok(caller.require_scope(&[INTERNAL_SCOPE, PUBLISH_SCOPE, ADMIN_SCOPE])?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use portal_runtime::Principal;

    use super::*;
    use crate::domain::user::tests::user;

    fn as_user(role: Role) -> (Caller, User) {
        let row = user(role);
        (Caller::User(row.member()), row)
    }

    fn service(scope: &str) -> Caller {
        Caller::Service(Principal::Service {
            name: "ops".into(),
            scopes: [scope.to_string()].into(),
        })
    }

    fn other_account(mut row: User) -> User {
        row.account_id = "acc-2".into();
        row.user_id = "usr-2".into();
        row
    }

    #[test]
    fn unknown_and_hidden_users_are_answered_alike() {
        let (_, row) = as_user(Role::DownloadOnly);
        let shown = hide_whether_it_exists(Ok(row.clone()), User::is_active).unwrap();
        assert_eq!(shown, Some(row.clone()));
        let hidden = hide_whether_it_exists(Ok(row), |u| u.account_id == "acc-2").unwrap();
        let unknown = hide_whether_it_exists(Err(Error::UserNotFound), |_| true).unwrap();
        assert_eq!((hidden, unknown), (None, None));
        let failed = hide_whether_it_exists(Err(Error::AccountNotFound), |_| true);
        assert!(matches!(failed, Err(Error::AccountNotFound)));
    }

    #[test]
    fn i6_only_administrators_of_the_account_or_the_account_team_manage_users() {
        let (admin, row) = as_user(Role::Administrator);
        let (download_only, _) = as_user(Role::DownloadOnly);
        assert!(ensure_may_manage_users(&admin, &row.account_id).is_ok());
        assert!(ensure_may_manage_users(&admin, "acc-2").is_err());
        assert!(ensure_may_manage_users(&download_only, &row.account_id).is_err());
        assert!(ensure_may_manage_users(&service(ADMIN_SCOPE), "acc-2").is_ok());
        assert!(ensure_may_manage_users(&service(INTERNAL_SCOPE), "acc-2").is_err());
    }

    #[test]
    fn i6_a_user_is_read_by_themself_or_an_administrator_of_their_account() {
        let (me, row) = as_user(Role::DownloadOnly);
        assert!(ensure_may_read_user(&me, &row).is_ok());
        let (admin, _) = as_user(Role::Administrator);
        let colleague = User {
            user_id: "usr-3".into(),
            ..row.clone()
        };
        assert!(ensure_may_read_user(&admin, &colleague).is_ok());
        assert!(ensure_may_read_user(&me, &colleague).is_err());
        assert!(ensure_may_read_user(&admin, &other_account(row)).is_err());
    }

    #[test]
    fn i10_portal_users_check_only_their_own_access() {
        let (me, row) = as_user(Role::Administrator);
        assert!(ensure_may_check_access(&me, &row.user_id).is_ok());
        assert!(ensure_may_check_access(&me, "usr-9").is_err());
        assert!(ensure_may_check_access(&service(INTERNAL_SCOPE), "usr-9").is_ok());
    }

    #[test]
    fn i11_eligibility_is_asked_by_the_person_or_who_oversees_the_account() {
        let (me, row) = as_user(Role::DownloadOnly);
        let mine = Email::parse(&row.email.to_uppercase()).unwrap();
        let someone = Email::parse("bob@example.com").unwrap();
        assert!(ensure_may_ask_support_eligibility(&me, &row.account_id, &mine).is_ok());
        assert!(ensure_may_ask_support_eligibility(&me, "acc-9", &mine).is_err());
        assert!(ensure_may_ask_support_eligibility(&me, &row.account_id, &someone).is_err());
        let mut case_admin = row.clone();
        case_admin.permissions.case_administrator = true;
        let case_admin = Caller::User(case_admin.member());
        assert!(ensure_may_ask_support_eligibility(&case_admin, &row.account_id, &someone).is_ok());
        assert!(ensure_may_ask_support_eligibility(&case_admin, "acc-9", &someone).is_err());
    }

    #[test]
    fn n2_points_of_contact_are_for_services_only() {
        let (admin, _) = as_user(Role::Administrator);
        assert!(ensure_may_list_points_of_contact(&admin).is_err());
        assert!(ensure_may_list_points_of_contact(&service(PUBLISH_SCOPE)).is_ok());
    }
}
