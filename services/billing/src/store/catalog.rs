//! The catalog table (B2): seeding it from the shipped file, reading SKUs for listing and pricing, and the
//! changes UpdateSku makes under the SKU row's lock.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use portal_runtime::{db, idempotency};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::entity::sku;
use crate::{
    domain::{Grant, Money, Sku, catalog::Listed},
    error::Result,
};

/// The columns a SKU sets; the bookkeeping ones (revision, times) are left to the caller.
fn columns(sku: &Sku) -> sku::ActiveModel {
    sku::ActiveModel {
        sku: Set(sku.code.clone()),
        description: Set(sku.description.trim().to_string()),
        unit_price_minor: Set(sku.unit_price.minor),
        currency: Set(sku.unit_price.currency.as_str().to_string()),
        product: Set(sku.grant.product),
        family: Set(sku.grant.family),
        seats: Set(sku.grant.seats),
        license_type: Set(sku.grant.license_type),
        term_months: Set(sku.grant.term_months),
        maintenance_months: Set(sku.grant.maintenance_months),
        lblm_enabled: Set(sku.grant.lblm_enabled),
        creator_seats: Set(sku.grant.creator_seats),
        active: Set(sku.active),
        revision: NotSet,
        create_time: NotSet,
        update_time: NotSet,
    }
}

/// The domain SKU of a stored row.
fn sku_of(row: sku::Model) -> Result<Sku> {
    let currency = super::currency(&row.currency, &format!("SKU {}", row.sku))?;
    Ok(Sku {
        unit_price: Money::new(row.unit_price_minor, currency),
        grant: Grant {
            product: row.product,
            family: row.family,
            seats: row.seats,
            license_type: row.license_type,
            term_months: row.term_months,
            maintenance_months: row.maintenance_months,
            lblm_enabled: row.lblm_enabled,
            creator_seats: row.creator_seats,
        },
        active: row.active,
        code: row.sku,
        description: row.description,
    })
}

fn listed(row: sku::Model) -> Result<Listed> {
    let update_time = row.update_time;
    Ok(Listed {
        sku: sku_of(row)?,
        update_time,
    })
}

/// B2: adds the SKUs of the shipped catalog that are not in the table yet; existing rows (perhaps edited with
/// UpdateSku) are left alone. Safe to run from several replicas at once.
pub async fn seed(db: &DatabaseConnection, skus: &[Sku]) -> Result<usize> {
    let now = Utc::now();
    let mut added = 0;
    for sku in skus {
        if sku::Entity::find_by_id(sku.code.clone())
            .one(db)
            .await?
            .is_some()
        {
            continue;
        }
        match new_row(sku, now).insert(db).await {
            Ok(_) => added += 1,
            // Another replica seeded it first.
            Err(e) if idempotency::is_conflict(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(added)
}

fn new_row(sku: &Sku, now: DateTime<Utc>) -> sku::ActiveModel {
    sku::ActiveModel {
        revision: Set(0),
        create_time: Set(now),
        update_time: Set(now),
        ..columns(sku)
    }
}

/// Adds a SKU.
pub async fn insert<C: ConnectionTrait>(db: &C, sku: &Sku, now: DateTime<Utc>) -> Result<Listed> {
    listed(new_row(sku, now).insert(db).await?)
}

/// Writes every field of a SKU that exists (under its lock, see [`lock`]).
pub async fn update<C: ConnectionTrait>(db: &C, sku: &Sku, now: DateTime<Utc>) -> Result<Listed> {
    let row = sku::ActiveModel {
        update_time: Set(now),
        ..columns(sku)
    };
    listed(row.update(db).await?)
}

/// Takes the SKU row's lock as the transaction's first write; `None` if there is no such SKU.
pub async fn lock<C: ConnectionTrait>(db: &C, code: &str) -> Result<Option<Sku>> {
    db::lock_row::<sku::Entity, _>(db, sku::Column::Sku, sku::Column::Revision, code)
        .await?
        .map(sku_of)
        .transpose()
}

/// The catalog ordered by SKU code, retired SKUs only when asked.
pub async fn list<C: ConnectionTrait>(db: &C, include_inactive: bool) -> Result<Vec<Listed>> {
    let mut query = sku::Entity::find();
    if !include_inactive {
        query = query.filter(sku::Column::Active.eq(true));
    }
    let query = query.order_by_asc(sku::Column::Sku);
    super::read_all(db, query, listed).await
}

/// The SKUs named in an order, by code (unknown codes are simply absent).
pub async fn by_code<C: ConnectionTrait>(db: &C, codes: &[String]) -> Result<HashMap<String, Sku>> {
    sku::Entity::find()
        .filter(sku::Column::Sku.is_in(codes.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| Ok((row.sku.clone(), sku_of(row)?)))
        .collect()
}
