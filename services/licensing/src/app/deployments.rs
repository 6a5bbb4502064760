//! L8, L14: on-premise deployments and cloud sites registered and changed; a server key's deployments take
//! their environments within its places.

use chrono::Utc;
use portal_proto::Idempotent;
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
    new_id,
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use super::audit::{self, Event};
use crate::{
    domain::{
        Deployment, DeploymentPatch, Environment, NewDeployment, deployment::place_environment,
    },
    error::Result,
    store,
};

/// L8: registers the deployment `new` describes, idempotent on `request`'s id; one of a server key takes an
/// environment the key has room for (L14).
pub async fn register(
    db: &DatabaseConnection,
    context: &CallContext,
    new: &NewDeployment,
    request: &impl Idempotent,
) -> Result<Deployment> {
    let deployment_id = new_id("dep");
    let txn = match idempotency::claim(db, "RegisterDeployment", request, &deployment_id).await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(id) => return store::deployments::find_deployment(db, &id).await,
    };
    let environment = match &new.key_id {
        Some(key_id) => room_on_key(&txn, key_id, None, new.environment).await?,
        None => new.environment.unwrap_or(Environment::Production),
    };
    let created =
        store::deployments::insert_deployment(&txn, &deployment_id, new, environment, Utc::now())
            .await?;
    audit::record(
        &txn,
        context,
        Event::RegisterDeployment { created: &created },
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// L8: applies `patch` to the deployment `current`; one made active again takes its environment back only if
/// its key has room (L14). Returns the deployment as it now is.
pub async fn update(
    db: &DatabaseConnection,
    context: &CallContext,
    current: &Deployment,
    patch: &DeploymentPatch,
) -> Result<Deployment> {
    let txn = portal_runtime::db::begin_write(db).await?;
    let before = store::deployments::lock_deployment(&txn, &current.deployment_id).await?;
    let patched = before.patched(patch, Utc::now());
    if let Some(key_id) = patched.key_id.as_deref()
        && patched.holds_environment()
        && !before.holds_environment()
    {
        room_on_key(
            &txn,
            key_id,
            Some(&before.deployment_id),
            Some(before.environment),
        )
        .await?;
    }
    let after = store::deployments::save_deployment(&txn, &patched).await?;
    let event = Event::UpdateDeployment {
        before: &before,
        after: &after,
    };
    audit::record(&txn, context, event).await?;
    txn.commit().await?;
    Ok(after)
}

/// L14: the environment a deployment of server key `key_id` takes among the key's other active ones (but
/// `except`), under the key's lock, so that two registrations cannot both take its last place.
async fn room_on_key(
    txn: &DatabaseTransaction,
    key_id: &str,
    except: Option<&str>,
    asked: Option<Environment>,
) -> Result<Environment> {
    store::keys::lock_key(txn, key_id).await?;
    let taken = store::deployments::environments_of_key(txn, key_id, except).await?;
    place_environment(asked, &taken)
}
