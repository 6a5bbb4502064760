//! Activations (L6): the products' activation back end takes and returns fulfillments from a key's pool;
//! Administrators see them (I9).

use portal_proto::licensing as pb;
use portal_runtime::{
    CallContext,
    auth::INTERNAL_SCOPE,
    error::{FieldViolation, Violations},
    paging,
};

use super::{checked, convert, text};
use crate::{
    LicensingApi, app,
    domain::{Email, KeyString, NewActivation, access::ACTIVATE, activation::Deactivation},
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
        let (key, activation) = app::activations::activate(&self.db, &context, &new).await?;
        tracing::info!(key = %new.key, product = new.product.as_str(), "activated");
        Ok(convert::activation(&activation, key.key.last_group()))
    }

    pub(super) async fn deactivate_key(
        &self,
        context: CallContext,
        r: pb::DeactivateKeyRequest,
    ) -> Result<pb::DeactivateKeyResponse> {
        self.caller(&context).await?.require_scope(&[ACTIVATE])?;
        let asked = Deactivation::try_from(r)?;
        app::activations::deactivate(&self.db, &context, &asked).await?;
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
