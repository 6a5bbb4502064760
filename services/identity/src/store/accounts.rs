//! Accounts: reading, creating and locking them, and the pages the contact stream walks. "No account" becomes
//! `ACCOUNT_NOT_FOUND` here, where it happens.

use portal_runtime::db::lock_row;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::{
    domain::Account,
    error::{Error, Result},
    store::{account, keyset_page},
};

fn to_account(row: account::Model) -> Account {
    Account {
        account_id: row.account_id,
        name: row.name,
        academic: row.academic,
        create_time: row.create_time,
    }
}

pub async fn find_account<C: ConnectionTrait>(db: &C, account_id: &str) -> Result<Account> {
    account::Entity::find_by_id(account_id.to_string())
        .one(db)
        .await?
        .map(to_account)
        .ok_or(Error::AccountNotFound)
}

/// Serialises the user mutations of one account and returns it: the transaction's first write takes the
/// account row's lock (PostgreSQL row lock; SQLite write lock), so concurrent checks of I7 cannot both pass.
pub async fn lock_account<C: ConnectionTrait>(txn: &C, account_id: &str) -> Result<Account> {
    lock_row::<account::Entity, _>(
        txn,
        account::Column::AccountId,
        account::Column::Revision,
        account_id,
    )
    .await?
    .map(to_account)
    .ok_or(Error::AccountNotFound)
}

/// Adds the account; returns it as stored.
pub async fn insert_account<C: ConnectionTrait>(txn: &C, new: &Account) -> Result<Account> {
    let row = account::ActiveModel {
        account_id: Set(new.account_id.clone()),
        name: Set(new.name.clone()),
        academic: Set(new.academic),
        revision: Set(0),
        create_time: Set(new.create_time),
    }
    .insert(txn)
    .await?;
    Ok(to_account(row))
}

/// A page of accounts in id order, after `after`.
pub async fn accounts_page<C: ConnectionTrait>(
    db: &C,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Account>> {
    let query = account::Entity::find();
    let rows = keyset_page(db, query, account::Column::AccountId, after, limit).await?;
    Ok(rows.into_iter().map(to_account).collect())
}

/// The accounts of `ids` that exist, in id order.
pub async fn accounts_by_ids<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<Vec<Account>> {
    let rows = account::Entity::find()
        .filter(account::Column::AccountId.is_in(ids.iter().cloned()))
        .order_by_asc(account::Column::AccountId)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_account).collect())
}
