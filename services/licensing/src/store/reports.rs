//! Activation summary reports (L10): the account's once-a-day slot, and the stored reports.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr,
};

use super::{report, report_quota, stored_count, to_column};
use crate::{
    domain::report::Report,
    error::{Error, Result},
};

fn report_from_row(row: report::Model) -> Result<Report> {
    Ok(Report {
        row_count: stored_count(row.row_count, "report row count")?,
        report_id: row.report_id,
        account_id: row.account_id,
        requester_user_id: row.requester_user_id,
        csv: row.csv,
        create_time: row.create_time,
    })
}

/// L10: claims the account's report slot at `now`, atomically: the update succeeds only when the last report
/// was at or before `window_start`, the insert only for an account's first report, so two racing requests
/// cannot both pass. False when the slot is taken.
pub async fn claim_report_slot<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    now: DateTime<Utc>,
    window_start: DateTime<Utc>,
) -> Result<bool> {
    let claimed = report_quota::Entity::update_many()
        .col_expr(report_quota::Column::LastTime, Expr::value(now))
        .filter(report_quota::Column::AccountId.eq(account_id))
        .filter(report_quota::Column::LastTime.lte(window_start))
        .exec(db)
        .await?
        .rows_affected;
    if claimed > 0 {
        return Ok(true);
    }
    let held = report_quota::Entity::find_by_id(account_id.to_string())
        .one(db)
        .await?;
    if held.is_some() {
        return Ok(false);
    }
    let first = report_quota::ActiveModel {
        account_id: Set(account_id.into()),
        last_time: Set(now),
    };
    match report_quota::Entity::insert(first).exec(db).await {
        Ok(_) => Ok(true),
        Err(e) if portal_runtime::idempotency::is_conflict(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn insert_report<C: ConnectionTrait>(db: &C, report: &Report) -> Result<()> {
    report::ActiveModel {
        report_id: Set(report.report_id.clone()),
        account_id: Set(report.account_id.clone()),
        requester_user_id: Set(report.requester_user_id.clone()),
        row_count: Set(to_column(report.row_count)?),
        csv: Set(report.csv.clone()),
        create_time: Set(report.create_time),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The report, or `None`: whether that is "not found" or "not yours" depends on who asks.
pub async fn find_report<C: ConnectionTrait>(db: &C, report_id: &str) -> Result<Option<Report>> {
    report::Entity::find_by_id(report_id.to_string())
        .one(db)
        .await?
        .map(report_from_row)
        .transpose()
}

/// The report a replayed request made.
pub async fn get_report<C: ConnectionTrait>(db: &C, report_id: &str) -> Result<Report> {
    find_report(db, report_id)
        .await?
        .ok_or(Error::ReportNotFound)
}
