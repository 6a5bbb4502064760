//! L5: a key handed to people of its account by e-mail, within its seats, and taken back with the person's
//! activations on it.

use chrono::Utc;
use portal_proto::notification::{NoticeKind, SendNoticeRequest as NoticeRequest};
use portal_runtime::CallContext;
use sea_orm::DatabaseConnection;

use super::audit::{self, Event};
use crate::{
    Identity,
    domain::{self, Email, Key},
    error::{Error, Result},
    store::{self, activations::Within},
};

/// L5: assigns `key` to the active user of its account with `email`, within its seats; assigning again changes
/// nothing. The person hears of it once (N6). Returns the key as it now is.
pub async fn assign(
    db: &DatabaseConnection,
    identity: &Identity,
    context: &CallContext,
    key: &Key,
    email: &Email,
) -> Result<Key> {
    let Some(member) = identity
        .member_by_email(&key.account_id, email.as_str())
        .await?
    else {
        return Err(Error::UserNotInAccount);
    };
    let txn = portal_runtime::db::begin_write(db).await?;
    let key = store::keys::lock_key(&txn, &key.key_id).await?;
    domain::key::ensure_assignable(&key)?;
    if !store::keys::is_assigned(&txn, &key.key_id, &member.email_key()).await? {
        let assigned = store::keys::count_assignments(&txn, &key.key_id).await?;
        domain::ensure_seat_free(assigned, key.seats)?;
        store::keys::insert_assignment(&txn, &key, &member.email, Utc::now()).await?;
        let event = Event::AssignKey {
            key: &key,
            email: &member.email,
        };
        audit::record(&txn, context, event).await?;
        // N6: the person hears about it through notification's ledger, queued with the assignment.
        let products: Vec<&str> = key.family.products().iter().map(|p| p.as_str()).collect();
        let notice = NoticeRequest {
            kind: NoticeKind::KeyAssigned as i32,
            account_id: key.account_id.clone(),
            email: member.email.clone(),
            display_name: member.display_name.clone(),
            fields: [
                ("key_last_group", key.key.last_group()),
                ("product", products.join(" + ").as_str()),
                ("user_id", member.user_id.as_str()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            ..Default::default()
        };
        portal_runtime::outbox::enqueue(&txn, notice).await?;
    }
    txn.commit().await?;
    Ok(key)
}

/// L5 (decision): removes the person's assignment of `key`, and their activations on it go with it. Returns
/// the key as it now is.
pub async fn unassign(
    db: &DatabaseConnection,
    context: &CallContext,
    key: &Key,
    email: &Email,
) -> Result<Key> {
    let txn = portal_runtime::db::begin_write(db).await?;
    store::keys::lock_key(&txn, &key.key_id).await?;
    let removed = store::keys::remove_assignment(&txn, &key.key_id, email.key()).await?;
    if removed > 0 {
        let released =
            store::activations::release_person(&txn, Within::Key(&key.key_id), email.key()).await?;
        let event = Event::UnassignKey {
            key,
            email: email.as_str(),
            released_activations: released,
        };
        audit::record(&txn, context, event).await?;
    }
    txn.commit().await?;
    store::keys::find_key(db, &key.key_id).await
}
