//! Activations (L6): the products' activation back end takes and returns fulfillments from a key's pool;
//! Administrators see them (I9).

use chrono::Utc;
use portal_proto::licensing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::{FieldViolation, Violations},
    new_id, paging,
};
use sea_orm::{
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde_json::json;

use crate::{
    LicensingApi,
    authz::{ACTIVATE, INTERNAL},
    convert,
    domain::{self, Family, FulfillmentPool, KeyState, KeyString, LicenseType, Product},
    error::{Error, Result},
    store::{self, activation},
};

const MAX_TEXT: usize = 256;

fn text(field: &str, value: &str, required: bool) -> Result<String, FieldViolation> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(FieldViolation::new(field, "must not be empty"));
    }
    if value.len() > MAX_TEXT {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {MAX_TEXT} bytes"),
        ));
    }
    Ok(value.to_string())
}

impl LicensingApi {
    pub(super) async fn activate_key(
        &self,
        context: CallContext,
        r: pb::ActivateKeyRequest,
    ) -> Result<pb::Activation> {
        self.caller(&context).await?.require_scope(&[ACTIVATE])?;
        let mut v = Violations::default();
        let key = v.check(KeyString::parse("key", &r.key));
        let product = v.check(convert::product("product", r.product));
        let fingerprint = v.check(text("machine_fingerprint", &r.machine_fingerprint, true));
        let hostname = v.check(text("hostname", &r.hostname, false));
        let version = v.check(text("version", &r.version, false));
        let user_email = if r.user_email.is_empty() {
            Some(String::new())
        } else {
            v.check(super::keys::email("user_email", &r.user_email))
        };
        v.finish().map_err(Error::invalid_fields)?;
        let (
            Some(key),
            Some(product),
            Some(fingerprint),
            Some(hostname),
            Some(version),
            Some(user_email),
        ) = (key, product, fingerprint, hostname, version, user_email)
        else {
            return Err(Error::invalid("request", "incomplete"));
        };
        let found = store::find_key_by_string(&self.db, key.as_str()).await?;
        let family = Family::parse(&found.family).unwrap_or(key.family());
        let seats = u64::try_from(found.seats).unwrap_or(0);
        // A product outside the family is refused before anything is written.
        let pool = FulfillmentPool::of(family, product, seats)?;
        let new = NewActivation {
            key_id: &found.key_id,
            account_id: &found.account_id,
            limit: pool.limit,
            product,
            fingerprint: &fingerprint,
            hostname: &hostname,
            version: &version,
            user_email: &user_email.to_lowercase(),
        };
        // A machine activating at the same moment from elsewhere wins the unique index; the second attempt
        // then finds it active and takes nothing from the pool.
        let (txn, row, activation) = match self.activate_once(&context, &new).await? {
            Some(done) => done,
            None => self.activate_once(&context, &new).await?.ok_or_else(|| {
                Error::unavailable(
                    "licensing",
                    "this machine's activation changed twice while it was being made; retry",
                )
            })?,
        };
        txn.commit().await?;
        tracing::info!(key = %key, product = product.as_str(), "activated");
        Ok(convert::activation(&activation, &row.key))
    }

    /// L6 in one transaction. The key's lock is taken as late as possible (after the activation row and its
    /// audit entry are written) and held for three statements: the lock itself, one conditional increment of
    /// the pool's counter (which refuses at the limit, so the pool is never oversubscribed), and the commit.
    /// `None`: another call changed this machine's activation meanwhile (the unique index refused our row, or
    /// the activation we found was released); the caller tries once more.
    async fn activate_once(
        &self,
        context: &CallContext,
        new: &NewActivation<'_>,
    ) -> Result<Option<(DatabaseTransaction, store::key::Model, activation::Model)>> {
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let now = Utc::now();
        if let Some(existing) =
            store::active_activation_id(&txn, new.key_id, new.product, new.fingerprint).await?
        {
            // The same machine again takes nothing from the pool; it refreshes what we know of it.
            let row = store::lock_key(&txn, new.key_id).await?;
            ensure_activatable(&row, now)?;
            let touched =
                store::touch_activation(&txn, &existing, new.hostname, new.version, now).await?;
            return Ok(touched.map(|touched| (txn, row, touched)));
        }
        let model = activation::ActiveModel {
            activation_id: Set(new_id("act")),
            key_id: Set(new.key_id.to_string()),
            account_id: Set(new.account_id.to_string()),
            product: Set(new.product.as_str().into()),
            machine_fingerprint: Set(new.fingerprint.to_string()),
            hostname: Set(new.hostname.to_string()),
            version: Set(new.version.to_string()),
            user_email: Set(new.user_email.to_string()),
            state: Set(store::ACTIVE.into()),
            create_time: Set(now),
            last_use_time: Set(now),
            deactivate_time: Set(None),
        };
        let Some(created) = store::insert_activation(&txn, model).await? else {
            return Ok(None);
        };
        let after = json!({ "product": new.product.as_str(), "machine_fingerprint": created.machine_fingerprint, "pool_limit": new.limit });
        audit::record(
            &txn,
            context,
            Change {
                account_id: new.account_id,
                action: "ActivateKey",
                resource_type: "key",
                resource_id: new.key_id,
                before: None,
                after: Some(after),
            },
        )
        .await?;
        // Under the key's lock from here to the commit: the key's state, then the pool's counter.
        let row = store::lock_key(&txn, new.key_id).await?;
        ensure_activatable(&row, now)?;
        if !store::take_from_pool(&txn, new.key_id, new.product, new.limit).await? {
            return Err(Error::MaxActivations);
        }
        Ok(Some((txn, row, created)))
    }

    pub(super) async fn deactivate_key(
        &self,
        context: CallContext,
        r: pb::DeactivateKeyRequest,
    ) -> Result<pb::DeactivateKeyResponse> {
        self.caller(&context).await?.require_scope(&[ACTIVATE])?;
        let mut v = Violations::default();
        let key = v.check(KeyString::parse("key", &r.key));
        let fingerprint = v.check(text("machine_fingerprint", &r.machine_fingerprint, true));
        let product = if r.product == 0 {
            Some(None)
        } else {
            v.check(convert::product("product", r.product)).map(Some)
        };
        v.finish().map_err(Error::invalid_fields)?;
        let (Some(key), Some(fingerprint), Some(product)) = (key, fingerprint, product) else {
            return Err(Error::invalid("request", "incomplete"));
        };
        let row = store::find_key_by_string(&self.db, key.as_str()).await?;
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        store::lock_key(&txn, &row.key_id).await?;
        let mut filter = Condition::all()
            .add(activation::Column::KeyId.eq(row.key_id.as_str()))
            .add(activation::Column::MachineFingerprint.eq(fingerprint.as_str()));
        if let Some(product) = product {
            filter = filter.add(activation::Column::Product.eq(product.as_str()));
        }
        let released = store::deactivate_where(&txn, filter).await?;
        if released == 0 {
            return Err(Error::ActivationNotFound);
        }
        let after = json!({ "machine_fingerprint": fingerprint, "released": released });
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &row.account_id,
                action: "DeactivateKey",
                resource_type: "key",
                resource_id: &row.key_id,
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
        caller.require_admin_of(&r.account_id, &[INTERNAL])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let scope = format!("{}|{}|{}", r.account_id, r.key_id, r.show_deactivated);
        let page = v.check(paging::parse(r.page_size, &r.page_token, &scope));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(page) = page else {
            return Err(Error::invalid("page_token", "invalid"));
        };
        let mut query = activation::Entity::find()
            .filter(activation::Column::AccountId.eq(r.account_id.as_str()));
        if !r.key_id.is_empty() {
            query = query.filter(activation::Column::KeyId.eq(r.key_id.as_str()));
        }
        if !r.show_deactivated {
            query = query.filter(activation::Column::State.eq(store::ACTIVE));
        }
        if let Some(after) = &page.after {
            query = query.filter(activation::Column::ActivationId.gt(after.as_str()));
        }
        let rows = query
            .order_by_asc(activation::Column::ActivationId)
            .limit(page.size)
            .all(&self.db)
            .await?;
        let key_ids: Vec<String> = rows.iter().map(|a| a.key_id.clone()).collect();
        let keys: std::collections::HashMap<String, String> = store::key::Entity::find()
            .filter(store::key::Column::KeyId.is_in(key_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|k| (k.key_id, k.key))
            .collect();
        let next_page_token = paging::next_token(
            &scope,
            rows.last().map(|a| a.activation_id.as_str()),
            rows.len(),
            page.size,
        );
        let activations = rows
            .iter()
            .map(|a| {
                convert::activation(
                    a,
                    keys.get(&a.key_id).map(String::as_str).unwrap_or_default(),
                )
            })
            .collect();
        Ok(pb::ListActivationsResponse {
            activations,
            next_page_token,
        })
    }
}

/// An activation as asked for, checked.
struct NewActivation<'a> {
    key_id: &'a str,
    account_id: &'a str,
    /// The pool's size; seats never change once a key is issued.
    limit: u64,
    product: Product,
    fingerprint: &'a str,
    hostname: &'a str,
    version: &'a str,
    user_email: &'a str,
}

/// L6: only an active key within its period activates.
fn ensure_activatable(row: &store::key::Model, now: chrono::DateTime<Utc>) -> Result<()> {
    domain::ensure_activatable(
        KeyState::parse(&row.state),
        LicenseType::parse(&row.license_type).unwrap_or(LicenseType::Term),
        row.period_end,
        now,
    )
}
