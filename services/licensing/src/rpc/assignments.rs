//! Assignments (L5): handing a key to people of its account by e-mail, within its seats, and taking it back
//! with the person's activations on it.

use portal_proto::licensing as pb;
use portal_runtime::{
    CallContext,
    error::{FieldViolation, Violations},
};

use super::checked;
use crate::{
    LicensingApi, app,
    domain::{Email, Key, access::KeyAccess},
    error::{Error, Result},
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
        let key =
            app::assignments::assign(&self.db, &self.identity, &context, &current, &email).await?;
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
        let key = app::assignments::unassign(&self.db, &context, &current, &email).await?;
        self.key_to_proto(&key).await
    }
}
