//! Portal users: rows in, [`User`]s out. The role and state columns are typed, so a row holding anything
//! else fails to load as an internal error instead of being read as some role or state. "No user" becomes
//! `USER_NOT_FOUND` here, where it happens.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};

use crate::{
    domain::{ContactKind, Permissions, Role, User, UserState},
    error::{Error, Result},
    store::{
        keyset_page, lock_account,
        user::{self, RoleColumn, StateColumn},
    },
};

impl From<Role> for RoleColumn {
    fn from(role: Role) -> Self {
        match role {
            Role::Administrator => RoleColumn::Administrator,
            Role::DownloadOnly => RoleColumn::DownloadOnly,
        }
    }
}

impl From<RoleColumn> for Role {
    fn from(role: RoleColumn) -> Self {
        match role {
            RoleColumn::Administrator => Role::Administrator,
            RoleColumn::DownloadOnly => Role::DownloadOnly,
        }
    }
}

impl From<UserState> for StateColumn {
    fn from(state: UserState) -> Self {
        match state {
            UserState::Active => StateColumn::Active,
            UserState::Removed => StateColumn::Removed,
        }
    }
}

impl From<StateColumn> for UserState {
    fn from(state: StateColumn) -> Self {
        match state {
            StateColumn::Active => UserState::Active,
            StateColumn::Removed => UserState::Removed,
        }
    }
}

fn to_user(row: user::Model) -> User {
    User {
        user_id: row.user_id,
        account_id: row.account_id,
        email: row.email,
        display_name: row.display_name,
        role: row.role.into(),
        permissions: Permissions {
            security_contact: row.security_contact,
            technical_contact: row.technical_contact,
            case_administrator: row.case_administrator,
        },
        state: row.state.into(),
        create_time: row.create_time,
        update_time: row.update_time,
        remove_time: row.remove_time,
    }
}

/// The columns a change may write (I5, I8): never the id, account, address or creation time.
fn changed_columns(user: &User) -> user::ActiveModel {
    user::ActiveModel {
        user_id: Set(user.user_id.clone()),
        display_name: Set(user.display_name.clone()),
        role: Set(user.role.into()),
        security_contact: Set(user.permissions.security_contact),
        technical_contact: Set(user.permissions.technical_contact),
        case_administrator: Set(user.permissions.case_administrator),
        state: Set(user.state.into()),
        update_time: Set(user.update_time),
        remove_time: Set(user.remove_time),
        ..Default::default()
    }
}

pub async fn find_user<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<User> {
    user::Entity::find_by_id(user_id.to_string())
        .one(db)
        .await?
        .map(to_user)
        .ok_or(Error::UserNotFound)
}

/// Whether an active user of the account has the address (by its lowercase key): I2 on adding, I11 on asking.
pub async fn has_active_user<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    email_key: &str,
) -> Result<bool> {
    let found = user::Entity::find()
        .filter(user::Column::AccountId.eq(account_id))
        .filter(user::Column::EmailKey.eq(email_key))
        .filter(user::Column::State.eq(StateColumn::Active))
        .count(db)
        .await?;
    Ok(found > 0)
}

/// I7: the account's active Administrators.
pub async fn count_active_admins<C: ConnectionTrait>(db: &C, account_id: &str) -> Result<u64> {
    Ok(user::Entity::find()
        .filter(user::Column::AccountId.eq(account_id))
        .filter(user::Column::State.eq(StateColumn::Active))
        .filter(user::Column::Role.eq(RoleColumn::Administrator))
        .count(db)
        .await?)
}

/// Which users of an account a page lists.
#[derive(Debug, Clone, Copy)]
pub struct UserFilter<'a> {
    pub account_id: &'a str,
    /// Only the users with this address (its lowercase key).
    pub email_key: Option<&'a str>,
    pub show_removed: bool,
}

/// A page of an account's users in id (creation) order, after user id `after`.
pub async fn list_users<C: ConnectionTrait>(
    db: &C,
    filter: UserFilter<'_>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<User>> {
    let mut query = user::Entity::find().filter(user::Column::AccountId.eq(filter.account_id));
    if let Some(key) = filter.email_key {
        query = query.filter(user::Column::EmailKey.eq(key));
    }
    if !filter.show_removed {
        query = query.filter(user::Column::State.eq(StateColumn::Active));
    }
    let rows = keyset_page(db, query, user::Column::UserId, after, limit).await?;
    Ok(rows.into_iter().map(to_user).collect())
}

/// Adds the user; returns them as stored.
pub async fn insert_user<C: ConnectionTrait>(txn: &C, new: &User) -> Result<User> {
    let row = user::ActiveModel {
        account_id: Set(new.account_id.clone()),
        email: Set(new.email.clone()),
        email_key: Set(new.email_key()),
        create_time: Set(new.create_time),
        ..changed_columns(new)
    }
    .insert(txn)
    .await?;
    Ok(to_user(row))
}

/// Writes what a change (I5) or a removal (I8) made of the user; returns them as stored.
pub async fn update_user<C: ConnectionTrait>(txn: &C, changed: &User) -> Result<User> {
    Ok(to_user(changed_columns(changed).update(txn).await?))
}

/// A user about to be changed, read under their account's lock (so I7 is decided on numbers no concurrent
/// change can move), with the account's active Administrators counted before the change.
#[derive(Debug, Clone)]
pub struct LockedUser {
    pub user: User,
    pub active_admins: u64,
}

/// Locks the user's account (see [`lock_account`]) and reads the user and the Administrator count under it.
pub async fn lock_user<C: ConnectionTrait>(
    txn: &C,
    account_id: &str,
    user_id: &str,
) -> Result<LockedUser> {
    lock_account(txn, account_id).await?;
    let user = find_user(txn, user_id).await?;
    let active_admins = count_active_admins(txn, &user.account_id).await?;
    Ok(LockedUser {
        user,
        active_admins,
    })
}

/// N2: the active users of `account_ids` who hold the contact permission of `kind`, or are Administrators
/// (the possible fallback), in account and id order.
pub async fn contacts_and_admins<C: ConnectionTrait>(
    db: &C,
    account_ids: &[String],
    kind: ContactKind,
) -> Result<Vec<User>> {
    let contact = match kind {
        ContactKind::Security => user::Column::SecurityContact,
        ContactKind::Technical => user::Column::TechnicalContact,
    };
    let rows = user::Entity::find()
        .filter(user::Column::AccountId.is_in(account_ids.iter().cloned()))
        .filter(user::Column::State.eq(StateColumn::Active))
        .filter(
            Condition::any()
                .add(contact.eq(true))
                .add(user::Column::Role.eq(RoleColumn::Administrator)),
        )
        .order_by_asc(user::Column::AccountId)
        .order_by_asc(user::Column::UserId)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_user).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use portal_runtime::error::Common;
    use sea_orm::{ConnectOptions, Database, DatabaseConnection, Statement};
    use sea_orm_migration::MigratorTrait;

    use super::*;
    use crate::{
        domain::{account::tests::account, user::tests::user},
        migration::Migrator,
        store::insert_account,
    };

    /// A migrated in-memory database holding account `acc-1` and its Administrator `usr-1`.
    async fn database() -> DatabaseConnection {
        let mut options = ConnectOptions::new("sqlite::memory:");
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        insert_account(&db, &account(false)).await.unwrap();
        insert_user(&db, &user(Role::Administrator)).await.unwrap();
        db
    }

    async fn stored(db: &DatabaseConnection) -> (String, String) {
        let sql = "SELECT role, state FROM users WHERE user_id = 'usr-1'";
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        (
            row.try_get("", "role").unwrap(),
            row.try_get("", "state").unwrap(),
        )
    }

    #[tokio::test]
    async fn i3_i8_role_and_state_are_stored_as_they_always_were() {
        let db = database().await;
        assert_eq!(stored(&db).await, ("ADMINISTRATOR".into(), "ACTIVE".into()));
        let removed = user(Role::DownloadOnly)
            .removed(2, chrono::Utc::now())
            .unwrap()
            .unwrap();
        let back = update_user(&db, &removed).await.unwrap();
        assert_eq!(
            stored(&db).await,
            ("DOWNLOAD_ONLY".into(), "REMOVED".into())
        );
        assert_eq!(find_user(&db, "usr-1").await.unwrap(), back);
    }

    #[tokio::test]
    async fn a_row_that_cannot_be_read_is_an_internal_error_never_a_guess() {
        for corrupt in [
            "UPDATE users SET role = 'SUPERUSER'",
            "UPDATE users SET state = 'SUSPENDED'",
        ] {
            let db = database().await;
            db.execute_unprepared(corrupt).await.unwrap();
            assert!(
                matches!(
                    find_user(&db, "usr-1").await,
                    Err(Error::Common(Common::Internal(_)))
                ),
                "{corrupt}"
            );
            assert!(count_active_admins(&db, "acc-1").await.is_ok());
        }
    }
}
