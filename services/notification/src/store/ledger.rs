//! The delivery worker's side of the ledger (N3): claiming due rows under a lease, recording attempt outcomes
//! in chunks, and giving back what a stopping worker holds.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, PaginatorTrait, QueryFilter, QuerySelect, Statement, UpdateMany,
    sea_query::{Expr, ExprTrait, Func},
};

use super::{
    deliveries,
    entity::{advisory, delivery},
};
use crate::{
    domain::{AdvisoryState, Delivery, DeliveryState},
    error::{Error, Result},
};

/// A claimed row that cannot be read: the worker settles it as DEAD with the cause, and sends nothing.
#[derive(Debug)]
pub struct Unreadable {
    pub delivery_id: String,
    pub cause: String,
}

/// N3: reserves up to `limit` due deliveries for `owner` until `lease_until`. On PostgreSQL, `FOR UPDATE SKIP
/// LOCKED` lets replicas claim disjoint batches without waiting on each other; SQLite serialises writers.
/// Rows whose lease expired (a crashed worker's) are due again. Each row is read on its own, so one corrupt
/// row does not hold up the others.
pub async fn claim_batch<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Result<Delivery, Unreadable>>> {
    let backend = db.get_database_backend();
    let skip_locked = match backend {
        DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let p = portal_runtime::db::placeholders(backend, 4);
    let sql = format!(
        "UPDATE deliveries SET lease_owner = {owner}, lease_until = {until}, update_time = {now} \
         WHERE delivery_id IN (SELECT delivery_id FROM deliveries \
           WHERE state IN ('PENDING', 'FAILED') AND next_attempt_time <= {now2} AND (lease_until IS NULL OR lease_until < {now2}) \
           ORDER BY next_attempt_time LIMIT {limit}{skip_locked}) \
         RETURNING {columns}",
        // Named, never `*`: a pooled SQLite connection that has not seen a migration's new column yet would
        // expand `*` to the old columns, then step the re-prepared statement with the new ones.
        columns = delivery::Column::iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        owner = p[0],
        until = p[1],
        now = p[2],
        now2 = p[2],
        limit = p[3],
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [owner.into(), lease_until.into(), now.into(), limit.into()],
    );
    let rows = db.query_all_raw(statement).await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in &rows {
        let delivery_id: String = row.try_get("", "delivery_id")?;
        let delivery = delivery::Model::from_query_result(row, "")
            .map_err(Error::from)
            .and_then(deliveries::read)
            .map_err(|e| Unreadable {
                delivery_id,
                cause: e.to_string(),
            });
        claimed.push(delivery);
    }
    Ok(claimed)
}

/// An update that also gives up the row's lease.
pub(super) fn unleased(update: UpdateMany<delivery::Entity>) -> UpdateMany<delivery::Entity> {
    update
        .col_expr(
            delivery::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            delivery::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
}

/// Writes a chunk of attempt outcomes in one transaction: the sent deliveries in one statement, each failure
/// with its own next attempt time (DEAD when there is none). Only rows `owner` still holds are touched.
pub async fn record_outcomes(
    db: &DatabaseConnection,
    owner: &str,
    sent: &[String],
    failed: &[(String, String, Option<DateTime<Utc>>)],
    now: DateTime<Utc>,
) -> Result<()> {
    let txn = portal_runtime::db::begin_write(db).await?;
    mark_sent(&txn, sent, owner, now).await?;
    for (delivery_id, error, next) in failed {
        mark_failed(&txn, delivery_id, owner, error, *next, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Marks deliveries sent, those `owner` still holds.
async fn mark_sent<C: ConnectionTrait>(
    db: &C,
    delivery_ids: &[String],
    owner: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if delivery_ids.is_empty() {
        return Ok(());
    }
    unleased(delivery::Entity::update_many())
        .col_expr(delivery::Column::State, Expr::value(DeliveryState::Sent))
        .col_expr(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        )
        .col_expr(delivery::Column::SentTime, Expr::value(Some(now)))
        .col_expr(delivery::Column::LastError, Expr::value(""))
        .col_expr(delivery::Column::UpdateTime, Expr::value(now))
        .filter(delivery::Column::DeliveryId.is_in(delivery_ids.iter().cloned()))
        .filter(delivery::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(())
}

/// Records a failed attempt: FAILED with the next attempt time, or DEAD.
async fn mark_failed<C: ConnectionTrait>(
    db: &C,
    delivery_id: &str,
    owner: &str,
    error: &str,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let state = if next.is_some() {
        DeliveryState::Failed
    } else {
        DeliveryState::Dead
    };
    let error: String = error.chars().take(1000).collect();
    unleased(delivery::Entity::update_many())
        .col_expr(delivery::Column::State, Expr::value(state))
        .col_expr(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        )
        .col_expr(delivery::Column::LastError, Expr::value(error))
        .col_expr(
            delivery::Column::NextAttemptTime,
            Expr::value(next.unwrap_or(now)),
        )
        .col_expr(delivery::Column::UpdateTime, Expr::value(now))
        .filter(delivery::Column::DeliveryId.eq(delivery_id))
        .filter(delivery::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives back every delivery `owner` still holds (graceful shutdown), so another worker takes them at once.
pub async fn release<C: ConnectionTrait>(db: &C, owner: &str) -> Result<u64> {
    let result = unleased(delivery::Entity::update_many())
        .filter(delivery::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Deliveries waiting to be sent (PENDING or FAILED), for the queue-depth gauge.
pub async fn queue_depth<C: ConnectionTrait>(db: &C) -> Result<u64> {
    Ok(delivery::Entity::find()
        .filter(delivery::Column::State.is_in([DeliveryState::Pending, DeliveryState::Failed]))
        .count(db)
        .await?)
}

/// N4: when the oldest advisory that is not yet settled was published — one with recipients still to resolve,
/// or with deliveries still to make — or `None` when every advisory is settled.
pub async fn oldest_unsettled_advisory<C: ConnectionTrait>(
    db: &C,
) -> Result<Option<DateTime<Utc>>> {
    let delivering: Option<DateTime<Utc>> = delivery::Entity::find()
        .select_only()
        .expr(Func::min(Expr::col(delivery::Column::CreateTime)))
        .filter(delivery::Column::AdvisoryId.is_not_null())
        .filter(delivery::Column::State.is_in([
            DeliveryState::Staged,
            DeliveryState::Pending,
            DeliveryState::Failed,
        ]))
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten();
    let resolving: Option<DateTime<Utc>> = advisory::Entity::find()
        .select_only()
        .expr(Func::min(Expr::col(advisory::Column::CreateTime)))
        .filter(advisory::Column::State.eq(AdvisoryState::Resolving))
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten();
    Ok(delivering.into_iter().chain(resolving).min())
}
