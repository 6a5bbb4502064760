//! The licensing rules (L1–L14) as plain types and functions: no tonic, no database. Each rule is found by its
//! id: `grep -rn L6 src/domain` lands on the function that decides it.

pub mod access;
pub mod activation;
pub mod deployment;
pub mod elearning;
pub mod grant;
pub mod holders;
pub mod key;
pub mod key_string;
pub mod lblm;
pub mod pool;
pub mod refresh;
pub mod report;
pub mod revocation;
pub mod site;

pub use access::KeyScope;
pub use activation::{Activation, ActivationState, NewActivation};
pub use deployment::{
    Deployment, DeploymentKind, DeploymentPatch, DeploymentState, Environment, NewDeployment,
};
pub use elearning::{ElearningCode, NewElearningCodes};
pub use grant::GrantSigner;
pub use key::{Key, KeyState, NewKeys, ensure_activatable, ensure_seat_free};
pub use key_string::KeyString;
pub use lblm::{RunCheckIn, SiteMembership, SiteRole};
pub use pool::{FulfillmentPool, Take, l6_activate};
pub use portal_policy::{Email, Family, LicenseType, Product};
pub use refresh::{Refreshed, refresh};
pub use revocation::{KeyRevocation, Revocation, RevocationPlan, Revoked, l13_plan};
