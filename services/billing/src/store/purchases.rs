//! The purchases table (B3): a purchase written with its invoice, read back as the domain's [`Purchase`], and
//! the guarded transitions out of `PENDING` that make fulfilment happen exactly once however many attempts race.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, UpdateMany,
    sea_query::{Expr, ExprTrait},
};

use super::entity::{enums, purchase};
use crate::{
    domain::{Purchase, PurchaseState, purchase::Issued},
    error::{Error, Result},
};

fn purchase_of(row: purchase::Model) -> Result<Purchase> {
    let what = format!("purchase {}", row.purchase_id);
    Ok(Purchase {
        key_ids: super::ids_from_json(&row.key_ids, &format!("key ids of {what}"))?,
        revoked_key_ids: super::ids_from_json(
            &row.revoked_key_ids,
            &format!("revoked key ids of {what}"),
        )?,
        compensation_pending: row.compensation_pending,
        elearning_codes: super::ids_from_json(
            &row.elearning_codes,
            &format!("eLearning codes of {what}"),
        )?,
        site_ids: super::ids_from_json(&row.site_ids, &format!("site ids of {what}"))?,
        no_administrator_notified: row.no_administrator_notified,
        state: row.state.into(),
        purchase_id: row.purchase_id,
        account_id: row.account_id,
        invoice_id: row.invoice_id,
        failure_reason: row.failure_reason,
        create_time: row.create_time,
        update_time: row.update_time,
    })
}

pub async fn insert<C: ConnectionTrait>(db: &C, purchase: &Purchase) -> Result<()> {
    purchase::ActiveModel {
        purchase_id: Set(purchase.purchase_id.clone()),
        account_id: Set(purchase.account_id.clone()),
        state: Set(purchase.state.into()),
        invoice_id: Set(purchase.invoice_id.clone()),
        key_ids: Set(super::ids_to_json(&purchase.key_ids)?),
        elearning_codes: Set(super::ids_to_json(&purchase.elearning_codes)?),
        failure_reason: Set(purchase.failure_reason.clone()),
        attempts: Set(0),
        site_ids: Set(super::ids_to_json(&purchase.site_ids)?),
        no_administrator_notified: Set(purchase.no_administrator_notified),
        revoked_key_ids: Set(super::ids_to_json(&purchase.revoked_key_ids)?),
        compensation_pending: Set(purchase.compensation_pending),
        create_time: Set(purchase.create_time),
        update_time: Set(purchase.update_time),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn find<C: ConnectionTrait>(db: &C, purchase_id: &str) -> Result<Purchase> {
    purchase::Entity::find_by_id(purchase_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::PurchaseNotFound)
        .and_then(purchase_of)
}

/// The `limit` purchases still waiting for licensing that were tried least recently.
pub async fn pending<C: ConnectionTrait>(db: &C, limit: u64) -> Result<Vec<Purchase>> {
    let query = purchase::Entity::find()
        .filter(purchase::Column::State.eq(enums::PurchaseState::Pending))
        // Least recently tried first (every attempt touches update_time): a backlog is served round-robin.
        .order_by_asc(purchase::Column::UpdateTime)
        .limit(limit);
    super::read_all(db, query, purchase_of).await
}

/// B9: the `limit` failed purchases whose issued keys are still to be revoked, least recently touched first.
pub async fn compensation_due<C: ConnectionTrait>(db: &C, limit: u64) -> Result<Vec<Purchase>> {
    let query = purchase::Entity::find()
        .filter(purchase::Column::State.eq(enums::PurchaseState::Failed))
        .filter(purchase::Column::CompensationPending.eq(true))
        .order_by_asc(purchase::Column::UpdateTime)
        .limit(limit);
    super::read_all(db, query, purchase_of).await
}

/// B9: records that every key of a failed purchase in `revoked` is revoked, exactly once however many attempts
/// race; `false` if another got there first. The statement is its transaction's first write.
pub async fn finish_compensation<C: ConnectionTrait>(
    db: &C,
    purchase_id: &str,
    revoked: &[String],
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = purchase::Entity::update_many()
        .col_expr(
            purchase::Column::RevokedKeyIds,
            Expr::value(super::ids_to_json(revoked)?),
        )
        .col_expr(purchase::Column::CompensationPending, Expr::value(false))
        .col_expr(purchase::Column::UpdateTime, Expr::value(now))
        .filter(purchase::Column::PurchaseId.eq(purchase_id))
        .filter(purchase::Column::CompensationPending.eq(true))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// An update of the purchase while it is still pending: a guard, so each move out of `PENDING` happens once.
fn while_pending(purchase_id: &str) -> UpdateMany<purchase::Entity> {
    purchase::Entity::update_many()
        .filter(purchase::Column::PurchaseId.eq(purchase_id))
        .filter(purchase::Column::State.eq(enums::PurchaseState::Pending))
}

/// Moves a pending purchase to `state`, with what `update` (a [`while_pending`]) sets too; `false` if another
/// attempt moved it first. The statement is its transaction's first write.
async fn leave_pending<C: ConnectionTrait>(
    db: &C,
    update: UpdateMany<purchase::Entity>,
    state: PurchaseState,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = update
        .col_expr(
            purchase::Column::State,
            Expr::value(enums::PurchaseState::from(state)),
        )
        .col_expr(purchase::Column::UpdateTime, Expr::value(now))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Counts a fulfilment attempt that found licensing unavailable.
pub async fn note_attempt<C: ConnectionTrait>(
    db: &C,
    purchase_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    while_pending(purchase_id)
        .col_expr(
            purchase::Column::Attempts,
            Expr::col(purchase::Column::Attempts).add(1),
        )
        .col_expr(purchase::Column::UpdateTime, Expr::value(now))
        .exec(db)
        .await?;
    Ok(())
}

/// PENDING → FULFILLED with what licensing issued, exactly once (with its audit event) however many attempts
/// race; `false` if another got there first.
pub async fn complete<C: ConnectionTrait>(
    db: &C,
    purchase_id: &str,
    issued: &Issued,
    now: DateTime<Utc>,
) -> Result<bool> {
    let update = while_pending(purchase_id)
        .col_expr(
            purchase::Column::KeyIds,
            Expr::value(super::ids_to_json(&issued.key_ids)?),
        )
        .col_expr(
            purchase::Column::ElearningCodes,
            Expr::value(super::ids_to_json(&issued.elearning_codes)?),
        )
        .col_expr(
            purchase::Column::SiteIds,
            Expr::value(super::ids_to_json(&issued.site_ids)?),
        )
        .col_expr(
            purchase::Column::NoAdministratorNotified,
            Expr::value(issued.no_administrator_notified),
        );
    leave_pending(db, update, PurchaseState::Fulfilled, now).await
}

/// PENDING → FAILED with why and what licensing issued before it refused (B9: its keys are then to be revoked,
/// which the same statement records as pending); `false` if the purchase was no longer pending.
pub async fn fail<C: ConnectionTrait>(
    db: &C,
    purchase_id: &str,
    reason: &str,
    issued: &Issued,
    now: DateTime<Utc>,
) -> Result<bool> {
    let update = while_pending(purchase_id)
        .col_expr(purchase::Column::FailureReason, Expr::value(reason))
        .col_expr(
            purchase::Column::KeyIds,
            Expr::value(super::ids_to_json(&issued.key_ids)?),
        )
        .col_expr(
            purchase::Column::ElearningCodes,
            Expr::value(super::ids_to_json(&issued.elearning_codes)?),
        )
        .col_expr(
            purchase::Column::CompensationPending,
            Expr::value(!issued.key_ids.is_empty()),
        );
    leave_pending(db, update, PurchaseState::Failed, now).await
}
