//! Portal users (I2–I8): what a user is, the commands that add and change one, and the rules on doing so.

use chrono::{DateTime, Utc};
use portal_clients::Member;
use portal_policy::{Email, Holdings, Persona, Subject};

use crate::{
    domain::{Account, DisplayName},
    error::{Error, Result},
};

/// I3: a user's role is exactly one of two.
pub use portal_policy::Role;

/// I4: additional permissions, any subset, on either role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissions {
    pub security_contact: bool,
    pub technical_contact: bool,
    pub case_administrator: bool,
}

/// Whether a user is active, or kept as removed for the audit trail (I8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserState {
    Active,
    Removed,
}

/// A portal user of one account (I2). The persona is not here: it is derived when asked (I9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user_id: String,
    pub account_id: String,
    /// As entered when the user was added (a parsed [`Email`] then), never changed afterwards (I5).
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub permissions: Permissions,
    pub state: UserState,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    pub remove_time: Option<DateTime<Utc>>,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.state == UserState::Active
    }

    /// I7: the users an account must keep at least one of.
    pub fn is_active_administrator(&self) -> bool {
        self.is_active() && self.role == Role::Administrator
    }

    /// I2: the case-insensitive comparison key of the e-mail.
    pub fn email_key(&self) -> String {
        self.email.to_lowercase()
    }

    /// The facts the shared authorization checks decide with when this user calls (I6, I10).
    pub fn member(&self) -> Member {
        Member {
            user_id: self.user_id.clone(),
            account_id: self.account_id.clone(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            case_administrator: self.permissions.case_administrator,
        }
    }

    /// I10: CheckAccess answers only for the active users of the account asked about; anyone else is denied.
    pub fn is_active_member_of(&self, account_id: &str) -> bool {
        self.is_active() && self.account_id == account_id
    }

    /// I9: the persona, derived from the role and licensing's key facts, never stored; a removed user has none.
    pub fn persona(&self, holdings: Holdings) -> Option<Persona> {
        self.is_active()
            .then(|| Persona::derive(self.role, holdings))
    }

    /// What the shared policy decides this user's access with (I9, I10), given licensing's key facts.
    pub fn subject(&self, holdings: Holdings) -> Subject {
        Subject {
            role: self.role,
            holdings,
            case_administrator: self.permissions.case_administrator,
        }
    }

    /// I5, I7: the user after `patch` at `now`. A removed user cannot be changed; only the display name, role
    /// and additional permissions change; demoting the last active Administrator is refused.
    /// `active_admins` counts the account's active Administrators before the change.
    pub fn updated(
        &self,
        patch: &UserPatch,
        active_admins: u64,
        now: DateTime<Utc>,
    ) -> Result<User> {
        if !self.is_active() {
            return Err(Error::UserRemoved);
        }
        let mut after = self.clone();
        if let Some(name) = &patch.display_name {
            after.display_name = name.as_str().to_string();
        }
        if let Some(role) = patch.role {
            after.role = role;
        }
        if let Some(permissions) = patch.permissions {
            after.permissions = permissions;
        }
        after.update_time = now;
        i7_keeps_an_administrator(self, &after, active_admins)?;
        Ok(after)
    }

    /// I7, I8: the user kept as removed at `now`, or `None` when they already are (removing is idempotent).
    /// Removing the last active Administrator is refused. `active_admins` counts the account's active
    /// Administrators before the change.
    pub fn removed(&self, active_admins: u64, now: DateTime<Utc>) -> Result<Option<User>> {
        if !self.is_active() {
            return Ok(None);
        }
        let after = User {
            state: UserState::Removed,
            remove_time: Some(now),
            update_time: now,
            ..self.clone()
        };
        i7_keeps_an_administrator(self, &after, active_admins)?;
        Ok(Some(after))
    }
}

/// I7: an account never loses its last active Administrator. Decides whether going from `before` to `after`
/// takes an active Administrator away (a demotion or a removal) and, if so, whether another one is left;
/// `active_admins` counts the account's active Administrators before the change.
pub fn i7_keeps_an_administrator(before: &User, after: &User, active_admins: u64) -> Result<()> {
    let loses_an_admin = before.is_active_administrator() && !after.is_active_administrator();
    if loses_an_admin && active_admins <= 1 {
        Err(Error::LastAdministrator)
    } else {
        Ok(())
    }
}

/// CreateUser as a command (I2–I4): a parsed address and display name, one role, any permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub account_id: String,
    pub email: Email,
    pub display_name: DisplayName,
    pub role: Role,
    pub permissions: Permissions,
}

impl NewUser {
    /// I1, I2: the user this command adds to `account` as `user_id` at `now`. Academic accounts take no users
    /// (I1); the address must not be that of an active user of the account already (`email_taken`, I2).
    pub fn admit(
        self,
        account: &Account,
        email_taken: bool,
        user_id: String,
        now: DateTime<Utc>,
    ) -> Result<User> {
        account.ensure_portal_access()?;
        if email_taken {
            return Err(Error::UserExists);
        }
        Ok(User {
            user_id,
            account_id: account.account_id.clone(),
            email: self.email.as_str().to_string(),
            display_name: self.display_name.as_str().to_string(),
            role: self.role,
            permissions: self.permissions,
            state: UserState::Active,
            create_time: now,
            update_time: now,
            remove_time: None,
        })
    }
}

/// UpdateUser as a command (I5): what changes; `None` leaves a field as it is. The e-mail is not here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub display_name: Option<DisplayName>,
    pub role: Option<Role>,
    pub permissions: Option<Permissions>,
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::account::tests::account;

    pub(crate) fn user(role: Role) -> User {
        new_user("ann@example.com", role)
            .admit(&account(false), false, "usr-1".into(), Utc::now())
            .unwrap()
    }

    fn new_user(email: &str, role: Role) -> NewUser {
        NewUser {
            account_id: "acc-1".into(),
            email: Email::parse(email).unwrap(),
            display_name: DisplayName::parse("display_name", "Ann").unwrap(),
            role,
            permissions: Permissions::default(),
        }
    }

    fn demote() -> UserPatch {
        UserPatch {
            role: Some(Role::DownloadOnly),
            ..UserPatch::default()
        }
    }

    /// Adds Ann to a fresh account, academic or not, where her address is taken or not.
    fn admit(academic: bool, email_taken: bool) -> Result<User> {
        new_user("Ann@Example.com", Role::DownloadOnly).admit(
            &account(academic),
            email_taken,
            "usr-2".into(),
            Utc::now(),
        )
    }

    #[test]
    fn i1_no_user_is_added_to_an_academic_account() {
        assert!(matches!(admit(true, false), Err(Error::AcademicAccount)));
    }

    #[test]
    fn i2_an_address_is_unique_among_the_active_users_of_an_account() {
        assert!(matches!(admit(false, true), Err(Error::UserExists)));
        let fresh = admit(false, false).unwrap();
        assert_eq!(fresh.email, "Ann@Example.com");
        assert_eq!(fresh.email_key(), "ann@example.com");
        assert!(fresh.is_active());
    }

    #[test]
    fn i9_a_removed_user_has_no_persona() {
        let now = Utc::now();
        let active = user(Role::DownloadOnly);
        assert_eq!(
            active.persona(Holdings::default()),
            Some(Persona::SupportOnly)
        );
        let removed = active.removed(1, now).unwrap().unwrap();
        assert_eq!(removed.persona(Holdings::default()), None);
    }

    #[test]
    fn i10_access_is_answered_for_active_members_of_the_account_only() {
        let member = user(Role::Administrator);
        assert!(member.is_active_member_of(&member.account_id));
        assert!(!member.is_active_member_of("acc-2"));
        let removed = member.removed(2, Utc::now()).unwrap().unwrap();
        assert!(!removed.is_active_member_of(&member.account_id));
    }

    #[test]
    fn i5_an_update_changes_only_name_role_and_permissions() {
        let before = user(Role::DownloadOnly);
        let patch = UserPatch {
            display_name: Some(DisplayName::parse("display_name", "Renamed").unwrap()),
            role: Some(Role::Administrator),
            permissions: Some(Permissions {
                security_contact: true,
                ..Permissions::default()
            }),
        };
        let after = before.updated(&patch, 1, Utc::now()).unwrap();
        assert_eq!(after.display_name, "Renamed");
        assert_eq!(after.role, Role::Administrator);
        assert!(after.permissions.security_contact);
        assert_eq!(
            (&after.user_id, &after.email, after.create_time),
            (&before.user_id, &before.email, before.create_time)
        );
    }

    #[test]
    fn i7_only_taking_away_the_last_active_administrator_is_refused() {
        let admin = user(Role::Administrator);
        let demoted = User {
            role: Role::DownloadOnly,
            ..admin.clone()
        };
        assert!(matches!(
            i7_keeps_an_administrator(&admin, &demoted, 1),
            Err(Error::LastAdministrator)
        ));
        assert!(i7_keeps_an_administrator(&admin, &demoted, 2).is_ok());
        assert!(i7_keeps_an_administrator(&admin, &admin, 1).is_ok());
        let download_only = user(Role::DownloadOnly);
        assert!(i7_keeps_an_administrator(&download_only, &download_only, 0).is_ok());
    }

    #[test]
    fn i7_the_last_administrator_cannot_be_demoted() {
        let admin = user(Role::Administrator);
        assert!(matches!(
            admin.updated(&demote(), 1, Utc::now()),
            Err(Error::LastAdministrator)
        ));
        assert!(admin.updated(&demote(), 2, Utc::now()).is_ok());
        // Keeping the role, or renaming, takes no Administrator away.
        assert!(admin.updated(&UserPatch::default(), 1, Utc::now()).is_ok());
    }

    #[test]
    fn i7_the_last_administrator_cannot_be_removed() {
        let admin = user(Role::Administrator);
        assert!(matches!(
            admin.removed(1, Utc::now()),
            Err(Error::LastAdministrator)
        ));
        assert!(admin.removed(2, Utc::now()).unwrap().is_some());
        // A Download Only user is no Administrator to lose.
        assert!(
            user(Role::DownloadOnly)
                .removed(1, Utc::now())
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn i8_a_removed_user_is_kept_as_removed_and_cannot_change() {
        let now = Utc::now();
        let removed = user(Role::DownloadOnly).removed(1, now).unwrap().unwrap();
        assert_eq!(removed.state, UserState::Removed);
        assert_eq!(removed.remove_time, Some(now));
        assert_eq!(removed.removed(1, now).unwrap(), None);
        assert!(matches!(
            removed.updated(&UserPatch::default(), 1, now),
            Err(Error::UserRemoved)
        ));
        // A removed Administrator counts no more, so they are not "lost" again.
        let admin = user(Role::Administrator).removed(2, now).unwrap().unwrap();
        assert!(!admin.is_active_administrator());
    }
}
