//! IdentityService end to end (I1–I12), over tonic against the real services, on SQLite and PostgreSQL: one
//! module per resource, and the fixtures they share.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

// One binary per suite, its modules in `identity/`: a crate root finds them there only through `#[path]`.
#[path = "identity/access.rs"]
mod access;
#[path = "identity/accounts.rs"]
mod accounts;
#[path = "identity/administrators.rs"]
mod administrators;
#[path = "identity/audit.rs"]
mod audit;
#[path = "identity/contacts.rs"]
mod contacts;
#[path = "identity/users.rs"]
mod users;
#[path = "identity/validation.rs"]
mod validation;

use portal_proto::identity::{CreateUserRequest, Role};
use prost_types::FieldMask;

/// A user of `account_id` with no additional permissions.
fn new_user(account_id: &str, email: &str, role: Role) -> CreateUserRequest {
    CreateUserRequest {
        account_id: account_id.into(),
        email: email.into(),
        display_name: "Someone".into(),
        role: role as i32,
        additional_permissions: vec![],
        request_id: String::new(),
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}
