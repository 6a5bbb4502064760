//! L13: RevokeKey. A key withdrawn for good: the domain plans what leaves with it ([`l13_plan`]), and this
//! executes the plan through the store, audits it and tells its people, in one transaction.

use chrono::Utc;
use portal_proto::{
    Idempotent,
    notification::{NoticeKind, SendNoticeRequest as NoticeRequest},
};
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
};
use sea_orm::DatabaseConnection;

use super::audit::{self, Event};
use crate::{
    Identity,
    domain::{
        Key, KeyRevocation, Revocation, l13_plan,
        revocation::{self, Told},
    },
    error::{Error, Result},
    store,
};

/// L13: revokes the key `asked` names, idempotent on `request`'s id; revoking a revoked key changes nothing.
/// Returns the key as it now is.
pub async fn revoke(
    db: &DatabaseConnection,
    identity: &Identity,
    context: &CallContext,
    asked: &KeyRevocation,
    request: &impl Idempotent,
) -> Result<Key> {
    let current = store::keys::find_key(db, &asked.key_id).await?;
    // Identity is asked before the transaction, so no write lock waits on it.
    let mut owner = if revocation::needs_revoking(&current) {
        owner_told(identity, &current).await?
    } else {
        None
    };
    let txn = match idempotency::claim(db, "RevokeKey", request, &asked.key_id).await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(key_id) => return store::keys::find_key(db, &key_id).await,
    };
    let now = Utc::now();
    let locked = store::keys::lock_key(&txn, &asked.key_id).await?;
    let Some(plan) = l13_plan(&locked, &asked.reason, now) else {
        // Revoked before (or by a concurrent call in between), which told everyone already.
        txn.commit().await?;
        return Ok(locked);
    };
    let Revocation::Revoked {
        key,
        was,
        assignees,
        released_activations,
    } = store::keys::revoke(&txn, &plan).await?
    else {
        return Err(Error::internal(
            "a planned revocation left the key as it was",
        ));
    };
    if owner.as_ref().and_then(|o| o.user_id.as_deref()) != key.owner_user_id.as_deref() {
        // The owner changed between the read and the lock (rare): ask identity for the new one.
        owner = owner_told(identity, &key).await?;
    }
    let event = Event::RevokeKey {
        key: &key,
        was,
        assignees: &assignees,
        reason: &asked.reason,
        released_activations,
    };
    audit::record(&txn, context, event).await?;
    if plan.release_site_seats {
        // B11: the Creator seats the key put on a cloud site leave it with the key, in the same transaction.
        super::sites::release_key_seats(&txn, context, &key.key_id, now).await?;
    }
    for told in revocation::told(owner, &assignees) {
        portal_runtime::outbox::enqueue(&txn, revoked_notice(&key, &asked.reason, told)).await?;
    }
    txn.commit().await?;
    Ok(key)
}

/// The key's owner as told of a revocation, if the key has one who is still an active user.
async fn owner_told(identity: &Identity, key: &Key) -> Result<Option<Told>> {
    let Some(owner_id) = key.owner_user_id.as_deref() else {
        return Ok(None);
    };
    Ok(identity.user(owner_id).await?.map(|m| Told {
        email: m.email,
        display_name: m.display_name,
        user_id: Some(m.user_id),
    }))
}

/// L13, N6: the "key revoked" notice to one person.
fn revoked_notice(key: &Key, reason: &str, told: Told) -> NoticeRequest {
    let products: Vec<&str> = key.family.products().iter().map(|p| p.as_str()).collect();
    let mut fields = vec![
        ("key_last_group", key.key.last_group().to_string()),
        ("product", products.join(" + ")),
        ("reason", reason.to_string()),
    ];
    if let Some(user_id) = told.user_id {
        fields.push(("user_id", user_id));
    }
    NoticeRequest {
        kind: NoticeKind::KeyRevoked as i32,
        account_id: key.account_id.clone(),
        email: told.email,
        display_name: told.display_name,
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        ..Default::default()
    }
}
