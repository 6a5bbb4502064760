//! Translation between the protobuf contract and the licensing domain.

use std::collections::HashMap;

use portal_proto::{common, licensing as pb};
use portal_runtime::{error::FieldViolation, time::to_proto};

use crate::{
    domain::{Family, FulfillmentPool, KeyState, LicenseType, Product},
    store::{activation, deployment, key},
};

pub fn family(field: &str, raw: i32) -> Result<Family, FieldViolation> {
    match common::KeyFamily::try_from(raw) {
        Ok(common::KeyFamily::Tc) => Ok(Family::Tc),
        Ok(common::KeyFamily::Td) => Ok(Family::Td),
        Ok(common::KeyFamily::Ts) => Ok(Family::Ts),
        _ => Err(FieldViolation::new(
            field,
            "must be KEY_FAMILY_TC, KEY_FAMILY_TD or KEY_FAMILY_TS",
        )),
    }
}

pub fn family_to_proto(family: Family) -> common::KeyFamily {
    match family {
        Family::Tc => common::KeyFamily::Tc,
        Family::Td => common::KeyFamily::Td,
        Family::Ts => common::KeyFamily::Ts,
    }
}

pub fn license_type(field: &str, raw: i32) -> Result<LicenseType, FieldViolation> {
    match common::LicenseType::try_from(raw) {
        Ok(common::LicenseType::Term) => Ok(LicenseType::Term),
        Ok(common::LicenseType::Perpetual) => Ok(LicenseType::Perpetual),
        _ => Err(FieldViolation::new(
            field,
            "must be LICENSE_TYPE_TERM or LICENSE_TYPE_PERPETUAL",
        )),
    }
}

pub fn product(field: &str, raw: i32) -> Result<Product, FieldViolation> {
    match common::Product::try_from(raw) {
        Ok(common::Product::Desktop) => Ok(Product::Desktop),
        Ok(common::Product::PrepBuilder) => Ok(Product::PrepBuilder),
        Ok(common::Product::Server) => Ok(Product::Server),
        Ok(common::Product::Elearning) => Ok(Product::Elearning),
        _ => Err(FieldViolation::new(
            field,
            "must be a known PRODUCT_* value",
        )),
    }
}

pub fn product_to_proto(product: Product) -> common::Product {
    match product {
        Product::Desktop => common::Product::Desktop,
        Product::PrepBuilder => common::Product::PrepBuilder,
        Product::Server => common::Product::Server,
        Product::Elearning => common::Product::Elearning,
    }
}

fn state_to_proto(state: KeyState) -> pb::KeyState {
    match state {
        KeyState::Active => pb::KeyState::Active,
        KeyState::Expired => pb::KeyState::Expired,
        KeyState::Revoked => pb::KeyState::Revoked,
    }
}

/// A key as the caller sees it; `usage` holds active fulfillments per (key, product).
pub fn key(
    row: &key::Model,
    assignees: Vec<String>,
    usage: &HashMap<(String, Product), u64>,
) -> pb::ProductKey {
    let family = Family::parse(&row.family).unwrap_or(Family::Tc);
    let seats = u64::try_from(row.seats).unwrap_or(0);
    let pools: Vec<pb::FulfillmentPool> = family
        .products()
        .iter()
        .map(|p| {
            let used = usage.get(&(row.key_id.clone(), *p)).copied().unwrap_or(0);
            pb::FulfillmentPool {
                product: product_to_proto(*p) as i32,
                used: clamp(used),
                limit: clamp(FulfillmentPool::limit(*p, seats)),
            }
        })
        .collect();
    pb::ProductKey {
        key_id: row.key_id.clone(),
        key: row.key.clone(),
        account_id: row.account_id.clone(),
        family: family_to_proto(family) as i32,
        seats: clamp(seats),
        license_type: match LicenseType::parse(&row.license_type).unwrap_or(LicenseType::Term) {
            LicenseType::Term => common::LicenseType::Term,
            LicenseType::Perpetual => common::LicenseType::Perpetual,
        } as i32,
        period_end: row.period_end.map(to_proto),
        maintenance_end: Some(to_proto(row.maintenance_end)),
        state: state_to_proto(KeyState::parse(&row.state)) as i32,
        owner_user_id: row.owner_user_id.clone().unwrap_or_default(),
        assignee_emails: assignees,
        activations_used: pools.iter().map(|p| p.used).sum(),
        activations_limit: pools.iter().map(|p| p.limit).sum(),
        lblm_enabled: row.lblm_enabled,
        deployment_id: row.deployment_id.clone().unwrap_or_default(),
        products: family
            .products()
            .iter()
            .map(|p| product_to_proto(*p) as i32)
            .collect(),
        purchase_id: row.purchase_id.clone().unwrap_or_default(),
        create_time: Some(to_proto(row.create_time)),
        update_time: Some(to_proto(row.update_time)),
        pools,
    }
}

pub fn activation(row: &activation::Model, key: &str) -> pb::Activation {
    pb::Activation {
        activation_id: row.activation_id.clone(),
        key_id: row.key_id.clone(),
        machine_fingerprint: row.machine_fingerprint.clone(),
        create_time: Some(to_proto(row.create_time)),
        product: Product::parse(&row.product).map_or(common::Product::Unspecified, product_to_proto)
            as i32,
        hostname: row.hostname.clone(),
        version: row.version.clone(),
        user_email: row.user_email.clone(),
        state: if row.state == crate::store::ACTIVE {
            pb::ActivationState::Active
        } else {
            pb::ActivationState::Deactivated
        } as i32,
        last_use_time: Some(to_proto(row.last_use_time)),
        deactivate_time: row.deactivate_time.map(to_proto),
        key_last_group: key.rsplit('-').next().unwrap_or_default().to_string(),
    }
}

pub fn deployment(row: &deployment::Model) -> pb::Deployment {
    pb::Deployment {
        deployment_id: row.deployment_id.clone(),
        account_id: row.account_id.clone(),
        kind: if row.kind == "CLOUD_SITE" {
            pb::DeploymentKind::CloudSite
        } else {
            pb::DeploymentKind::OnPremise
        } as i32,
        name: row.name.clone(),
        state: if row.state == crate::store::ACTIVE {
            pb::DeploymentState::Active
        } else {
            pb::DeploymentState::Inactive
        } as i32,
        lblm_enabled: row.lblm_enabled,
        creator_seats: i32::try_from(row.creator_seats).unwrap_or(i32::MAX),
        key_id: row.key_id.clone().unwrap_or_default(),
        creator_seats_used: 0,
        create_time: Some(to_proto(row.create_time)),
        update_time: Some(to_proto(row.update_time)),
    }
}

fn clamp(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
