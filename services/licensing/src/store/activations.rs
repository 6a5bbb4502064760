//! Activations and their pools' counters (L6): taking a fulfillment, giving it back, and the listings of an
//! account's activations (I9, L10).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};

use super::{activation, column, pool_count, stored_count, stored_product};
use crate::{
    domain::{Activation, ActivationState, Key, NewActivation, Product},
    error::{Error, Result},
};

fn activation_from_row(row: activation::Model) -> Activation {
    Activation {
        activation_id: row.activation_id,
        key_id: row.key_id,
        account_id: row.account_id,
        product: row.product,
        machine_fingerprint: row.machine_fingerprint,
        hostname: row.hostname,
        version: row.version,
        user_email: row.user_email,
        state: row.state.into(),
        create_time: row.create_time,
        last_use_time: row.last_use_time,
        deactivate_time: row.deactivate_time,
    }
}

fn is_active() -> Condition {
    Condition::all().add(activation::Column::State.eq(column::ActivationState::Active))
}

/// The machine's active fulfillment of the key's `product` pool, if it has one.
pub async fn active_activation_id<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    product: Product,
    fingerprint: &str,
) -> Result<Option<String>> {
    Ok(activation::Entity::find()
        .select_only()
        .column(activation::Column::ActivationId)
        .filter(activation::Column::KeyId.eq(key_id))
        .filter(activation::Column::Product.eq(product))
        .filter(activation::Column::MachineFingerprint.eq(fingerprint))
        .filter(is_active())
        .into_tuple()
        .one(db)
        .await?)
}

/// Writes a new activation of `key`; `None` when the machine already holds an active one on the pool (the
/// partial unique index: a concurrent activation of the same machine committed first).
pub async fn insert_activation<C: ConnectionTrait>(
    db: &C,
    key: &Key,
    new: &NewActivation,
    now: DateTime<Utc>,
) -> Result<Option<Activation>> {
    let row = activation::ActiveModel {
        activation_id: Set(portal_runtime::new_id("act")),
        key_id: Set(key.key_id.clone()),
        account_id: Set(key.account_id.clone()),
        product: Set(new.product),
        machine_fingerprint: Set(new.machine_fingerprint.clone()),
        hostname: Set(new.hostname.clone()),
        version: Set(new.version.clone()),
        user_email: Set(new.user_email.clone()),
        state: Set(ActivationState::Active.into()),
        create_time: Set(now),
        last_use_time: Set(now),
        deactivate_time: Set(None),
    };
    match row.insert(db).await {
        Ok(created) => Ok(Some(activation_from_row(created))),
        Err(e) if portal_runtime::idempotency::is_conflict(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The same machine activating again: what we know of it is refreshed; `None` if the activation is no longer
/// active (released since it was looked up).
pub async fn touch_activation<C: ConnectionTrait>(
    db: &C,
    activation_id: &str,
    new: &NewActivation,
    now: DateTime<Utc>,
) -> Result<Option<Activation>> {
    Ok(activation::Entity::update_many()
        .col_expr(
            activation::Column::Hostname,
            Expr::value(new.hostname.as_str()),
        )
        .col_expr(
            activation::Column::Version,
            Expr::value(new.version.as_str()),
        )
        .col_expr(activation::Column::LastUseTime, Expr::value(now))
        .filter(activation::Column::ActivationId.eq(activation_id))
        .filter(is_active())
        .exec_with_returning(db)
        .await?
        .pop()
        .map(activation_from_row))
}

/// L6: how many fulfillments of the key's `product` pool are taken.
pub async fn pool_used<C: ConnectionTrait>(db: &C, key_id: &str, product: Product) -> Result<u64> {
    let used: Option<i64> = pool_count::Entity::find()
        .select_only()
        .column(pool_count::Column::Used)
        .filter(pool_count::Column::KeyId.eq(key_id))
        .filter(pool_count::Column::Product.eq(product.as_str()))
        .into_tuple()
        .one(db)
        .await?;
    used.map_or(Ok(0), |n| stored_count(n, "pool counter"))
}

/// L6: takes one fulfillment from the key's `product` pool of `limit`, in one statement that also locks the
/// pool's counter row; false when the pool is empty.
pub async fn take_from_pool<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    product: Product,
    limit: u64,
) -> Result<bool> {
    if limit == 0 {
        return Ok(false);
    }
    let backend = db.get_database_backend();
    let p = portal_runtime::db::placeholders(backend, 3);
    let sql = format!(
        "INSERT INTO pool_counts (key_id, product, used) VALUES ({k}, {p}, 1) \
         ON CONFLICT (key_id, product) DO UPDATE SET used = pool_counts.used + 1 \
         WHERE pool_counts.used < {l} RETURNING used",
        k = p[0],
        p = p[1],
        l = p[2],
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [key_id.into(), product.as_str().into(), limit.into()],
    );
    Ok(db.query_one_raw(statement).await?.is_some())
}

/// L6: releases the machine's active fulfillments of the key (of `product`, or all of them); how many.
pub async fn release_machine<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    fingerprint: &str,
    product: Option<Product>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut filter = Condition::all()
        .add(activation::Column::KeyId.eq(key_id))
        .add(activation::Column::MachineFingerprint.eq(fingerprint));
    if let Some(product) = product {
        filter = filter.add(activation::Column::Product.eq(product));
    }
    deactivate_where(db, filter, now).await
}

/// L13: releases every active fulfillment of the key, of any machine and product; how many.
pub async fn release_key<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    deactivate_where(
        db,
        Condition::all().add(activation::Column::KeyId.eq(key_id)),
        now,
    )
    .await
}

/// Where a person's activations are released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within<'a> {
    /// L5 (decision): on one key, with their assignment of it.
    Key(&'a str),
    /// I8: in the whole account, when identity removes them.
    Account(&'a str),
}

/// Releases the activations the person with `email_key` holds `within` a key or an account; how many.
pub async fn release_person<C: ConnectionTrait>(
    db: &C,
    within: Within<'_>,
    email_key: &str,
) -> Result<u64> {
    let place = match within {
        Within::Key(key_id) => activation::Column::KeyId.eq(key_id),
        Within::Account(account_id) => activation::Column::AccountId.eq(account_id),
    };
    let filter = Condition::all()
        .add(place)
        .add(activation::Column::UserEmail.eq(email_key));
    deactivate_where(db, filter, Utc::now()).await
}

/// Releases active fulfillments (matching `filter`) with a deactivation time, and gives them back to their
/// pools in the same transaction; returns how many.
async fn deactivate_where<C: ConnectionTrait>(
    db: &C,
    filter: Condition,
    now: DateTime<Utc>,
) -> Result<u64> {
    let released = activation::Entity::update_many()
        .col_expr(
            activation::Column::State,
            Expr::value(column::ActivationState::Deactivated),
        )
        .col_expr(activation::Column::DeactivateTime, Expr::value(Some(now)))
        .filter(is_active())
        .filter(filter)
        .exec_with_returning(db)
        .await?;
    // Counter rows are touched in one order, so transactions releasing several pools cannot deadlock.
    let mut per_pool: BTreeMap<(String, &'static str), i64> = BTreeMap::new();
    for row in &released {
        let product = row.product.as_str();
        *per_pool.entry((row.key_id.clone(), product)).or_default() += 1;
    }
    for ((key_id, product), n) in per_pool {
        let updated = pool_count::Entity::update_many()
            .col_expr(
                pool_count::Column::Used,
                Expr::col(pool_count::Column::Used).sub(n),
            )
            .filter(pool_count::Column::KeyId.eq(key_id.as_str()))
            .filter(pool_count::Column::Product.eq(product))
            .exec(db)
            .await?;
        if updated.rows_affected != 1 {
            return Err(Error::internal(format!(
                "pool counter missing for a released fulfillment of key {key_id}"
            )));
        }
    }
    Ok(released.len() as u64)
}

/// L6: active fulfillments per key and product, from the pools' counters.
pub async fn pool_usage<C: ConnectionTrait>(
    db: &C,
    key_ids: &[String],
) -> Result<HashMap<(String, Product), u64>> {
    let rows = pool_count::Entity::find()
        .filter(pool_count::Column::KeyId.is_in(key_ids.iter().cloned()))
        .filter(pool_count::Column::Used.gt(0))
        .all(db)
        .await?;
    rows.into_iter()
        .map(|r| {
            let product = stored_product(&r.product)?;
            Ok(((r.key_id, product), stored_count(r.used, "pool counter")?))
        })
        .collect()
}

/// Which activations of an account a listing shows.
#[derive(Debug, Clone, Default)]
pub struct ActivationFilter<'a> {
    pub key_id: Option<&'a str>,
    pub show_deactivated: bool,
    pub after: Option<&'a str>,
    pub limit: Option<u64>,
}

/// The account's activations matching `filter`, by activation id.
pub async fn list_activations<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    filter: &ActivationFilter<'_>,
) -> Result<Vec<Activation>> {
    let mut query = activation::Entity::find().filter(activation::Column::AccountId.eq(account_id));
    if let Some(key_id) = filter.key_id {
        query = query.filter(activation::Column::KeyId.eq(key_id));
    }
    if !filter.show_deactivated {
        query = query.filter(is_active());
    }
    if let Some(after) = filter.after {
        query = query.filter(activation::Column::ActivationId.gt(after));
    }
    let mut query = query.order_by_asc(activation::Column::ActivationId);
    if let Some(limit) = filter.limit {
        query = query.limit(limit);
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .map(activation_from_row)
        .collect())
}
