//! Idempotent mutations: the first result of each `(operation, request_id)` is recorded in the same transaction
//! as the mutation, so a replay (also a concurrent one) returns it instead of acting twice.

use chrono::Utc;
use portal_proto::Idempotent;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    Set, SqlErr,
};
use sha2::{Digest, Sha256};

/// The stored row.
pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub operation: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub request_id: String,
        pub request_hash: String,
        pub resource_id: String,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What a request id has been used for before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prior {
    /// Never seen: go ahead.
    None,
    /// The same request: return this resource.
    Replay(String),
    /// The id was used for a different request.
    Reused,
}

/// A stable fingerprint of a request's content (its protobuf encoding, without the request id itself).
pub fn fingerprint(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub async fn lookup<C: ConnectionTrait>(
    db: &C,
    operation: &str,
    request_id: &str,
    hash: &str,
) -> Result<Prior, DbErr> {
    let found = entity::Entity::find_by_id((operation.to_string(), request_id.to_string()))
        .one(db)
        .await?;
    Ok(match found {
        None => Prior::None,
        Some(row) if row.request_hash == hash => Prior::Replay(row.resource_id),
        Some(_) => Prior::Reused,
    })
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    operation: &str,
    request_id: &str,
    hash: &str,
    resource_id: &str,
) -> Result<(), DbErr> {
    entity::ActiveModel {
        operation: Set(operation.into()),
        request_id: Set(request_id.into()),
        request_hash: Set(hash.into()),
        resource_id: Set(resource_id.into()),
        create_time: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// True when `err` is a unique-key violation, e.g. a concurrent replay that committed first.
pub fn is_conflict(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// How an idempotent mutation starts.
#[derive(Debug)]
pub enum Begun {
    /// First time: a transaction whose first write claimed the request id for `resource_id`. Commit it with the
    /// mutation; a concurrent replay waits on the claim and then sees this result.
    Fresh(DatabaseTransaction),
    /// Seen before with the same content: return this resource.
    Replay(String),
    /// Seen before with other content.
    Reused,
}

/// Starts an idempotent mutation of `operation` that would create `resource_id`. An empty `request_id` opts
/// out (every call acts). The claim is the transaction's first write, which also keeps SQLite from failing a
/// read-then-write upgrade under concurrency.
pub async fn begin(
    db: &DatabaseConnection,
    operation: &str,
    request_id: &str,
    hash: &str,
    resource_id: &str,
) -> Result<Begun, DbErr> {
    if request_id.is_empty() {
        return Ok(Begun::Fresh(crate::db::begin_write(db).await?));
    }
    match lookup(db, operation, request_id, hash).await? {
        Prior::Replay(id) => return Ok(Begun::Replay(id)),
        Prior::Reused => return Ok(Begun::Reused),
        Prior::None => {}
    }
    let txn = crate::db::begin_write(db).await?;
    match record(&txn, operation, request_id, hash, resource_id).await {
        Ok(()) => Ok(Begun::Fresh(txn)),
        Err(e) if is_conflict(&e) => {
            // A concurrent call claimed it first and has committed (the insert waited for it).
            txn.rollback().await?;
            Ok(match lookup(db, operation, request_id, hash).await? {
                Prior::Replay(id) => Begun::Replay(id),
                Prior::Reused => Begun::Reused,
                Prior::None => return Err(e),
            })
        }
        Err(e) => Err(e),
    }
}

/// Names the resource of a claimed request id once it is known (e.g. a number allocated in the transaction).
pub async fn set_resource<C: ConnectionTrait>(
    db: &C,
    operation: &str,
    request_id: &str,
    resource_id: &str,
) -> Result<(), DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    entity::Entity::update_many()
        .col_expr(entity::Column::ResourceId, Expr::value(resource_id))
        .filter(entity::Column::Operation.eq(operation))
        .filter(entity::Column::RequestId.eq(request_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// How a claimed idempotent mutation goes on.
#[derive(Debug)]
pub enum Claim {
    /// First time: a write transaction whose first write claimed the request id; commit it with the mutation.
    Fresh(DatabaseTransaction),
    /// The same request was made before: answer with this resource.
    Replay(String),
}

/// The fingerprint a replay of `request` must match: its content without the request id.
pub fn content_hash<R: Idempotent>(request: &R) -> String {
    fingerprint(&request.without_request_id().encode_to_vec())
}

/// What makes a retried request the same request: its id, and the fingerprint of its content without the id (a
/// replay must match it). What an application layer takes instead of the wire request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub request_id: String,
    pub hash: String,
}

impl RequestKey {
    pub fn of<R: Idempotent>(request: &R) -> Self {
        Self {
            request_id: request.request_id().to_string(),
            hash: content_hash(request),
        }
    }
}

/// Starts an idempotent mutation in one call: fingerprints `request`, claims `(operation, request_id)` for
/// `resource_id` (see [`begin`]), and turns an id reused for other content into `REQUEST_ID_REUSED`.
pub async fn claim<R: Idempotent>(
    db: &DatabaseConnection,
    operation: &str,
    request: &R,
    resource_id: &str,
) -> Result<Claim, crate::error::Common> {
    claim_key(db, operation, &RequestKey::of(request), resource_id).await
}

/// [`claim`] for a request already reduced to its [`RequestKey`].
pub async fn claim_key(
    db: &DatabaseConnection,
    operation: &str,
    key: &RequestKey,
    resource_id: &str,
) -> Result<Claim, crate::error::Common> {
    match begin(db, operation, &key.request_id, &key.hash, resource_id).await? {
        Begun::Fresh(txn) => Ok(Claim::Fresh(txn)),
        Begun::Replay(id) => Ok(Claim::Replay(id)),
        Begun::Reused => Err(crate::error::Common::RequestIdReused),
    }
}
