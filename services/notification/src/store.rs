//! Persistence of advisories and the delivery ledger (sea-orm, SQLite and PostgreSQL alike).

pub mod entity;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, Statement,
    sea_query::{Expr, ExprTrait, OnConflict},
};

pub use entity::{advisory, delivery};

use crate::{
    domain::DeliveryState,
    error::{Error, Result},
};

pub const RESOLVING: &str = "RESOLVING";
pub const READY: &str = "READY";

/// The next advisory number of `year` (N1), taken inside the publishing transaction so a rollback returns it.
pub async fn next_advisory_number<C: ConnectionTrait>(db: &C, year: i32) -> Result<i64> {
    db.execute_unprepared(&format!("INSERT INTO advisory_counters (year, last) VALUES ({year}, 0) ON CONFLICT (year) DO NOTHING")).await?;
    entity::counter::Entity::update_many()
        .col_expr(
            entity::counter::Column::Last,
            Expr::col(entity::counter::Column::Last).add(1),
        )
        .filter(entity::counter::Column::Year.eq(year))
        .exec(db)
        .await?;
    let row = entity::counter::Entity::find_by_id(year)
        .one(db)
        .await?
        .ok_or_else(|| Error::internal("advisory counter vanished"))?;
    Ok(row.last)
}

pub async fn find_advisory<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
) -> Result<advisory::Model> {
    advisory::Entity::find_by_id(advisory_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::AdvisoryNotFound)
}

/// Delivery counts of one advisory by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub staged: i64,
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    pub dead: i64,
}

impl Counts {
    pub fn total(&self) -> i64 {
        self.staged + self.pending + self.sent + self.failed + self.dead
    }
    pub fn unsettled(&self) -> i64 {
        self.staged + self.pending + self.failed
    }
}

#[derive(Debug, FromQueryResult)]
struct StateCount {
    state: String,
    n: i64,
}

pub async fn counts<C: ConnectionTrait>(db: &C, advisory_id: &str) -> Result<Counts> {
    let rows = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::State)
        .column_as(delivery::Column::DeliveryId.count(), "n")
        .filter(delivery::Column::AdvisoryId.eq(advisory_id))
        .group_by(delivery::Column::State)
        .into_model::<StateCount>()
        .all(db)
        .await?;
    let mut counts = Counts::default();
    for row in rows {
        match DeliveryState::parse(&row.state) {
            DeliveryState::Staged => counts.staged += row.n,
            DeliveryState::Pending => counts.pending += row.n,
            DeliveryState::Sent => counts.sent += row.n,
            DeliveryState::Failed => counts.failed += row.n,
            DeliveryState::Dead => counts.dead += row.n,
        }
    }
    Ok(counts)
}

/// Accounts of an advisory that fell back to their Administrators (N2): (id, name), at most `limit`.
pub async fn fallback_accounts<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    limit: u64,
) -> Result<Vec<(String, String)>> {
    Ok(delivery::Entity::find()
        .select_only()
        .column(delivery::Column::AccountId)
        .column(delivery::Column::AccountName)
        .distinct()
        .filter(delivery::Column::AdvisoryId.eq(advisory_id))
        .filter(delivery::Column::Fallback.eq(true))
        .order_by_asc(delivery::Column::AccountId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

use sea_orm::QueryOrder;

/// Writes ledger rows; rows already there (a resolution restarted after a crash) are left as they are.
pub async fn insert_deliveries<C: ConnectionTrait>(
    db: &C,
    rows: Vec<delivery::ActiveModel>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let conflict = OnConflict::columns([
        delivery::Column::AdvisoryId,
        delivery::Column::AccountId,
        delivery::Column::EmailKey,
    ])
    .do_nothing()
    .to_owned();
    match delivery::Entity::insert_many(rows)
        .on_conflict(conflict)
        .exec_without_returning(db)
        .await
    {
        Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// N3: reserves up to `limit` due deliveries for `owner` until `lease_until`. On PostgreSQL, `FOR UPDATE SKIP
/// LOCKED` lets replicas claim disjoint batches without waiting on each other; SQLite serialises writers.
/// Rows whose lease expired (a crashed worker's) are due again.
pub async fn claim_batch<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<delivery::Model>> {
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
         RETURNING *",
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
    Ok(delivery::Model::find_by_statement(statement)
        .all(db)
        .await?)
}

/// Writes a chunk of attempt outcomes in one transaction: the sent deliveries in one statement, each failure
/// with its own next attempt time. Only rows `owner` still holds are touched.
pub async fn record_outcomes(
    db: &sea_orm::DatabaseConnection,
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

/// Marks deliveries sent, those `owner` still holds; returns how many.
pub async fn mark_sent<C: ConnectionTrait>(
    db: &C,
    delivery_ids: &[String],
    owner: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    if delivery_ids.is_empty() {
        return Ok(0);
    }
    let result = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::State,
            Expr::value(DeliveryState::Sent.as_str()),
        )
        .col_expr(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        )
        .col_expr(delivery::Column::SentTime, Expr::value(Some(now)))
        .col_expr(delivery::Column::LastError, Expr::value(""))
        .col_expr(
            delivery::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            delivery::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(delivery::Column::UpdateTime, Expr::value(now))
        .filter(delivery::Column::DeliveryId.is_in(delivery_ids.iter().cloned()))
        .filter(delivery::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Records a failed attempt: FAILED with the next attempt time, or DEAD.
pub async fn mark_failed<C: ConnectionTrait>(
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
    delivery::Entity::update_many()
        .col_expr(delivery::Column::State, Expr::value(state.as_str()))
        .col_expr(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        )
        .col_expr(delivery::Column::LastError, Expr::value(error))
        .col_expr(
            delivery::Column::NextAttemptTime,
            Expr::value(next.unwrap_or(now)),
        )
        .col_expr(
            delivery::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            delivery::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
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
    let result = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            delivery::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(delivery::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Deliveries waiting to be sent (PENDING or FAILED), for the queue-depth gauge.
pub async fn queue_depth<C: ConnectionTrait>(db: &C) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(delivery::Entity::find()
        .filter(delivery::Column::State.is_in([
            DeliveryState::Pending.as_str(),
            DeliveryState::Failed.as_str(),
        ]))
        .count(db)
        .await?)
}
