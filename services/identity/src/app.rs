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
use portal_proto::Idempotent;
use portal_runtime::{
    error::Common,
    idempotency::{self, Begun},
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};

pub use accounts::CreateAccount;
pub use caller::Calling;
pub use contacts::{Contact, ContactChoice};
pub use users::{CreateUser, ListUsers, Shown};

use crate::{error::Result, store::UserCache};

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

/// What makes a creating request idempotent: the caller's request id and the fingerprint of the request's
/// content without it (a replay must match it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub request_id: String,
    pub hash: String,
}

impl RequestKey {
    pub fn of<R: Idempotent>(request: &R) -> Self {
        Self {
            request_id: request.request_id().to_string(),
            hash: idempotency::content_hash(request),
        }
    }
}

/// How a claimed creation goes on.
enum Claim {
    /// First time: a write transaction whose first write claimed the request id; commit it with the creation.
    Fresh(DatabaseTransaction),
    /// The same request was made before: answer with the resource of this id.
    Replay(String),
}

/// Claims `(operation, key)` for `resource_id` (see [`idempotency::begin`]); a request id reused for other
/// content is `REQUEST_ID_REUSED`.
async fn claim(
    db: &DatabaseConnection,
    operation: &str,
    key: &RequestKey,
    resource_id: &str,
) -> Result<Claim> {
    let begun = idempotency::begin(db, operation, &key.request_id, &key.hash, resource_id)
        .await
        .map_err(Common::from)?;
    match begun {
        Begun::Fresh(txn) => Ok(Claim::Fresh(txn)),
        Begun::Replay(id) => Ok(Claim::Replay(id)),
        Begun::Reused => Err(Common::RequestIdReused.into()),
    }
}
