//! Login-based licensing (L9): site roles with limited Creator seats, signed authorizations to run, and the
//! usage Administrators see.

use chrono::Utc;
use portal_proto::licensing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    new_id,
    time::to_proto,
};
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use crate::{
    LicensingApi,
    authz::{ACTIVATE, INTERNAL},
    convert,
    domain::{Product, SiteRole, lblm},
    error::{Error, Result},
    store::{self, deployment, membership, run_usage},
};

fn site_role(raw: i32) -> Option<SiteRole> {
    match pb::SiteRole::try_from(raw) {
        Ok(pb::SiteRole::Creator) => Some(SiteRole::Creator),
        Ok(pb::SiteRole::Explorer) => Some(SiteRole::Explorer),
        Ok(pb::SiteRole::Viewer) => Some(SiteRole::Viewer),
        _ => None,
    }
}

fn site_role_to_proto(role: &str) -> pb::SiteRole {
    match SiteRole::parse(role) {
        Some(SiteRole::Creator) => pb::SiteRole::Creator,
        Some(SiteRole::Explorer) => pb::SiteRole::Explorer,
        Some(SiteRole::Viewer) => pb::SiteRole::Viewer,
        None => pb::SiteRole::Unspecified,
    }
}

fn membership_to_proto(row: &membership::Model) -> pb::SiteMembership {
    pb::SiteMembership {
        deployment_id: row.deployment_id.clone(),
        email: row.email.clone(),
        user_id: row.user_id.clone(),
        site_role: site_role_to_proto(&row.site_role) as i32,
        create_time: Some(to_proto(row.create_time)),
        update_time: Some(to_proto(row.update_time)),
    }
}

fn ensure_lblm(deployment: &deployment::Model) -> Result<()> {
    if !deployment.lblm_enabled {
        return Err(Error::LblmNotEnabled);
    }
    if deployment.state != store::ACTIVE {
        return Err(Error::DeploymentInactive);
    }
    Ok(())
}

impl LicensingApi {
    pub(super) async fn set_site_role(
        &self,
        context: CallContext,
        r: pb::SetSiteRoleRequest,
    ) -> Result<pb::SiteMembership> {
        let mut v = Violations::default();
        v.require("deployment_id", &r.deployment_id);
        let email = v.check(super::keys::email("email", &r.email));
        let role = site_role(r.site_role);
        if role.is_none() {
            v.add(
                "site_role",
                "must be SITE_ROLE_CREATOR, SITE_ROLE_EXPLORER or SITE_ROLE_VIEWER",
            );
        }
        v.finish().map_err(Error::invalid_fields)?;
        let (Some(email), Some(role)) = (email, role) else {
            return Err(Error::invalid("request", "incomplete"));
        };
        let caller = self.caller(&context).await?;
        let current = match store::find_deployment(&self.db, &r.deployment_id).await {
            Err(Error::DeploymentNotFound) if caller.member().is_some() => {
                return Err(Error::denied("no such deployment visible to you"));
            }
            other => other?,
        };
        caller.require_admin_of(&current.account_id, &[INTERNAL])?;
        ensure_lblm(&current)?;
        let Some(member) = self
            .identity
            .member_by_email(&current.account_id, &email)
            .await?
        else {
            return Err(Error::UserNotInAccount);
        };
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        store::lock_deployment(&txn, &current.deployment_id).await?;
        let deployment = store::find_deployment(&txn, &current.deployment_id).await?;
        let creators = membership::Entity::find()
            .filter(membership::Column::DeploymentId.eq(deployment.deployment_id.as_str()))
            .filter(membership::Column::SiteRole.eq(SiteRole::Creator.as_str()))
            .filter(membership::Column::EmailKey.ne(member.email_key()))
            .count(&txn)
            .await?;
        lblm::ensure_creator_seat(
            role,
            creators,
            u64::try_from(deployment.creator_seats).unwrap_or(0),
        )?;
        let now = Utc::now();
        let existing =
            membership::Entity::find_by_id((deployment.deployment_id.clone(), member.email_key()))
                .one(&txn)
                .await?;
        let before = existing.as_ref().map(|m| m.site_role.clone());
        let row = match existing {
            Some(existing) => {
                let mut active: membership::ActiveModel = existing.into();
                active.site_role = Set(role.as_str().into());
                active.update_time = Set(now);
                active.update(&txn).await?
            }
            None => {
                membership::ActiveModel {
                    deployment_id: Set(deployment.deployment_id.clone()),
                    email_key: Set(member.email_key()),
                    email: Set(member.email.clone()),
                    user_id: Set(member.user_id.clone()),
                    account_id: Set(deployment.account_id.clone()),
                    site_role: Set(role.as_str().into()),
                    create_time: Set(now),
                    update_time: Set(now),
                }
                .insert(&txn)
                .await?
            }
        };
        let change = Change {
            account_id: &deployment.account_id,
            action: "SetSiteRole",
            resource_type: "deployment",
            resource_id: &deployment.deployment_id,
            before: Some(json!({ "email": member.email, "site_role": before })),
            after: Some(json!({ "email": member.email, "site_role": role.as_str() })),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        Ok(membership_to_proto(&row))
    }

    pub(super) async fn authorize_to_run(
        &self,
        context: CallContext,
        r: pb::AuthorizeToRunRequest,
    ) -> Result<pb::AuthorizeToRunResponse> {
        let mut v = Violations::default();
        v.require("deployment_id", &r.deployment_id);
        v.require("machine_fingerprint", &r.machine_fingerprint);
        let email = v.check(super::keys::email("email", &r.email));
        let product = v.check(convert::product("product", r.product));
        for (field, value) in [
            ("machine_fingerprint", &r.machine_fingerprint),
            ("hostname", &r.hostname),
            ("version", &r.version),
        ] {
            if value.len() > 256 {
                v.add(field, "must be at most 256 bytes");
            }
        }
        v.finish().map_err(Error::invalid_fields)?;
        let (Some(email), Some(product)) = (email, product) else {
            return Err(Error::invalid("request", "incomplete"));
        };
        let caller = self.caller(&context).await?;
        let is_self = caller
            .member()
            .is_some_and(|m| m.email.eq_ignore_ascii_case(&email));
        if !(caller.has_scope(&[ACTIVATE]) || is_self) {
            return Err(Error::denied(
                "only the person themself or the activation back end may ask",
            ));
        }
        let deployment = store::find_deployment(&self.db, &r.deployment_id).await?;
        ensure_lblm(&deployment)?;
        let Some(member) = self
            .identity
            .member_by_email(&deployment.account_id, &email)
            .await?
        else {
            return Err(Error::UserNotInAccount);
        };
        let role =
            membership::Entity::find_by_id((deployment.deployment_id.clone(), member.email_key()))
                .one(&self.db)
                .await?
                .and_then(|m| SiteRole::parse(&m.site_role));
        lblm::ensure_may_run(role, product)?;
        let now = Utc::now();
        let expire = now + self.grant_ttl;
        let grant = pb::RunGrant {
            grant_id: new_id("grt"),
            account_id: deployment.account_id.clone(),
            deployment_id: deployment.deployment_id.clone(),
            user_id: member.user_id.clone(),
            email: member.email.clone(),
            product: convert::product_to_proto(product) as i32,
            machine_fingerprint: r.machine_fingerprint.clone(),
            issue_time: Some(to_proto(now)),
            expire_time: Some(to_proto(expire)),
        };
        let bytes = grant.encode_to_vec();
        let signature = self.grants.sign(&bytes);
        // The check-in is also the usage record Administrators see (L9).
        let usage = run_usage::ActiveModel {
            deployment_id: Set(deployment.deployment_id.clone()),
            email_key: Set(member.email_key()),
            product: Set(product.as_str().into()),
            machine_fingerprint: Set(r.machine_fingerprint.clone()),
            account_id: Set(deployment.account_id.clone()),
            hostname: Set(r.hostname.clone()),
            version: Set(r.version.clone()),
            last_use_time: Set(now),
            expire_time: Set(expire),
        };
        run_usage::Entity::insert(usage)
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([
                    run_usage::Column::DeploymentId,
                    run_usage::Column::EmailKey,
                    run_usage::Column::Product,
                    run_usage::Column::MachineFingerprint,
                ])
                .update_columns([
                    run_usage::Column::Hostname,
                    run_usage::Column::Version,
                    run_usage::Column::LastUseTime,
                    run_usage::Column::ExpireTime,
                ])
                .to_owned(),
            )
            .exec(&self.db)
            .await?;
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
        caller.require_admin_of(&r.account_id, &[INTERNAL])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.finish().map_err(Error::invalid_fields)?;
        let deployments = deployment::Entity::find()
            .filter(deployment::Column::AccountId.eq(r.account_id.as_str()))
            .filter(deployment::Column::LblmEnabled.eq(true))
            .order_by_asc(deployment::Column::DeploymentId)
            .all(&self.db)
            .await?;
        let members = membership::Entity::find()
            .filter(membership::Column::AccountId.eq(r.account_id.as_str()))
            .order_by_asc(membership::Column::EmailKey)
            .all(&self.db)
            .await?;
        let usage = run_usage::Entity::find()
            .filter(run_usage::Column::AccountId.eq(r.account_id.as_str()))
            .all(&self.db)
            .await?;
        let mut rows = Vec::new();
        let mut seat_usage = Vec::new();
        for d in &deployments {
            let on_site: Vec<&membership::Model> = members
                .iter()
                .filter(|m| m.deployment_id == d.deployment_id)
                .collect();
            let creators = on_site
                .iter()
                .filter(|m| m.site_role == SiteRole::Creator.as_str())
                .count() as i64;
            let clamp = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
            seat_usage.push(pb::DeploymentSeatUsage {
                deployment_id: d.deployment_id.clone(),
                deployment_name: d.name.clone(),
                creator_seats: clamp(d.creator_seats),
                creator_seats_used: clamp(creators),
                creator_seats_unused: clamp((d.creator_seats - creators).max(0)),
            });
            for m in on_site {
                let uses: Vec<&run_usage::Model> = usage
                    .iter()
                    .filter(|u| u.deployment_id == d.deployment_id && u.email_key == m.email_key)
                    .collect();
                let row = |u: Option<&run_usage::Model>| pb::LicenseUsageRow {
                    deployment_id: d.deployment_id.clone(),
                    deployment_name: d.name.clone(),
                    user_id: m.user_id.clone(),
                    email: m.email.clone(),
                    site_role: site_role_to_proto(&m.site_role) as i32,
                    product: u
                        .and_then(|u| Product::parse(&u.product))
                        .map_or(0, |p| convert::product_to_proto(p) as i32),
                    machine_fingerprint: u
                        .map(|u| u.machine_fingerprint.clone())
                        .unwrap_or_default(),
                    hostname: u.map(|u| u.hostname.clone()).unwrap_or_default(),
                    version: u.map(|u| u.version.clone()).unwrap_or_default(),
                    last_use_time: u.map(|u| to_proto(u.last_use_time)),
                };
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
