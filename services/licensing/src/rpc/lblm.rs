//! Login-based licensing (L9): site roles with limited Creator seats, signed authorizations to run, and the
//! usage Administrators see.

use chrono::Utc;
use portal_clients::caller::ADMIN_ONLY;
use portal_proto::{common, licensing as pb};
use portal_runtime::{
    CallContext,
    auth::INTERNAL_SCOPE,
    error::{FieldViolation, Violations},
    new_id,
    time::to_proto,
};
use prost::Message;

use super::{checked, convert, text};
use crate::{
    LicensingApi, app,
    domain::{
        Email, RunCheckIn, access,
        lblm::{self, NewSiteRole, RunRequest},
    },
    error::{Error, Result},
    store,
};

impl TryFrom<pb::SetSiteRoleRequest> for NewSiteRole {
    type Error = Error;

    fn try_from(r: pb::SetSiteRoleRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("deployment_id", &r.deployment_id);
        let email = v.check(Email::parse(&r.email).map_err(FieldViolation::of("email")));
        let role = v.check(convert::site_role("site_role", r.site_role));
        v.finish().map_err(Error::invalid_fields)?;
        Ok(NewSiteRole {
            email: checked(email, "email")?,
            site_role: checked(role, "site_role")?,
            deployment_id: r.deployment_id,
        })
    }
}

impl TryFrom<pb::AuthorizeToRunRequest> for RunRequest {
    type Error = Error;

    fn try_from(r: pb::AuthorizeToRunRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("deployment_id", &r.deployment_id);
        let email = v.check(Email::parse(&r.email).map_err(FieldViolation::of("email")));
        let product = v.check(convert::product("product", r.product));
        let fingerprint = v.check(text("machine_fingerprint", &r.machine_fingerprint, true));
        let hostname = v.check(text("hostname", &r.hostname, false));
        let version = v.check(text("version", &r.version, false));
        v.finish().map_err(Error::invalid_fields)?;
        Ok(RunRequest {
            email: checked(email, "email")?,
            product: checked(product, "product")?,
            machine_fingerprint: checked(fingerprint, "machine_fingerprint")?,
            hostname: checked(hostname, "hostname")?,
            version: checked(version, "version")?,
            deployment_id: r.deployment_id,
        })
    }
}

impl LicensingApi {
    pub(super) async fn set_site_role(
        &self,
        context: CallContext,
        r: pb::SetSiteRoleRequest,
    ) -> Result<pb::SiteMembership> {
        let asked = NewSiteRole::try_from(r)?;
        let caller = self.caller(&context).await?;
        let current = self
            .visible_deployment(&caller, &asked.deployment_id, &[INTERNAL_SCOPE], ADMIN_ONLY)
            .await?;
        caller.require_admin_of(&current.account_id, &[INTERNAL_SCOPE])?;
        let membership =
            app::lblm::set_site_role(&self.db, &self.identity, &context, &current, &asked).await?;
        Ok(convert::membership(&membership))
    }

    pub(super) async fn authorize_to_run(
        &self,
        context: CallContext,
        r: pb::AuthorizeToRunRequest,
    ) -> Result<pb::AuthorizeToRunResponse> {
        let asked = RunRequest::try_from(r)?;
        let caller = self.caller(&context).await?;
        if !access::may_request_grant(&caller, &asked.email) {
            return Err(Error::denied(access::GRANT_REFUSAL));
        }
        // A person asks about a deployment of their own account; one elsewhere is refused like one that does not
        // exist, so neither its existence nor who is a user there shows. The back end learns which it is.
        let deployment =
            match store::deployments::find_deployment(&self.db, &asked.deployment_id).await {
                Ok(deployment) if access::may_request_grant_on(&caller, &deployment) => deployment,
                Ok(_) => return Err(Error::denied(access::GRANT_REFUSAL)),
                Err(Error::DeploymentNotFound) if !caller.has_scope(&[access::ACTIVATE]) => {
                    return Err(Error::denied(access::GRANT_REFUSAL));
                }
                Err(e) => return Err(e),
            };
        lblm::ensure_lblm(&deployment)?;
        let Some(member) = self
            .identity
            .member_by_email(&deployment.account_id, asked.email.as_str())
            .await?
        else {
            return Err(Error::UserNotInAccount);
        };
        let role =
            store::lblm::find_membership(&self.db, &deployment.deployment_id, &member.email_key())
                .await?
                .map(|m| m.site_role);
        lblm::ensure_may_run(role, asked.product)?;
        let creators = store::lblm::creators_in_order(&self.db, &deployment.deployment_id).await?;
        lblm::b11_ensure_within_seats(&creators, &member.email_key(), deployment.creator_seats)?;
        let now = Utc::now();
        let expire = now + self.grant_ttl;
        let grant = pb::RunGrant {
            grant_id: new_id("grt"),
            account_id: deployment.account_id.clone(),
            deployment_id: deployment.deployment_id.clone(),
            user_id: member.user_id.clone(),
            email: member.email.clone(),
            product: common::Product::from(asked.product) as i32,
            machine_fingerprint: asked.machine_fingerprint.clone(),
            issue_time: Some(to_proto(now)),
            expire_time: Some(to_proto(expire)),
        };
        let bytes = grant.encode_to_vec();
        let signature = self.grants.sign(&bytes);
        // The check-in is also the usage record Administrators see (L9).
        let check_in = RunCheckIn {
            deployment_id: deployment.deployment_id,
            account_id: deployment.account_id,
            email_key: member.email_key(),
            product: asked.product,
            machine_fingerprint: asked.machine_fingerprint,
            hostname: asked.hostname,
            version: asked.version,
            last_use_time: now,
            expire_time: expire,
        };
        store::lblm::record_check_in(&self.db, &check_in).await?;
        Ok(pb::AuthorizeToRunResponse {
            grant: bytes,
            signature,
            expire_time: Some(to_proto(expire)),
            signing_key_id: self.grants.key_id().into(),
        })
    }

    pub(super) async fn get_license_usage(
        &self,
        context: CallContext,
        r: pb::GetLicenseUsageRequest,
    ) -> Result<pb::GetLicenseUsageResponse> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[INTERNAL_SCOPE])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.finish().map_err(Error::invalid_fields)?;
        let deployments =
            store::deployments::list_deployments(&self.db, &r.account_id, true).await?;
        let members = store::lblm::memberships_of_account(&self.db, &r.account_id).await?;
        let check_ins = store::lblm::check_ins_of_account(&self.db, &r.account_id).await?;
        let mut rows = Vec::new();
        let mut seat_usage = Vec::new();
        for d in &deployments {
            let seats = lblm::creator_seat_usage(d, &members);
            seat_usage.push(pb::DeploymentSeatUsage {
                deployment_id: d.deployment_id.clone(),
                deployment_name: d.name.clone(),
                creator_seats: convert::clamp(seats.seats),
                creator_seats_used: convert::clamp(seats.used),
                creator_seats_unused: convert::clamp(seats.unused),
            });
            for m in members
                .iter()
                .filter(|m| m.deployment_id == d.deployment_id)
            {
                let row = |u: Option<&RunCheckIn>| pb::LicenseUsageRow {
                    deployment_id: d.deployment_id.clone(),
                    deployment_name: d.name.clone(),
                    user_id: m.user_id.clone(),
                    email: m.email.clone(),
                    site_role: convert::site_role_to_proto(m.site_role) as i32,
                    product: u.map_or(0, |u| common::Product::from(u.product) as i32),
                    machine_fingerprint: u
                        .map(|u| u.machine_fingerprint.clone())
                        .unwrap_or_default(),
                    hostname: u.map(|u| u.hostname.clone()).unwrap_or_default(),
                    version: u.map(|u| u.version.clone()).unwrap_or_default(),
                    last_use_time: u.map(|u| to_proto(u.last_use_time)),
                };
                let email_key = m.email.to_lowercase();
                let uses: Vec<&RunCheckIn> = check_ins
                    .iter()
                    .filter(|u| u.deployment_id == d.deployment_id && u.email_key == email_key)
                    .collect();
                if uses.is_empty() {
                    rows.push(row(None));
                } else {
                    rows.extend(uses.into_iter().map(|u| row(Some(u))));
                }
            }
        }
        Ok(pb::GetLicenseUsageResponse { rows, seat_usage })
    }
}
