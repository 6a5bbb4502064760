//! N8: escalations of advisories to accounts' Administrators — finding the accounts the domain's
//! `AccountLedger::n8_escalation_due` holds for, claiming one account's escalation once across replicas, and
//! what each account's ledger says (also N10's report). The store executes; the domain decides.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, sea_query::OnConflict,
};

use super::{
    deliveries::{new_row, one_per_recipient},
    entity::{delivery, escalation},
    inserted,
};
use crate::{
    domain::{AccountLedger, DeliveryState, Recipient, Tally},
    error::Result,
};

/// An account found by [`due`]: its designated contacts' mails of an advisory all ended `DEAD`, not yet
/// escalated; `ledger` is what [`AccountLedger::n8_escalation`] decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub advisory_id: String,
    pub account_id: String,
    pub account_name: String,
    /// The account's designated mails (no escalation claimed yet).
    pub ledger: AccountLedger,
}

#[derive(Debug, FromQueryResult)]
struct DueRow {
    advisory_id: String,
    account_id: String,
    account_name: String,
    sent_rows: i64,
    dead_rows: i64,
    open_rows: i64,
    /// Rows addressed to Administrators standing in for missing contacts (N2).
    fallback_rows: i64,
}

/// N8: up to `limit` accounts for which [`AccountLedger::n8_escalation_due`] holds (of `advisory_id` only, and of
/// its account `account_id` only, when given — one account's check reads only its rows), executed as one
/// set-based query: the designated rows (neither escalation nor reminder) grouped per account, every one
/// `DEAD`, and no escalation claimed yet. Each comes with its ledger, tallied as [`Tally::add`] does.
pub async fn due<C: ConnectionTrait>(
    db: &C,
    advisory_id: Option<&str>,
    account_id: Option<&str>,
    limit: u64,
) -> Result<Vec<Due>> {
    let backend = db.get_database_backend();
    let p = portal_runtime::db::placeholders(backend, 6);
    // A filter not given compares its (null) parameter with null, so the statement keeps its shape.
    let only = match (advisory_id, account_id) {
        (Some(_), Some(_)) => format!("AND d.advisory_id = {} AND d.account_id = {}", p[2], p[3]),
        (Some(_), None) => format!("AND d.advisory_id = {} AND {} IS NULL", p[2], p[3]),
        (None, _) => format!("AND {} IS NULL AND {} IS NULL", p[2], p[3]),
    };
    let sql = format!(
        "SELECT d.advisory_id, d.account_id, MAX(d.account_name) AS account_name, \
           COUNT(CASE WHEN d.state = {sent} THEN 1 END) AS sent_rows, \
           COUNT(CASE WHEN d.state = {dead} THEN 1 END) AS dead_rows, \
           COUNT(CASE WHEN d.state <> {sent} AND d.state <> {dead} THEN 1 END) AS open_rows, \
           COUNT(CASE WHEN d.fallback THEN 1 END) AS fallback_rows \
         FROM deliveries d \
         WHERE d.advisory_id IS NOT NULL AND d.escalation = {no} AND d.reminder = 0 {only} \
           AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.advisory_id = d.advisory_id AND e.account_id = d.account_id) \
         GROUP BY d.advisory_id, d.account_id \
         HAVING COUNT(CASE WHEN d.state <> {dead} THEN 1 END) = 0 \
         ORDER BY d.advisory_id, d.account_id LIMIT {limit}",
        no = p[0],
        limit = p[1],
        sent = p[4],
        dead = p[5],
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [
            false.into(),
            limit.into(),
            advisory_id.map(str::to_string).into(),
            account_id.map(str::to_string).into(),
            DeliveryState::Sent.into(),
            DeliveryState::Dead.into(),
        ],
    );
    let rows = DueRow::find_by_statement(statement).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| Due {
            advisory_id: r.advisory_id,
            account_id: r.account_id,
            account_name: r.account_name,
            ledger: AccountLedger {
                designated: Tally {
                    sent: r.sent_rows,
                    dead: r.dead_rows,
                    open: r.open_rows,
                },
                fallback: r.fallback_rows > 0,
                escalation: None,
            },
        })
        .collect())
}

/// N8: claims the escalation of `due` for `to` (empty: nobody else to tell) and writes their rows, marked as
/// escalation and due now, in one transaction. `false` when another replica claimed it first.
pub async fn claim(
    db: &DatabaseConnection,
    due: &Due,
    to: &[Recipient],
    now: DateTime<Utc>,
) -> Result<bool> {
    let txn = portal_runtime::db::begin_write(db).await?;
    let claim = escalation::ActiveModel {
        advisory_id: Set(due.advisory_id.clone()),
        account_id: Set(due.account_id.clone()),
        administrators: Set(0),
        create_time: Set(now),
    };
    let claimed = inserted(
        escalation::Entity::insert(claim)
            .on_conflict(
                OnConflict::columns([
                    escalation::Column::AdvisoryId,
                    escalation::Column::AccountId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await,
    )?;
    if claimed == 0 {
        return Ok(false);
    }
    let mut written = 0;
    if !to.is_empty() {
        let rows = to.iter().map(|admin| {
            let mut row = new_row(
                portal_runtime::new_id("dlv"),
                admin,
                Some(due.advisory_id.clone()),
                None,
                DeliveryState::Pending,
                now,
            );
            row.escalation = Set(true);
            row
        });
        // An Administrator who was a designated contact too keeps their (dead) row: the unique key skips them.
        written = inserted(
            delivery::Entity::insert_many(rows)
                .on_conflict(one_per_recipient())
                .exec_without_returning(&txn)
                .await,
        )?;
    }
    escalation::Entity::update_many()
        .col_expr(
            escalation::Column::Administrators,
            sea_orm::sea_query::Expr::value(i32::try_from(written).unwrap_or(i32::MAX)),
        )
        .filter(escalation::Column::AdvisoryId.eq(&due.advisory_id))
        .filter(escalation::Column::AccountId.eq(&due.account_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// N8: the accounts of `advisory_id` whose escalation went to Administrators, and those that are unreachable
/// after escalating (every row of theirs DEAD, or nobody else to tell), each ordered by id, at most `limit`.
pub async fn outcome<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    limit: u64,
) -> Result<(Vec<String>, Vec<String>)> {
    let escalated = escalation::Entity::find()
        .select_only()
        .column(escalation::Column::AccountId)
        .filter(escalation::Column::AdvisoryId.eq(advisory_id))
        .filter(escalation::Column::Administrators.gt(0))
        .order_by_asc(escalation::Column::AccountId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let backend = db.get_database_backend();
    let p = portal_runtime::db::placeholders(backend, 3);
    let sql = format!(
        "SELECT e.account_id FROM escalations e WHERE e.advisory_id = {id} \
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.advisory_id = e.advisory_id \
             AND d.account_id = e.account_id AND d.reminder = 0 AND d.state <> {dead}) \
         ORDER BY e.account_id LIMIT {limit}",
        id = p[0],
        dead = p[1],
        limit = p[2],
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [advisory_id.into(), "DEAD".into(), limit.into()],
        ))
        .await?;
    let unreachable = rows
        .iter()
        .map(|row| row.try_get::<String>("", "account_id"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((escalated, unreachable))
}

/// N10: up to `limit` accounts with rows of `advisory_id`, after account `after`, in id order.
pub async fn account_page<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<String>> {
    let mut query = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::AccountId)
        .distinct()
        .filter(delivery::Column::AdvisoryId.eq(advisory_id));
    if let Some(after) = after {
        query = query.filter(delivery::Column::AccountId.gt(after));
    }
    Ok(query
        .order_by_asc(delivery::Column::AccountId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

#[derive(Debug, FromQueryResult)]
struct Group {
    account_id: String,
    account_name: String,
    escalation: bool,
    fallback: bool,
    state: DeliveryState,
    n: i64,
}

/// N8/N10: the ledger of each of `account_ids` for `advisory_id`, with the account's name.
pub async fn ledgers<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    account_ids: &[String],
) -> Result<BTreeMap<String, (String, AccountLedger)>> {
    let groups = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::AccountId)
        .column(delivery::Column::AccountName)
        .column(delivery::Column::Escalation)
        .column(delivery::Column::Fallback)
        .column(delivery::Column::State)
        .column_as(delivery::Column::DeliveryId.count(), "n")
        .filter(delivery::Column::AdvisoryId.eq(advisory_id))
        .filter(delivery::Column::AccountId.is_in(account_ids.iter().cloned()))
        // Coverage is about the advisory itself; reminders (N9) come after.
        .filter(delivery::Column::Reminder.eq(0))
        .group_by(delivery::Column::AccountId)
        .group_by(delivery::Column::AccountName)
        .group_by(delivery::Column::Escalation)
        .group_by(delivery::Column::Fallback)
        .group_by(delivery::Column::State)
        .into_model::<Group>()
        .all(db)
        .await?;
    let claimed: Vec<String> = escalation::Entity::find()
        .select_only()
        .column(escalation::Column::AccountId)
        .filter(escalation::Column::AdvisoryId.eq(advisory_id))
        .filter(escalation::Column::AccountId.is_in(account_ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    let mut ledgers: BTreeMap<String, (String, AccountLedger)> = BTreeMap::new();
    for account_id in claimed {
        ledgers.entry(account_id).or_default().1.escalation = Some(Default::default());
    }
    for g in groups {
        let (name, ledger) = ledgers.entry(g.account_id).or_default();
        if name.is_empty() || !g.escalation {
            *name = g.account_name;
        }
        if g.escalation {
            ledger
                .escalation
                .get_or_insert_with(Default::default)
                .add(g.state, g.n);
        } else {
            ledger.fallback |= g.fallback;
            ledger.designated.add(g.state, g.n);
        }
    }
    Ok(ledgers)
}
