//! The identity use cases, one file per resource. Each takes a typed command and the resolved caller, and owns
//! what makes it one change: the idempotency claim, the transaction (`begin_write` … `commit`), the audit event
//! (I12) and the order of the domain's decisions and the store's reads and writes. It returns domain types.
//! `crate::rpc` only turns requests into commands and answers into protobuf: data flows
//! rpc → app → (domain, store) → app → rpc.

mod access;
mod accounts;
mod audit;
mod caller;
mod contacts;
mod support;
mod users;

use std::sync::Arc;

use portal_clients::Licensing;
pub use portal_runtime::idempotency::RequestKey;
use sea_orm::DatabaseConnection;

pub use accounts::CreateAccount;
pub use caller::Calling;
pub use contacts::{Contact, ContactChoice};
pub use users::{CreateUser, ListUsers, Shown};

use crate::store::UserCache;

/// What the use cases work with: the database, licensing, and the user rows remembered between writes.
#[derive(Debug, Clone)]
pub struct Identity {
    db: DatabaseConnection,
    licensing: Licensing,
    users: Arc<UserCache>,
}

impl Identity {
    pub fn new(db: DatabaseConnection, licensing: Licensing) -> Self {
        let users = Arc::new(UserCache::for_database(&db));
        Self {
            db,
            licensing,
            users,
        }
    }

    /// The remembered user rows, which the server clears once an RPC that may write has run.
    pub fn user_cache(&self) -> Arc<UserCache> {
        self.users.clone()
    }
}
