//! The users the handlers read on every call (the caller; the subject of CheckAccess and GetUser), kept in a
//! [`ReadCache`]: in memory on SQLite, where this process is the only writer, and cleared once any RPC that
//! may write has run (`IdentityApi::into_server`); off on PostgreSQL (see [`portal_runtime::cache`]).

use portal_runtime::cache::ReadCache;
use sea_orm::DatabaseConnection;

use crate::{domain::User, error::Result, store};

#[derive(Debug)]
pub struct UserCache(ReadCache<String, User>);

impl UserCache {
    const CAPACITY: usize = 10_000;

    pub fn for_database(db: &DatabaseConnection) -> Self {
        Self(ReadCache::for_database(db, Self::CAPACITY))
    }

    /// The user, from memory when it is there.
    pub async fn find(&self, db: &DatabaseConnection, user_id: &str) -> Result<User> {
        self.0
            .get_or_load(user_id.to_string(), store::find_user(db, user_id))
            .await
    }

    /// Called once any RPC that may write has run.
    pub fn invalidate(&self) {
        self.0.invalidate();
    }
}
