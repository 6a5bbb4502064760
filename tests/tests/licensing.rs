//! LicensingService end to end (L1–L14), over tonic against the real services, on SQLite and PostgreSQL: one
//! module per resource, and the fixtures they share (keys come from `TestApp::issue_key` / `fixtures::term_key`).

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
#[path = "licensing/revocations.rs"]
mod revocations;

use portal_proto::{common::Product, licensing as pb};

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
