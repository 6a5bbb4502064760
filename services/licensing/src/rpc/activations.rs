//! Activations (L6): the products' activation back end takes and returns fulfillments from a key's pool;
//! Administrators see them (I9).

use chrono::Utc;
use portal_proto::licensing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    auth::INTERNAL_SCOPE,
    error::{FieldViolation, Violations},
    paging,
};
use serde_json::json;

use super::{checked, convert, text};
use crate::{
    LicensingApi,
    domain::{
        self, Activation, Email, FulfillmentPool, Key, KeyString, NewActivation, access::ACTIVATE,
        activation::Deactivation,
    },
    error::{Error, Result},
    store::{self, activations::ActivationFilter},
};

impl TryFrom<pb::ActivateKeyRequest> for NewActivation {
    type Error = Error;

    fn try_from(r: pb::ActivateKeyRequest) -> Result<Self> {
        let mut v = Violations::default();
        let key = v.check(KeyString::parse("key", &r.key));
        let product = v.check(convert::product("product", r.product));
        let fingerprint = v.check(text("machine_fingerprint", &r.machine_fingerprint, true));
        let hostname = v.check(text("hostname", &r.hostname, false));
        let version = v.check(text("version", &r.version, false));
        let user_email = if r.user_email.is_empty() {
            Some(String::new())
        } else {
            v.check(
                Email::parse(&r.user_email)
                    .map(|e| e.key().to_string())
                    .map_err(FieldViolation::of("user_email")),
            )
        };
        v.finish().map_err(Error::invalid_fields)?;
        Ok(NewActivation {
            key: checked(key, "key")?,
            product: checked(product, "product")?,
            machine_fingerprint: checked(fingerprint, "machine_fingerprint")?,
            hostname: checked(hostname, "hostname")?,
            version: checked(version, "version")?,
            user_email: checked(user_email, "user_email")?,
        })
    }
}

impl TryFrom<pb::DeactivateKeyRequest> for Deactivation {
    type Error = Error;

    fn try_from(r: pb::DeactivateKeyRequest) -> Result<Self> {
        let mut v = Violations::default();
        let key = v.check(KeyString::parse("key", &r.key));
        let fingerprint = v.check(text("machine_fingerprint", &r.machine_fingerprint, true));
        let product = if r.product == 0 {
            Some(None)
        } else {
            v.check(convert::product("product", r.product)).map(Some)
        };
        v.finish().map_err(Error::invalid_fields)?;
        Ok(Deactivation {
            key: checked(key, "key")?,
            machine_fingerprint: checked(fingerprint, "machine_fingerprint")?,
            product: checked(product, "product")?,
        })
    }
}

impl LicensingApi {
    pub(super) async fn activate_key(
        &self,
        context: CallContext,
        r: pb::ActivateKeyRequest,
    ) -> Result<pb::Activation> {
        self.caller(&context).await?.require_scope(&[ACTIVATE])?;
        let new = NewActivation::try_from(r)?;
        let key = store::keys::find_key_by_string(&self.db, &new.key).await?;
        // A product outside the family is refused before anything is written.
        let pool = FulfillmentPool::of(key.family, new.product, key.seats)?;
        // A machine activating at the same moment from elsewhere wins the unique index; the second attempt
        // then finds it active and takes nothing from the pool.
        let activation = match self.activate_once(&context, &key, &pool, &new).await? {
            Some(done) => done,
            None => self
                .activate_once(&context, &key, &pool, &new)
                .await?
                .ok_or_else(|| {
                    Error::unavailable(
                        "licensing",
                        "this machine's activation changed twice while it was being made; retry",
                    )
                })?,
        };
        tracing::info!(key = %new.key, product = new.product.as_str(), "activated");
        Ok(convert::activation(&activation, key.key.last_group()))
    }

    /// L6 in one transaction, committed here. The key's lock is taken as late as possible (after the
    /// activation row and its audit entry are written) and held for three statements: the lock itself, one
    /// conditional increment of the pool's counter (which refuses at the limit, so the pool is never
    /// oversubscribed), and the commit. `None`: another call changed this machine's activation meanwhile (the
    /// unique index refused our row, or the activation we found was released); the caller tries once more.
    async fn activate_once(
        &self,
        context: &CallContext,
        key: &Key,
        pool: &FulfillmentPool,
        new: &NewActivation,
    ) -> Result<Option<Activation>> {
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let now = Utc::now();
        if let Some(existing) = store::activations::active_activation_id(
            &txn,
            &key.key_id,
            new.product,
            &new.machine_fingerprint,
        )
        .await?
        {
            // The same machine again takes nothing from the pool; it refreshes what we know of it.
            let locked = store::keys::lock_key(&txn, &key.key_id).await?;
            domain::ensure_activatable(&locked, now)?;
            let Some(touched) =
                store::activations::touch_activation(&txn, &existing, new, now).await?
            else {
                return Ok(None);
            };
            txn.commit().await?;
            return Ok(Some(touched));
        }
        let Some(created) = store::activations::insert_activation(&txn, key, new, now).await?
        else {
            return Ok(None);
        };
        let after = json!({ "product": new.product.as_str(), "machine_fingerprint": created.machine_fingerprint, "pool_limit": pool.limit });
        audit::record(
            &txn,
            context,
            Change {
                account_id: &key.account_id,
                action: "ActivateKey",
                resource_type: "key",
                resource_id: &key.key_id,
                before: None,
                after: Some(after),
            },
        )
        .await?;
        // Under the key's lock from here to the commit: the key's state, then the pool's counter.
        let locked = store::keys::lock_key(&txn, &key.key_id).await?;
        domain::ensure_activatable(&locked, now)?;
        if !store::activations::take_from_pool(&txn, &key.key_id, new.product, pool.limit).await? {
            return Err(Error::MaxActivations);
        }
        txn.commit().await?;
        Ok(Some(created))
    }

    pub(super) async fn deactivate_key(
        &self,
        context: CallContext,
        r: pb::DeactivateKeyRequest,
    ) -> Result<pb::DeactivateKeyResponse> {
        self.caller(&context).await?.require_scope(&[ACTIVATE])?;
        let asked = Deactivation::try_from(r)?;
        let key = store::keys::find_key_by_string(&self.db, &asked.key).await?;
        let txn = portal_runtime::db::begin_write(&self.db).await?;
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
        let after =
            json!({ "machine_fingerprint": asked.machine_fingerprint, "released": released });
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &key.account_id,
                action: "DeactivateKey",
                resource_type: "key",
                resource_id: &key.key_id,
                before: None,
                after: Some(after),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(pb::DeactivateKeyResponse {})
    }

    pub(super) async fn list_activations(
        &self,
        context: CallContext,
        r: pb::ListActivationsRequest,
    ) -> Result<pb::ListActivationsResponse> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[INTERNAL_SCOPE])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let scope = paging::Scope::new(
            "ListActivations",
            format!("{}|{}|{}", r.account_id, r.key_id, r.show_deactivated),
        );
        let page = v.check(paging::parse(r.page_size, &r.page_token, &scope));
        v.finish().map_err(Error::invalid_fields)?;
        let page = checked(page, "page_token")?;
        let filter = ActivationFilter {
            key_id: (!r.key_id.is_empty()).then_some(r.key_id.as_str()),
            show_deactivated: r.show_deactivated,
            after: page.after.as_deref(),
            limit: Some(page.size),
        };
        let activations =
            store::activations::list_activations(&self.db, &r.account_id, &filter).await?;
        let key_ids = activations.iter().map(|a| a.key_id.clone()).collect();
        let keys = store::keys::keys_by_id(&self.db, key_ids).await?;
        let next_page_token = paging::next_token(
            &scope,
            activations.last().map(|a| a.activation_id.as_str()),
            activations.len(),
            page.size,
        );
        Ok(pb::ListActivationsResponse {
            activations: activations
                .iter()
                .map(|a| {
                    let last_group = keys.get(&a.key_id).map_or("", |k| k.key.last_group());
                    convert::activation(a, last_group)
                })
                .collect(),
            next_page_token,
        })
    }
}
