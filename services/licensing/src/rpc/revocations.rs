//! RevokeKey (L13): the request checked into a [`KeyRevocation`], revoked by [`app::revocations::revoke`].

use portal_proto::licensing as pb;
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, error::Violations};

use super::checked;
use crate::{
    LicensingApi, app,
    domain::{KeyRevocation, access::ISSUE, revocation},
    error::{Error, Result},
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
        let key = app::revocations::revoke(&self.db, &self.identity, &context, &asked, &r).await?;
        self.key_to_proto(&key).await
    }
}
