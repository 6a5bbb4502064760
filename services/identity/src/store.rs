//! Persistence of accounts, users and their audit records (sea-orm, SQLite and PostgreSQL alike). Functions
//! take and return domain types; rows that cannot be read are internal errors, and "no row" becomes the
//! domain's not-found here, where it happens. The schema itself is `crate::migration`.

mod accounts;
mod audit;
mod cache;
mod entity;
mod users;

pub use accounts::{accounts_by_ids, accounts_page, find_account, insert_account, lock_account};
pub use audit::audit_events;
pub use cache::UserCache;
pub use entity::{account, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use crate::error::Result;

pub use users::{
    LockedUser, UserFilter, contacts_and_admins, count_active_admins, find_user, has_active_user,
    insert_user, list_users, lock_user, update_user,
};

/// One keyset page of `query`: the rows whose `key` comes after `after`, in `key` order, at most `limit`.
async fn keyset_page<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    query: Select<E>,
    key: E::Column,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<E::Model>> {
    let query = match after {
        Some(after) => query.filter(key.gt(after)),
        None => query,
    };
    Ok(query.order_by_asc(key).limit(limit).all(db).await?)
}
