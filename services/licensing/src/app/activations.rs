//! L6: the products' activation back end takes a fulfillment from a key's pool for a machine, and gives it back.

use chrono::Utc;
use portal_runtime::CallContext;
use sea_orm::DatabaseConnection;

use super::audit::{self, Event};
use crate::{
    domain::{
        Activation, FulfillmentPool, Key, NewActivation, Take, activation::Deactivation,
        l6_activate,
    },
    error::{Error, Result},
    store,
};

/// L6: activates the machine `new` names on its key; returns the key and the machine's activation.
pub async fn activate(
    db: &DatabaseConnection,
    context: &CallContext,
    new: &NewActivation,
) -> Result<(Key, Activation)> {
    let key = store::keys::find_key_by_string(db, &new.key).await?;
    // A product outside the family is refused before anything is written.
    let pool = FulfillmentPool::of(key.family, new.product, key.seats)?;
    // A machine activating at the same moment from elsewhere wins the unique index; the second attempt then
    // finds it active and takes nothing from the pool.
    let activation = match activate_once(db, context, &key.key_id, &pool, new).await? {
        Some(done) => done,
        None => activate_once(db, context, &key.key_id, &pool, new)
            .await?
            .ok_or_else(|| {
                Error::unavailable(
                    "licensing",
                    "this machine's activation changed twice while it was being made; retry",
                )
            })?,
    };
    Ok((key, activation))
}

/// L6 in one transaction, under the key's lock: load, decide ([`l6_activate`]), write, audit, commit. The
/// pool's counter is taken by one conditional increment that also refuses at the limit, so the pool is never
/// oversubscribed even if the decision were raced. `None`: another call changed this machine's activation
/// meanwhile (the unique index refused our row, or the activation we found was released); the caller tries
/// once more.
async fn activate_once(
    db: &DatabaseConnection,
    context: &CallContext,
    key_id: &str,
    pool: &FulfillmentPool,
    new: &NewActivation,
) -> Result<Option<Activation>> {
    let txn = portal_runtime::db::begin_write(db).await?;
    let now = Utc::now();
    let key = store::keys::lock_key(&txn, key_id).await?;
    let held = store::activations::active_activation_id(
        &txn,
        &key.key_id,
        new.product,
        &new.machine_fingerprint,
    )
    .await?;
    let used = store::activations::pool_used(&txn, &key.key_id, new.product).await?;
    let activation = match l6_activate(&key, pool, held, used, now)? {
        Take::Again { activation_id } => {
            // What we know of the machine is refreshed; nothing is audited, nothing taken.
            let Some(touched) =
                store::activations::touch_activation(&txn, &activation_id, new, now).await?
            else {
                return Ok(None);
            };
            touched
        }
        Take::One => {
            if !store::activations::take_from_pool(&txn, &key.key_id, new.product, pool.limit)
                .await?
            {
                return Err(Error::MaxActivations);
            }
            let Some(created) = store::activations::insert_activation(&txn, &key, new, now).await?
            else {
                return Ok(None);
            };
            let event = Event::ActivateKey {
                key: &key,
                activation: &created,
                pool,
            };
            audit::record(&txn, context, event).await?;
            created
        }
    };
    txn.commit().await?;
    Ok(Some(activation))
}

/// L6: deactivating gives the machine's fulfillments of the key back (of one product, or all); returns how
/// many. `ACTIVATION_NOT_FOUND` when the machine held none.
pub async fn deactivate(
    db: &DatabaseConnection,
    context: &CallContext,
    asked: &Deactivation,
) -> Result<u64> {
    let key = store::keys::find_key_by_string(db, &asked.key).await?;
    let txn = portal_runtime::db::begin_write(db).await?;
    store::keys::lock_key(&txn, &key.key_id).await?;
    let released = store::activations::release_machine(
        &txn,
        &key.key_id,
        &asked.machine_fingerprint,
        asked.product,
        Utc::now(),
    )
    .await?;
    if released == 0 {
        return Err(Error::ActivationNotFound);
    }
    let event = Event::DeactivateKey {
        key: &key,
        machine_fingerprint: &asked.machine_fingerprint,
        released,
    };
    audit::record(&txn, context, event).await?;
    txn.commit().await?;
    Ok(released)
}
