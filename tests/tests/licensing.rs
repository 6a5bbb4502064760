//! LicensingService end to end (L1–L12), over tonic against the real services, on SQLite and PostgreSQL: one
//! module per resource, and the fixtures they share.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

// One binary per suite, its modules in `licensing/`: a crate root finds them there only through `#[path]`.
#[path = "licensing/activations.rs"]
mod activations;
#[path = "licensing/assignments.rs"]
mod assignments;
#[path = "licensing/deployments.rs"]
mod deployments;
#[path = "licensing/elearning.rs"]
mod elearning;
#[path = "licensing/keys.rs"]
mod keys;
#[path = "licensing/lblm.rs"]
mod lblm;
#[path = "licensing/reports.rs"]
mod reports;

use chrono::{Duration, Utc};
use portal_proto::{
    common::{KeyFamily, LicenseType, Product},
    licensing as pb,
};
use portal_runtime::time::to_proto;
use portal_testkit::TestApp;

/// A one-year term key of `family` with `seats`, for `account_id`.
fn issue(account_id: &str, family: KeyFamily, seats: i32) -> pb::IssueKeysRequest {
    pb::IssueKeysRequest {
        account_id: account_id.into(),
        family: family as i32,
        seats,
        license_type: LicenseType::Term as i32,
        period_end: Some(to_proto(Utc::now() + Duration::days(365))),
        maintenance_end: Some(to_proto(Utc::now() + Duration::days(365))),
        count: 1,
        request_id: String::new(),
        lblm_enabled: false,
        purchase_id: String::new(),
    }
}

/// Issues one such key through an issuer principal.
async fn one_key(app: &TestApp, account_id: &str, family: KeyFamily, seats: i32) -> pb::ProductKey {
    let mut issuer = app
        .licensing(&app.service_token("issuer", "licensing.issue"))
        .await;
    issuer
        .issue_keys(issue(account_id, family, seats))
        .await
        .unwrap()
        .into_inner()
        .keys
        .remove(0)
}

/// An activation of `key` for `product` on `machine`.
fn activate(key: &str, product: Product, machine: &str) -> pb::ActivateKeyRequest {
    pb::ActivateKeyRequest {
        key: key.into(),
        product: product as i32,
        machine_fingerprint: machine.into(),
        hostname: format!("{machine}.local"),
        version: "2026.3".into(),
        user_email: String::new(),
    }
}
