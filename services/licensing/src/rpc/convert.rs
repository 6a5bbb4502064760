//! Translation between the protobuf contract and the licensing domain: enums in (a zero or unknown value is a
//! field violation) and domain values out.

use std::collections::HashMap;

use portal_proto::{common, licensing as pb, vocabulary};
use portal_runtime::{error::FieldViolation, time::to_proto};

use crate::domain::{
    Activation, ActivationState, Deployment, DeploymentKind, DeploymentState, ElearningCode,
    Environment, Family, FulfillmentPool, Key, KeyState, LicenseType, Product, SiteMembership,
    SiteRole, report::Report,
};

pub fn family(field: &str, raw: i32) -> Result<Family, FieldViolation> {
    vocabulary::family(raw).map_err(|()| {
        FieldViolation::new(
            field,
            "must be KEY_FAMILY_TC, KEY_FAMILY_TD or KEY_FAMILY_TS",
        )
    })
}

pub fn license_type(field: &str, raw: i32) -> Result<LicenseType, FieldViolation> {
    vocabulary::license_type(raw).map_err(|()| {
        FieldViolation::new(field, "must be LICENSE_TYPE_TERM or LICENSE_TYPE_PERPETUAL")
    })
}

pub fn product(field: &str, raw: i32) -> Result<Product, FieldViolation> {
    vocabulary::product(raw)
        .map_err(|()| FieldViolation::new(field, "must be a known PRODUCT_* value"))
}

fn key_state_to_proto(state: KeyState) -> pb::KeyState {
    match state {
        KeyState::Active => pb::KeyState::Active,
        KeyState::Expired => pb::KeyState::Expired,
        KeyState::Revoked => pb::KeyState::Revoked,
    }
}

pub fn deployment_kind(field: &str, raw: i32) -> Result<DeploymentKind, FieldViolation> {
    match pb::DeploymentKind::try_from(raw) {
        Ok(pb::DeploymentKind::OnPremise) => Ok(DeploymentKind::OnPremise),
        Ok(pb::DeploymentKind::CloudSite) => Ok(DeploymentKind::CloudSite),
        _ => Err(FieldViolation::new(
            field,
            "must be DEPLOYMENT_KIND_ON_PREMISE or DEPLOYMENT_KIND_CLOUD_SITE",
        )),
    }
}

/// L14: an environment asked for; unspecified asks for none.
pub fn environment(field: &str, raw: i32) -> Result<Option<Environment>, FieldViolation> {
    match pb::DeploymentEnvironment::try_from(raw) {
        Ok(pb::DeploymentEnvironment::Unspecified) => Ok(None),
        Ok(pb::DeploymentEnvironment::Production) => Ok(Some(Environment::Production)),
        Ok(pb::DeploymentEnvironment::NonProduction) => Ok(Some(Environment::NonProduction)),
        Err(_) => Err(FieldViolation::new(
            field,
            "must be a known DEPLOYMENT_ENVIRONMENT_* value",
        )),
    }
}

pub fn deployment_state(field: &str, raw: i32) -> Result<DeploymentState, FieldViolation> {
    match pb::DeploymentState::try_from(raw) {
        Ok(pb::DeploymentState::Active) => Ok(DeploymentState::Active),
        Ok(pb::DeploymentState::Inactive) => Ok(DeploymentState::Inactive),
        _ => Err(FieldViolation::new(
            field,
            "must be DEPLOYMENT_STATE_ACTIVE or DEPLOYMENT_STATE_INACTIVE",
        )),
    }
}

pub fn site_role(field: &str, raw: i32) -> Result<SiteRole, FieldViolation> {
    match pb::SiteRole::try_from(raw) {
        Ok(pb::SiteRole::Creator) => Ok(SiteRole::Creator),
        Ok(pb::SiteRole::Explorer) => Ok(SiteRole::Explorer),
        Ok(pb::SiteRole::Viewer) => Ok(SiteRole::Viewer),
        _ => Err(FieldViolation::new(
            field,
            "must be SITE_ROLE_CREATOR, SITE_ROLE_EXPLORER or SITE_ROLE_VIEWER",
        )),
    }
}

pub fn site_role_to_proto(role: SiteRole) -> pb::SiteRole {
    match role {
        SiteRole::Creator => pb::SiteRole::Creator,
        SiteRole::Explorer => pb::SiteRole::Explorer,
        SiteRole::Viewer => pb::SiteRole::Viewer,
    }
}

/// A count for an `int32` field of the contract.
pub fn clamp(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A key as the caller sees it; `usage` holds active fulfillments per (key, product).
pub fn key(
    key: &Key,
    assignees: Vec<String>,
    usage: &HashMap<(String, Product), u64>,
) -> pb::ProductKey {
    let pools: Vec<pb::FulfillmentPool> = key
        .family
        .products()
        .iter()
        .map(|p| {
            let used = usage.get(&(key.key_id.clone(), *p)).copied().unwrap_or(0);
            pb::FulfillmentPool {
                product: common::Product::from(*p) as i32,
                used: clamp(used),
                limit: clamp(FulfillmentPool::limit(*p, key.seats)),
            }
        })
        .collect();
    pb::ProductKey {
        key_id: key.key_id.clone(),
        key: key.key.as_str().to_string(),
        account_id: key.account_id.clone(),
        family: common::KeyFamily::from(key.family) as i32,
        seats: clamp(key.seats),
        license_type: common::LicenseType::from(key.license_type) as i32,
        period_end: key.period_end.map(to_proto),
        maintenance_end: Some(to_proto(key.maintenance_end)),
        state: key_state_to_proto(key.state) as i32,
        owner_user_id: key.owner_user_id.clone().unwrap_or_default(),
        assignee_emails: assignees,
        activations_used: pools.iter().map(|p| p.used).sum(),
        activations_limit: pools.iter().map(|p| p.limit).sum(),
        lblm_enabled: key.lblm_enabled,
        deployment_id: key.deployment_id.clone().unwrap_or_default(),
        products: key
            .family
            .products()
            .iter()
            .map(|p| common::Product::from(*p) as i32)
            .collect(),
        purchase_id: key.purchase_id.clone().unwrap_or_default(),
        create_time: Some(to_proto(key.create_time)),
        update_time: Some(to_proto(key.update_time)),
        pools,
        revoke_reason: key
            .revoked
            .as_ref()
            .map(|r| r.reason.clone())
            .unwrap_or_default(),
        revoke_time: key.revoked.as_ref().map(|r| to_proto(r.time)),
    }
}

/// An activation, with its key's last group (`""` when the key is not known to the caller).
pub fn activation(a: &Activation, key_last_group: &str) -> pb::Activation {
    pb::Activation {
        activation_id: a.activation_id.clone(),
        key_id: a.key_id.clone(),
        machine_fingerprint: a.machine_fingerprint.clone(),
        create_time: Some(to_proto(a.create_time)),
        product: common::Product::from(a.product) as i32,
        hostname: a.hostname.clone(),
        version: a.version.clone(),
        user_email: a.user_email.clone(),
        state: match a.state {
            ActivationState::Active => pb::ActivationState::Active,
            ActivationState::Deactivated => pb::ActivationState::Deactivated,
        } as i32,
        last_use_time: Some(to_proto(a.last_use_time)),
        deactivate_time: a.deactivate_time.map(to_proto),
        key_last_group: key_last_group.to_string(),
    }
}

pub fn deployment(d: &Deployment) -> pb::Deployment {
    pb::Deployment {
        deployment_id: d.deployment_id.clone(),
        account_id: d.account_id.clone(),
        kind: match d.kind {
            DeploymentKind::OnPremise => pb::DeploymentKind::OnPremise,
            DeploymentKind::CloudSite => pb::DeploymentKind::CloudSite,
        } as i32,
        name: d.name.clone(),
        state: match d.state {
            DeploymentState::Active => pb::DeploymentState::Active,
            DeploymentState::Inactive => pb::DeploymentState::Inactive,
        } as i32,
        lblm_enabled: d.lblm_enabled,
        creator_seats: clamp(d.creator_seats),
        key_id: d.key_id.clone().unwrap_or_default(),
        creator_seats_used: 0,
        create_time: Some(to_proto(d.create_time)),
        update_time: Some(to_proto(d.update_time)),
        environment: match d.environment {
            Environment::Production => pb::DeploymentEnvironment::Production,
            Environment::NonProduction => pb::DeploymentEnvironment::NonProduction,
        } as i32,
    }
}

pub fn membership(m: &SiteMembership) -> pb::SiteMembership {
    pb::SiteMembership {
        deployment_id: m.deployment_id.clone(),
        email: m.email.clone(),
        user_id: m.user_id.clone(),
        site_role: site_role_to_proto(m.site_role) as i32,
        create_time: Some(to_proto(m.create_time)),
        update_time: Some(to_proto(m.update_time)),
    }
}

pub fn report(r: &Report) -> pb::ActivationReport {
    pb::ActivationReport {
        report_id: r.report_id.clone(),
        account_id: r.account_id.clone(),
        requester_user_id: r.requester_user_id.clone(),
        create_time: Some(to_proto(r.create_time)),
        row_count: clamp(r.row_count),
        csv: r.csv.clone().into_bytes(),
    }
}

pub fn code(c: &ElearningCode) -> pb::ElearningCode {
    pb::ElearningCode {
        code: c.code.clone(),
        account_id: c.account_id.clone(),
        purchase_id: c.purchase_id.clone().unwrap_or_default(),
        redeemed_by_email: c.redeemed_by_email.clone().unwrap_or_default(),
        redeem_time: c.redeem_time.map(to_proto),
        create_time: Some(to_proto(c.create_time)),
    }
}
