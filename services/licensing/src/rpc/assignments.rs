//! Assignments (L5): handing a key to people of its account by e-mail, within its seats, and taking it back
//! with the person's activations on it.

use chrono::Utc;
use portal_proto::licensing as pb;
use portal_proto::notification::{NoticeKind, SendNoticeRequest as NoticeRequest};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::{FieldViolation, Violations},
};
use serde_json::json;

use super::checked;
use crate::{
    LicensingApi,
    domain::{self, Email, Key, access::KeyAccess},
    error::{Error, Result},
    store::{self, activations::Within},
};

impl LicensingApi {
    /// AssignKey and UnassignKey name a key and a person by e-mail; the key is one the caller may hand out
    /// (L5), else `denied` says who may.
    async fn assignable_key(
        &self,
        context: &CallContext,
        key_id: &str,
        email: &str,
        denied: &str,
    ) -> Result<(Key, Email)> {
        let mut v = Violations::default();
        v.require("key_id", key_id);
        let email = v.check(Email::parse(email).map_err(FieldViolation::of("email")));
        v.finish().map_err(Error::invalid_fields)?;
        let email = checked(email, "email")?;
        let caller = self.caller(context).await?;
        let key = self
            .visible_key(
                &caller,
                key_id,
                &[portal_runtime::auth::INTERNAL_SCOPE],
                denied,
            )
            .await?;
        if !caller.may_assign(&key) {
            return Err(Error::denied(denied));
        }
        Ok((key, email))
    }

    pub(super) async fn assign_key(
        &self,
        context: CallContext,
        r: pb::AssignKeyRequest,
    ) -> Result<pb::ProductKey> {
        let (current, email) = self
            .assignable_key(
                &context,
                &r.key_id,
                &r.email,
                "Administrators assign any key, owners the keys they own, nobody else",
            )
            .await?;
        let Some(member) = self
            .identity
            .member_by_email(&current.account_id, email.as_str())
            .await?
        else {
            return Err(Error::UserNotInAccount);
        };
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let key = store::keys::lock_key(&txn, &current.key_id).await?;
        domain::key::ensure_assignable(&key)?;
        if !store::keys::is_assigned(&txn, &key.key_id, &member.email_key()).await? {
            let assigned = store::keys::count_assignments(&txn, &key.key_id).await?;
            domain::ensure_seat_free(assigned, key.seats)?;
            store::keys::insert_assignment(&txn, &key, &member.email, Utc::now()).await?;
            let change = Change {
                account_id: &key.account_id,
                action: "AssignKey",
                resource_type: "key",
                resource_id: &key.key_id,
                before: None,
                after: Some(json!({ "email": member.email })),
            };
            audit::record(&txn, &context, change).await?;
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
        self.key_to_proto(&key).await
    }

    pub(super) async fn unassign_key(
        &self,
        context: CallContext,
        r: pb::UnassignKeyRequest,
    ) -> Result<pb::ProductKey> {
        let (current, email) = self
            .assignable_key(
                &context,
                &r.key_id,
                &r.email,
                "Administrators unassign any key, owners the keys they own, nobody else",
            )
            .await?;
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        store::keys::lock_key(&txn, &current.key_id).await?;
        let removed = store::keys::remove_assignment(&txn, &current.key_id, email.key()).await?;
        if removed > 0 {
            // L5 (decision): the person's activations on the key go with the assignment.
            let released =
                store::activations::release_person(&txn, Within::Key(&current.key_id), email.key())
                    .await?;
            let change = Change {
                account_id: &current.account_id,
                action: "UnassignKey",
                resource_type: "key",
                resource_id: &current.key_id,
                before: Some(json!({ "email": email.as_str() })),
                after: Some(json!({ "released_activations": released })),
            };
            audit::record(&txn, &context, change).await?;
        }
        txn.commit().await?;
        let key = store::keys::find_key(&self.db, &current.key_id).await?;
        self.key_to_proto(&key).await
    }
}
