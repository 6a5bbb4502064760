//! Keys (L1–L5, L7): issuing, finding, locking, owners, dates, listings by visibility (L12) and the expiry
//! sweep's statement; and assignments (L5).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};

use super::{activations, assignment, column, key, stored_count, to_column};
use crate::{
    domain::{
        Key, KeyScope, KeyState, KeyString, LicenseType, NewKeys, Refreshed, Revocation,
        RevocationPlan, Revoked,
    },
    error::{Error, Result},
};

fn key_from_row(row: key::Model) -> Result<Key> {
    let revoked = match (row.revoke_reason, row.revoke_time) {
        (Some(reason), Some(time)) => Some(Revoked { reason, time }),
        (None, None) => None,
        _ => {
            return Err(Error::internal(format!(
                "key {} has half a revocation",
                row.key_id
            )));
        }
    };
    let string = KeyString::parse("key", &row.key)
        .map_err(|_| Error::internal(format!("key {} has a malformed key string", row.key_id)))?;
    Ok(Key {
        seats: stored_count(row.seats, "seats")?,
        key: string,
        key_id: row.key_id,
        account_id: row.account_id,
        family: row.family,
        license_type: row.license_type,
        period_end: row.period_end,
        maintenance_end: row.maintenance_end,
        state: row.state.into(),
        owner_user_id: row.owner_user_id,
        lblm_enabled: row.lblm_enabled,
        deployment_id: row.deployment_id,
        purchase_id: row.purchase_id,
        revoked,
        create_time: row.create_time,
        update_time: row.update_time,
    })
}

fn keys_from_rows(rows: Vec<key::Model>) -> Result<Vec<Key>> {
    rows.into_iter().map(key_from_row).collect()
}

pub async fn find_key<C: ConnectionTrait>(db: &C, key_id: &str) -> Result<Key> {
    let row = key::Entity::find_by_id(key_id.to_string()).one(db).await?;
    key_from_row(row.ok_or(Error::KeyNotFound)?)
}

pub async fn find_key_by_string<C: ConnectionTrait>(db: &C, key: &KeyString) -> Result<Key> {
    let row = key::Entity::find()
        .filter(key::Column::Key.eq(key.as_str()))
        .one(db)
        .await?;
    key_from_row(row.ok_or(Error::KeyNotFound)?)
}

/// Serialises mutations of one key: the transaction's first write takes the key row's lock (PostgreSQL row
/// lock, SQLite write lock), so seat and pool checks cannot interleave (L5, L6). Returns the locked key.
pub async fn lock_key<C: ConnectionTrait>(db: &C, key_id: &str) -> Result<Key> {
    let row = portal_runtime::db::lock_row::<key::Entity, _>(
        db,
        key::Column::KeyId,
        key::Column::Revision,
        key_id,
    )
    .await?;
    key_from_row(row.ok_or(Error::KeyNotFound)?)
}

/// The keys of an issue (L3), for a replayed request.
pub async fn keys_of_batch<C: ConnectionTrait>(db: &C, batch_id: &str) -> Result<Vec<Key>> {
    keys_from_rows(
        key::Entity::find()
            .filter(key::Column::BatchId.eq(batch_id))
            .all(db)
            .await?,
    )
}

/// Keys by id, for listings that show a key's last group next to its activations.
pub async fn keys_by_id<C: ConnectionTrait>(
    db: &C,
    key_ids: Vec<String>,
) -> Result<HashMap<String, Key>> {
    let rows = key::Entity::find()
        .filter(key::Column::KeyId.is_in(key_ids))
        .all(db)
        .await?;
    keys_from_rows(rows).map(|keys| keys.into_iter().map(|k| (k.key_id.clone(), k)).collect())
}

async fn key_string_taken<C: ConnectionTrait>(db: &C, key: &KeyString) -> Result<bool> {
    Ok(key::Entity::find()
        .filter(key::Column::Key.eq(key.as_str()))
        .count(db)
        .await?
        > 0)
}

/// L1, L3: writes `new.count` fresh keys of one issue. A key string is unique: one already taken (astronomically
/// rare, 34^18) is drawn again.
pub async fn insert_keys<C: ConnectionTrait>(
    db: &C,
    new: &NewKeys,
    batch_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Key>> {
    let mut keys = Vec::new();
    for _ in 0..new.count {
        let mut string = KeyString::generate(new.family);
        while key_string_taken(db, &string).await? {
            string = KeyString::generate(new.family);
        }
        let row = key::ActiveModel {
            key_id: Set(portal_runtime::new_id("key")),
            key: Set(string.as_str().into()),
            account_id: Set(new.account_id.clone()),
            family: Set(new.family),
            seats: Set(to_column(new.seats)?),
            license_type: Set(new.license_type),
            period_end: Set(new.period_end),
            maintenance_end: Set(new.maintenance_end),
            state: Set(KeyState::Active.into()),
            owner_user_id: Set(None),
            lblm_enabled: Set(new.lblm_enabled),
            deployment_id: Set(None),
            purchase_id: Set(new.purchase_id.clone()),
            revoke_reason: Set(None),
            revoke_time: Set(None),
            batch_id: Set(batch_id.into()),
            revision: Set(0),
            create_time: Set(now),
            update_time: Set(now),
        }
        .insert(db)
        .await?;
        tracing::info!(key = %string, account_id = %new.account_id, "issued key");
        keys.push(key_from_row(row)?);
    }
    Ok(keys)
}

/// L4: sets or clears the owner of a (locked) key.
pub async fn set_owner<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    owner_user_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Key> {
    update_key(db, key_id, |row| {
        row.owner_user_id = Set(owner_user_id.map(str::to_string));
        row.update_time = Set(now);
    })
    .await
}

/// L7: moves the dates of a (locked) key.
pub async fn set_dates<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    dates: &Refreshed,
    now: DateTime<Utc>,
) -> Result<Key> {
    update_key(db, key_id, |row| {
        row.period_end = Set(dates.period_end);
        row.maintenance_end = Set(dates.maintenance_end);
        row.update_time = Set(now);
    })
    .await
}

async fn update_key<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    change: impl FnOnce(&mut key::ActiveModel),
) -> Result<Key> {
    let mut row = key::ActiveModel {
        key_id: sea_orm::ActiveValue::Unchanged(key_id.to_string()),
        ..Default::default()
    };
    change(&mut row);
    key_from_row(row.update(db).await?)
}

/// L13: the store's part of a revocation plan, executed on the (locked) key in the caller's transaction: its
/// active activations go back to their pools, its assignments are removed, and the key becomes `REVOKED`.
pub async fn revoke<C: ConnectionTrait>(db: &C, plan: &RevocationPlan) -> Result<Revocation> {
    let key_id = plan.key_id.as_str();
    let released_activations = if plan.release_activations {
        activations::release_key(db, key_id, plan.revoked.time).await?
    } else {
        0
    };
    let assignees = if plan.remove_assignments {
        remove_assignments(db, key_id).await?
    } else {
        Vec::new()
    };
    let now = plan.revoked.time;
    let key = update_key(db, key_id, |row| {
        row.state = Set(KeyState::Revoked.into());
        row.revoke_reason = Set(Some(plan.revoked.reason.clone()));
        row.revoke_time = Set(Some(now));
        row.update_time = Set(now);
    })
    .await?;
    tracing::info!(key = %key.key, account_id = %key.account_id, "revoked key");
    Ok(Revocation::Revoked {
        key,
        was: plan.was,
        assignees,
        released_activations,
    })
}

/// L13: locks the key, plans its revocation ([`crate::domain::l13_plan`]) and executes the store's part, as the
/// application layer does around it.
#[cfg(test)]
pub async fn revoke_key<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Revocation> {
    let current = lock_key(db, key_id).await?;
    match crate::domain::l13_plan(&current, reason, now) {
        None => Ok(Revocation::AlreadyRevoked(current)),
        Some(plan) => revoke(db, &plan).await,
    }
}

/// L13: removes every assignment of the key; the e-mails it was assigned to, in the order they were assigned.
async fn remove_assignments<C: ConnectionTrait>(db: &C, key_id: &str) -> Result<Vec<String>> {
    let assignees = assignees(db, &[key_id.to_string()])
        .await?
        .remove(key_id)
        .unwrap_or_default();
    assignment::Entity::delete_many()
        .filter(assignment::Column::KeyId.eq(key_id))
        .exec(db)
        .await?;
    Ok(assignees)
}

/// L12: a page of the keys of `account_id` in `scope`, by key id after `after`.
pub async fn list_keys<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    scope: &KeyScope,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Key>> {
    let mut query = key::Entity::find().filter(key::Column::AccountId.eq(account_id));
    if let KeyScope::Holder { user_id, email_key } = scope {
        let assigned: Vec<String> = assignment::Entity::find()
            .select_only()
            .column(assignment::Column::KeyId)
            .filter(assignment::Column::AccountId.eq(account_id))
            .filter(assignment::Column::EmailKey.eq(email_key.as_str()))
            .into_tuple()
            .all(db)
            .await?;
        query = query.filter(
            Condition::any()
                .add(key::Column::OwnerUserId.eq(user_id.as_str()))
                .add(key::Column::KeyId.is_in(assigned)),
        );
    }
    if let Some(after) = after {
        query = query.filter(key::Column::KeyId.gt(after));
    }
    keys_from_rows(
        query
            .order_by_asc(key::Column::KeyId)
            .limit(limit)
            .all(db)
            .await?,
    )
}

/// L7: marks active term keys past their period end `EXPIRED`. One statement: idempotent and safe to run from
/// several replicas at once.
pub async fn expire_due_keys<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<u64> {
    let result = key::Entity::update_many()
        .col_expr(key::Column::State, Expr::value(column::KeyState::Expired))
        .col_expr(key::Column::UpdateTime, Expr::value(now))
        .filter(key::Column::State.eq(column::KeyState::Active))
        .filter(key::Column::LicenseType.eq(LicenseType::Term))
        .filter(key::Column::PeriodEnd.lte(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// The e-mail addresses each of `key_ids` is assigned to (L5), in the order they were assigned.
pub async fn assignees<C: ConnectionTrait>(
    db: &C,
    key_ids: &[String],
) -> Result<HashMap<String, Vec<String>>> {
    let rows = assignment::Entity::find()
        .filter(assignment::Column::KeyId.is_in(key_ids.iter().cloned()))
        .order_by_asc(assignment::Column::CreateTime)
        .all(db)
        .await?;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for row in rows {
        map.entry(row.key_id).or_default().push(row.email);
    }
    Ok(map)
}

/// L5: how many people the key is assigned to.
pub async fn count_assignments<C: ConnectionTrait>(db: &C, key_id: &str) -> Result<u64> {
    Ok(assignment::Entity::find()
        .filter(assignment::Column::KeyId.eq(key_id))
        .count(db)
        .await?)
}

pub async fn is_assigned<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    email_key: &str,
) -> Result<bool> {
    Ok(
        assignment::Entity::find_by_id((key_id.to_string(), email_key.to_string()))
            .one(db)
            .await?
            .is_some(),
    )
}

/// L5: assigns the key to a person (by e-mail, as identity knows it).
pub async fn insert_assignment<C: ConnectionTrait>(
    db: &C,
    key: &Key,
    email: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    assignment::ActiveModel {
        key_id: Set(key.key_id.clone()),
        account_id: Set(key.account_id.clone()),
        email_key: Set(email.to_lowercase()),
        email: Set(email.to_string()),
        create_time: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// L5: removes the person's assignment of the key; how many were removed (0 or 1).
pub async fn remove_assignment<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    email_key: &str,
) -> Result<u64> {
    Ok(assignment::Entity::delete_many()
        .filter(assignment::Column::KeyId.eq(key_id))
        .filter(assignment::Column::EmailKey.eq(email_key))
        .exec(db)
        .await?
        .rows_affected)
}
