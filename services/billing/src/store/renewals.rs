//! The renewals table (B8): a renewal written with its invoice, read back as the domain's [`Renewal`], paged in
//! renewal-date order, changed under the renewal row's lock, and the renewals whose keys still wait for
//! licensing to refresh them.

use chrono::{DateTime, Utc};
use portal_runtime::db;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};

use super::entity::renewal;
use crate::{
    domain::{Renewal, calendar::b10_next_due},
    error::{Error, Result},
};

fn renewal_of(row: renewal::Model) -> Result<Renewal> {
    let milestones_done = u8::try_from(row.milestones_done).map_err(|_| {
        Error::internal(format!(
            "renewal {}: milestones {}",
            row.renewal_id, row.milestones_done
        ))
    })?;
    Ok(Renewal {
        key_ids: super::ids_from_json(
            &row.key_ids,
            &format!("key ids of renewal {}", row.renewal_id),
        )?,
        state: row.state.into(),
        renewal_id: row.renewal_id,
        account_id: row.account_id,
        renewal_date: row.renewal_date,
        term_months: row.term_months,
        auto_renew: row.auto_renew,
        invoice_id: row.invoice_id,
        refresh_pending: row.refresh_pending,
        refresh_error: row.refresh_error,
        milestones_done,
        renewed_automatically: row.renewed_automatically,
        next_renewal_id: row.next_renewal_id,
        create_time: row.create_time,
        update_time: row.update_time,
    })
}

/// The paging key of a renewal: soonest renewal date first, ties by id.
pub fn sort_key(renewal: &Renewal) -> String {
    format!(
        "{:012}|{}",
        Ord::max(renewal.renewal_date.timestamp(), 0),
        renewal.renewal_id
    )
}

pub async fn insert<C: ConnectionTrait>(db: &C, renewal: &Renewal) -> Result<()> {
    renewal::ActiveModel {
        renewal_id: Set(renewal.renewal_id.clone()),
        account_id: Set(renewal.account_id.clone()),
        key_ids: Set(super::ids_to_json(&renewal.key_ids)?),
        renewal_date: Set(renewal.renewal_date),
        term_months: Set(renewal.term_months),
        auto_renew: Set(renewal.auto_renew),
        invoice_id: Set(renewal.invoice_id.clone()),
        state: Set(renewal.state.into()),
        refresh_pending: Set(renewal.refresh_pending),
        refresh_error: Set(renewal.refresh_error.clone()),
        sort_key: Set(sort_key(renewal)),
        milestones_done: Set(renewal.milestones_done.into()),
        next_due_time: Set(b10_next_due(renewal.renewal_date, renewal.milestones_done)),
        renewed_automatically: Set(renewal.renewed_automatically),
        next_renewal_id: Set(renewal.next_renewal_id.clone()),
        revision: Set(0),
        create_time: Set(renewal.create_time),
        update_time: Set(renewal.update_time),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn find<C: ConnectionTrait>(db: &C, renewal_id: &str) -> Result<Renewal> {
    renewal::Entity::find_by_id(renewal_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::RenewalNotFound)
        .and_then(renewal_of)
}

/// Takes the renewal row's lock as a write of the transaction; returns the renewal.
pub async fn lock<C: ConnectionTrait>(db: &C, renewal_id: &str) -> Result<Renewal> {
    db::lock_row::<renewal::Entity, _>(
        db,
        renewal::Column::RenewalId,
        renewal::Column::Revision,
        renewal_id,
    )
    .await?
    .ok_or(Error::RenewalNotFound)
    .and_then(renewal_of)
}

/// Writes what auto-renew, a payment, a void or the renewal date (B10) changes (auto-renew, state, the pending
/// refresh, the next term).
pub async fn save<C: ConnectionTrait>(db: &C, renewal: &Renewal) -> Result<()> {
    renewal::ActiveModel {
        renewal_id: Set(renewal.renewal_id.clone()),
        auto_renew: Set(renewal.auto_renew),
        state: Set(renewal.state.into()),
        refresh_pending: Set(renewal.refresh_pending),
        renewed_automatically: Set(renewal.renewed_automatically),
        next_renewal_id: Set(renewal.next_renewal_id.clone()),
        update_time: Set(renewal.update_time),
        milestones_done: NotSet,
        next_due_time: NotSet,
        account_id: NotSet,
        key_ids: NotSet,
        renewal_date: NotSet,
        term_months: NotSet,
        invoice_id: NotSet,
        refresh_error: NotSet,
        sort_key: NotSet,
        revision: NotSet,
        create_time: NotSet,
    }
    .update(db)
    .await?;
    Ok(())
}

/// One page of an account's renewals, soonest renewal date first, after sort key `after`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Renewal>> {
    let mut query = renewal::Entity::find().filter(renewal::Column::AccountId.eq(account_id));
    if let Some(after) = after {
        query = query.filter(renewal::Column::SortKey.gt(after));
    }
    let query = query.order_by_asc(renewal::Column::SortKey).limit(limit);
    super::read_all(db, query, renewal_of).await
}

/// Paid renewals whose keys licensing has not refreshed yet.
pub async fn to_refresh<C: ConnectionTrait>(db: &C, limit: u64) -> Result<Vec<Renewal>> {
    let query = renewal::Entity::find()
        .filter(renewal::Column::RefreshPending.eq(true))
        .order_by_asc(renewal::Column::RenewalId)
        .limit(limit);
    super::read_all(db, query, renewal_of).await
}

/// B8: the keys of a paid renewal were refreshed (or refused, with why); `false` if another attempt finished
/// first. The statement is its transaction's first write.
pub async fn finish_refresh<C: ConnectionTrait>(
    db: &C,
    renewal_id: &str,
    error: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = renewal::Entity::update_many()
        .col_expr(renewal::Column::RefreshPending, Expr::value(false))
        .col_expr(renewal::Column::RefreshError, Expr::value(error))
        .col_expr(renewal::Column::UpdateTime, Expr::value(now))
        .filter(renewal::Column::RenewalId.eq(renewal_id))
        .filter(renewal::Column::RefreshPending.eq(true))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// B10: renewals with a milestone (reminder or renewal date) due at `now`, soonest first.
pub async fn due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Renewal>> {
    let query = renewal::Entity::find()
        .filter(renewal::Column::NextDueTime.lte(now))
        .order_by_asc(renewal::Column::NextDueTime)
        .limit(limit);
    super::read_all(db, query, renewal_of).await
}

/// B10: marks `done` milestones of the renewal handled, if `from` were handled until now; `false` when another
/// sweep (a replica) got there first. The statement is its transaction's first write, so the replica that
/// loses waits for the winner's commit and then changes nothing.
pub async fn claim_milestones<C: ConnectionTrait>(
    db: &C,
    renewal: &Renewal,
    done: u8,
) -> Result<bool> {
    let updated = renewal::Entity::update_many()
        .col_expr(
            renewal::Column::MilestonesDone,
            Expr::value(i16::from(done)),
        )
        .col_expr(
            renewal::Column::NextDueTime,
            Expr::value(b10_next_due(renewal.renewal_date, done)),
        )
        .filter(renewal::Column::RenewalId.eq(renewal.renewal_id.as_str()))
        .filter(renewal::Column::MilestonesDone.eq(i16::from(renewal.milestones_done)))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}
