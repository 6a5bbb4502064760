//! The identity rules (I1–I11) as plain types and functions: no tonic, no database. Handlers translate to and
//! from these; the store persists them.

pub mod contacts;
pub mod eligibility;
pub mod user;

pub use eligibility::{Deployment, DeploymentKind, Eligibility, support_eligibility};
pub use user::{
    AccountName, DisplayName, Email, Permissions, Role, UpdateField, UserState,
    ensure_keeps_an_administrator, ensure_portal_access, parse_update_mask,
};
