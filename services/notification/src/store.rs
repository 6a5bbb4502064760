//! Persistence of advisories and the delivery ledger (sea-orm, SQLite and PostgreSQL alike). Functions take and
//! return domain types; a row that cannot be read is an error (`Error::internal`, logged, INTERNAL), never a
//! guess.
//!
//! `advisories` holds the advisories and their resolution leases, `csaf` the documents imported ones came from, `deliveries` the ledger rows as the RPCs
//! write and read them, `ledger` what the delivery worker does to them (claim, record, release), `escalations` the N8 escalations
//! and each account's coverage, `reports`
//! what came back for deliveries (N14).

pub mod acknowledgements;
pub mod advisories;
pub mod csaf;
pub mod deliveries;
mod entity;
pub mod escalations;
pub mod ledger;
pub mod reports;

use std::fmt::Display;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use serde::Serialize;

use crate::error::{Error, Result};

/// A stored value that does not read as what it must be.
fn unreadable(what: &str, id: &str, cause: impl Display) -> Error {
    Error::internal(format!("unreadable {what} {id}: {cause}"))
}

/// One page of `query` in `key` order: at most `limit` rows after the one whose key is `after`, each read as a
/// domain value.
async fn keyset_page<E, C, T>(
    db: &C,
    query: Select<E>,
    key: E::Column,
    after: Option<impl Into<Value>>,
    limit: u64,
    read: fn(E::Model) -> Result<T>,
) -> Result<Vec<T>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let query = match after {
        Some(after) => query.filter(key.gt(after)),
        None => query,
    };
    query
        .order_by_asc(key)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

/// Rows an insert that skips conflicts wrote (0: they were all there already).
fn inserted(result: std::result::Result<u64, sea_orm::DbErr>) -> Result<u64> {
    match result {
        Ok(n) => Ok(n),
        Err(sea_orm::DbErr::RecordNotInserted) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// A domain value as the JSON stored in a text column.
fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(e.to_string()))
}

#[cfg(test)]
mod tests;
