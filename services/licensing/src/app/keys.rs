//! Keys: issuing (L1–L3), owners (L4) and refresh (L7).

use chrono::Utc;
use portal_proto::Idempotent;
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
    new_id,
};
use sea_orm::DatabaseConnection;

use super::audit::{self, Event};
use crate::{
    Identity,
    domain::{self, Key, NewKeys, Refreshed, refresh::KeyRefresh},
    error::Result,
    store,
};

/// L1, L3: issues the keys `new` asks for, one batch, idempotent on `request`'s id (a replay answers with the
/// batch issued first).
pub async fn issue(
    db: &DatabaseConnection,
    context: &CallContext,
    new: &NewKeys,
    request: &impl Idempotent,
) -> Result<Vec<Key>> {
    let batch_id = new_id("iss");
    let txn = match idempotency::claim(db, "IssueKeys", request, &batch_id).await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(batch) => return store::keys::keys_of_batch(db, &batch).await,
    };
    let keys = store::keys::insert_keys(&txn, new, &batch_id, Utc::now()).await?;
    let event = Event::IssueKeys {
        batch_id: &batch_id,
        new,
        keys: &keys,
    };
    audit::record(&txn, context, event).await?;
    txn.commit().await?;
    Ok(keys)
}

/// L4: sets (to an active user of the key's account) or clears the owner of `key`; returns the key as it now is.
pub async fn set_owner(
    db: &DatabaseConnection,
    identity: &Identity,
    context: &CallContext,
    key: &Key,
    owner_user_id: Option<&str>,
) -> Result<Key> {
    let owner = match owner_user_id {
        None => None,
        Some(user_id) => {
            let member = identity.user(user_id).await?;
            domain::key::ensure_owner_eligible(
                key,
                member.as_ref().map(|m| m.account_id.as_str()),
            )?;
            member.map(|m| m.user_id)
        }
    };
    let txn = portal_runtime::db::begin_write(db).await?;
    let before = store::keys::lock_key(&txn, &key.key_id).await?;
    let after = store::keys::set_owner(&txn, &before.key_id, owner.as_deref(), Utc::now()).await?;
    let event = Event::SetKeyOwner {
        before: &before,
        after: &after,
    };
    audit::record(&txn, context, event).await?;
    txn.commit().await?;
    Ok(after)
}

/// L7: moves a key's dates as [`domain::refresh`] decides; returns the key as it now is.
pub async fn refresh(
    db: &DatabaseConnection,
    context: &CallContext,
    asked: &KeyRefresh,
) -> Result<Key> {
    let now = Utc::now();
    let txn = portal_runtime::db::begin_write(db).await?;
    let before = store::keys::lock_key(&txn, &asked.key_id).await?;
    let current = Refreshed {
        period_end: before.period_end,
        maintenance_end: before.maintenance_end,
    };
    let next = domain::refresh(
        before.license_type,
        before.state,
        current,
        asked.period_end,
        asked.maintenance_end,
        now,
    )?;
    let after = store::keys::set_dates(&txn, &before.key_id, &next, now).await?;
    let event = Event::RefreshKey {
        before: &before,
        after: &after,
    };
    audit::record(&txn, context, event).await?;
    txn.commit().await?;
    Ok(after)
}
