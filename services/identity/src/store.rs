//! Persistence of accounts and users (sea-orm, SQLite and PostgreSQL alike). "No row" becomes the domain's
//! not-found here, where it happens.

pub mod entity;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};

pub use entity::{account, user};

use crate::{
    domain::{Permissions, Role, UserState},
    error::{Error, Result},
};

pub fn role_str(role: Role) -> &'static str {
    match role {
        Role::Administrator => "ADMINISTRATOR",
        Role::DownloadOnly => "DOWNLOAD_ONLY",
    }
}

pub fn role_of(row: &user::Model) -> Role {
    if row.role == "ADMINISTRATOR" {
        Role::Administrator
    } else {
        Role::DownloadOnly
    }
}

pub fn permissions_of(row: &user::Model) -> Permissions {
    Permissions {
        security_contact: row.security_contact,
        technical_contact: row.technical_contact,
        case_administrator: row.case_administrator,
    }
}

pub fn is_active(row: &user::Model) -> bool {
    UserState::parse(&row.state) == UserState::Active
}

pub async fn find_account<C: ConnectionTrait>(db: &C, account_id: &str) -> Result<account::Model> {
    account::Entity::find_by_id(account_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::AccountNotFound)
}

/// Serialises user mutations of one account: the first write of the transaction takes the account row's lock
/// (PostgreSQL row lock; SQLite write lock), so concurrent checks of I7 cannot both pass.
pub async fn lock_account<C: ConnectionTrait>(db: &C, account_id: &str) -> Result<()> {
    let updated = account::Entity::update_many()
        .col_expr(
            account::Column::Revision,
            Expr::col(account::Column::Revision).add(1),
        )
        .filter(account::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        Err(Error::AccountNotFound)
    } else {
        Ok(())
    }
}

pub async fn insert_account<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    name: &str,
    academic: bool,
) -> Result<account::Model> {
    Ok(account::ActiveModel {
        account_id: Set(account_id.into()),
        name: Set(name.into()),
        academic: Set(academic),
        revision: Set(0),
        create_time: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

pub async fn find_user<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<user::Model> {
    user::Entity::find_by_id(user_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::UserNotFound)
}

pub async fn find_active_by_email<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    email_key: &str,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::AccountId.eq(account_id))
        .filter(user::Column::EmailKey.eq(email_key))
        .filter(user::Column::State.eq(UserState::Active.as_str()))
        .one(db)
        .await?)
}

pub async fn count_active_admins<C: ConnectionTrait>(db: &C, account_id: &str) -> Result<u64> {
    Ok(user::Entity::find()
        .filter(user::Column::AccountId.eq(account_id))
        .filter(user::Column::State.eq(UserState::Active.as_str()))
        .filter(user::Column::Role.eq(role_str(Role::Administrator)))
        .count(db)
        .await?)
}

/// A page of an account's users in id (creation) order.
pub async fn list_users<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    email_key: Option<&str>,
    show_removed: bool,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<user::Model>> {
    let mut query = user::Entity::find().filter(user::Column::AccountId.eq(account_id));
    if let Some(key) = email_key {
        query = query.filter(user::Column::EmailKey.eq(key));
    }
    if !show_removed {
        query = query.filter(user::Column::State.eq(UserState::Active.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(user::Column::UserId.gt(after));
    }
    Ok(query
        .order_by_asc(user::Column::UserId)
        .limit(limit)
        .all(db)
        .await?)
}

/// A page of account ids in id order, after `after`.
pub async fn account_ids_page<C: ConnectionTrait>(
    db: &C,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<account::Model>> {
    let mut query = account::Entity::find();
    if let Some(after) = after {
        query = query.filter(account::Column::AccountId.gt(after));
    }
    Ok(query
        .order_by_asc(account::Column::AccountId)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn accounts_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<Vec<account::Model>> {
    Ok(account::Entity::find()
        .filter(account::Column::AccountId.is_in(ids.iter().cloned()))
        .order_by_asc(account::Column::AccountId)
        .all(db)
        .await?)
}

/// Active users of `account_ids` who hold the contact permission, or are Administrators (the fallback).
pub async fn contacts_and_admins<C: ConnectionTrait>(
    db: &C,
    account_ids: &[String],
    security: bool,
) -> Result<Vec<user::Model>> {
    let contact = if security {
        user::Column::SecurityContact
    } else {
        user::Column::TechnicalContact
    };
    Ok(user::Entity::find()
        .filter(user::Column::AccountId.is_in(account_ids.iter().cloned()))
        .filter(user::Column::State.eq(UserState::Active.as_str()))
        .filter(
            Condition::any()
                .add(contact.eq(true))
                .add(user::Column::Role.eq(role_str(Role::Administrator))),
        )
        .order_by_asc(user::Column::AccountId)
        .order_by_asc(user::Column::UserId)
        .all(db)
        .await?)
}
