//! RevokeKey (L13): a key withdrawn for good, with everything on it released, its people told and the change
//! audited, in one transaction.

use chrono::Utc;
use portal_proto::licensing as pb;
use portal_proto::notification::{NoticeKind, SendNoticeRequest as NoticeRequest};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    auth::INTERNAL_SCOPE,
    error::Violations,
    idempotency::{self, Claim},
};
use serde_json::json;

use super::checked;
use crate::{
    LicensingApi,
    domain::{
        Key, KeyRevocation, Revocation,
        access::ISSUE,
        revocation::{self, Told},
    },
    error::{Error, Result},
    store,
};

impl TryFrom<&pb::RevokeKeyRequest> for KeyRevocation {
    type Error = Error;

    fn try_from(r: &pb::RevokeKeyRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("key_id", &r.key_id);
        let reason = v.check(revocation::check_reason(&r.reason));
        v.finish().map_err(Error::invalid_fields)?;
        Ok(KeyRevocation {
            key_id: r.key_id.clone(),
            reason: checked(reason, "reason")?,
        })
    }
}

impl LicensingApi {
    pub(super) async fn revoke_key(
        &self,
        context: CallContext,
        r: pb::RevokeKeyRequest,
    ) -> Result<pb::ProductKey> {
        self.caller(&context)
            .await?
            .require_scope(&[ISSUE, INTERNAL_SCOPE])?;
        let asked = KeyRevocation::try_from(&r)?;
        let current = store::keys::find_key(&self.db, &asked.key_id).await?;
        // Identity is asked before the transaction, so no write lock waits on it.
        let mut owner = if revocation::needs_revoking(&current) {
            self.owner_told(&current).await?
        } else {
            None
        };
        let txn = match idempotency::claim(&self.db, "RevokeKey", &r, &asked.key_id).await? {
            Claim::Fresh(txn) => txn,
            Claim::Replay(key_id) => {
                let key = store::keys::find_key(&self.db, &key_id).await?;
                return self.key_to_proto(&key).await;
            }
        };
        let now = Utc::now();
        let (key, was, assignees, released_activations) =
            match store::keys::revoke_key(&txn, &asked.key_id, &asked.reason, now).await? {
                Revocation::AlreadyRevoked(key) => {
                    // Revoked before (or by a concurrent call in between), which told everyone already.
                    txn.commit().await?;
                    return self.key_to_proto(&key).await;
                }
                Revocation::Revoked {
                    key,
                    was,
                    assignees,
                    released_activations,
                } => (key, was, assignees, released_activations),
            };
        if owner.as_ref().and_then(|o| o.user_id.as_deref()) != key.owner_user_id.as_deref() {
            // The owner changed between the read and the lock (rare): ask identity for the new one.
            owner = self.owner_told(&key).await?;
        }
        let change = Change {
            account_id: &key.account_id,
            action: "RevokeKey",
            resource_type: "key",
            resource_id: &key.key_id,
            before: Some(json!({ "state": was.as_str(), "assignee_emails": assignees })),
            after: Some(
                json!({ "state": key.state.as_str(), "reason": asked.reason, "released_activations": released_activations }),
            ),
        };
        audit::record(&txn, &context, change).await?;
        // B11: the Creator seats the key put on a cloud site leave it with the key, in the same transaction.
        super::sites::release_key_seats(&txn, &context, &key.key_id, now).await?;
        for told in revocation::told(owner, &assignees) {
            portal_runtime::outbox::enqueue(&txn, revoked_notice(&key, &asked.reason, told))
                .await?;
        }
        txn.commit().await?;
        self.key_to_proto(&key).await
    }

    /// The key's owner as told of a revocation, if the key has one who is still an active user.
    async fn owner_told(&self, key: &Key) -> Result<Option<Told>> {
        let Some(owner_id) = key.owner_user_id.as_deref() else {
            return Ok(None);
        };
        Ok(self.identity.user(owner_id).await?.map(|m| Told {
            email: m.email,
            display_name: m.display_name,
            user_id: Some(m.user_id),
        }))
    }
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
