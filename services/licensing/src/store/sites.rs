//! Cloud site seats (B11): which key put how many Creator seats on which site, the per-account row that
//! serialises provisioning, and the seats whose key is no longer live.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, OnConflict, Query},
};

use super::{cloud_site_lock, column, key, site_seat, stored_count, to_column};
use crate::{
    domain::site::SiteSeats,
    error::{Error, Result},
};

fn seats_from_row(row: site_seat::Model) -> Result<SiteSeats> {
    Ok(SiteSeats {
        creator_seats: stored_count(row.creator_seats, "creator seats")?,
        administrators_notified: u32::try_from(row.administrators_notified).map_err(|_| {
            Error::internal(format!(
                "negative administrators notified in the site seats of {}",
                row.key_id
            ))
        })?,
        key_id: row.key_id,
        deployment_id: row.deployment_id,
        account_id: row.account_id,
        purchase_id: (!row.purchase_id.is_empty()).then_some(row.purchase_id),
        create_time: row.create_time,
        end_time: row.end_time,
    })
}

/// B11: serialises the provisioning of one account's cloud site, so two purchases never create two sites.
/// Its first write in the caller's transaction (after the idempotency claim).
pub async fn lock_account<C: ConnectionTrait>(db: &C, account_id: &str) -> Result<()> {
    let row = cloud_site_lock::ActiveModel {
        account_id: Set(account_id.to_string()),
        revision: Set(0),
    };
    // A concurrent first insert waits for the other transaction and then does nothing.
    let inserted = cloud_site_lock::Entity::insert(row)
        .on_conflict(
            OnConflict::column(cloud_site_lock::Column::AccountId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await;
    match inserted {
        Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => {}
        Err(e) => return Err(e.into()),
    }
    portal_runtime::db::lock_row::<cloud_site_lock::Entity, _>(
        db,
        cloud_site_lock::Column::AccountId,
        cloud_site_lock::Column::Revision,
        account_id,
    )
    .await?;
    Ok(())
}

/// B11: the seats `key_id` put on a site, if it put any (live or ended).
pub async fn seats_of_key<C: ConnectionTrait>(db: &C, key_id: &str) -> Result<Option<SiteSeats>> {
    site_seat::Entity::find_by_id(key_id.to_string())
        .one(db)
        .await?
        .map(seats_from_row)
        .transpose()
}

pub async fn insert_seats<C: ConnectionTrait>(db: &C, seats: &SiteSeats) -> Result<()> {
    site_seat::ActiveModel {
        key_id: Set(seats.key_id.clone()),
        deployment_id: Set(seats.deployment_id.clone()),
        account_id: Set(seats.account_id.clone()),
        purchase_id: Set(seats.purchase_id.clone().unwrap_or_default()),
        creator_seats: Set(to_column(seats.creator_seats)?),
        administrators_notified: Set(
            i32::try_from(seats.administrators_notified).unwrap_or(i32::MAX)
        ),
        create_time: Set(seats.create_time),
        end_time: Set(seats.end_time),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// B11: marks the seats of `key_id` as having left their site; `false` if they had already left.
pub async fn end_seats<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = site_seat::Entity::update_many()
        .col_expr(site_seat::Column::EndTime, Expr::value(Some(now)))
        .filter(site_seat::Column::KeyId.eq(key_id))
        .filter(site_seat::Column::EndTime.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// B11: up to `limit` keys that are no longer live (expired or revoked) whose seats are still on a site.
pub async fn keys_with_stale_seats<C: ConnectionTrait>(db: &C, limit: u64) -> Result<Vec<String>> {
    let dead_keys = Query::select()
        .column(key::Column::KeyId)
        .from(key::Entity)
        .and_where(key::Column::State.ne(column::KeyState::Active))
        .to_owned();
    Ok(site_seat::Entity::find()
        .select_only()
        .column(site_seat::Column::KeyId)
        .filter(site_seat::Column::EndTime.is_null())
        .filter(site_seat::Column::KeyId.in_subquery(dead_keys))
        .order_by_asc(site_seat::Column::KeyId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}
