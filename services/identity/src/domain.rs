//! The identity rules as plain types and functions: no tonic, no database. Handlers turn requests into these
//! commands, the use cases (`crate::app`) call these rules; the store persists these types. Where a rule lives:
//! - `account`: I1 (academic accounts have no portal access);
//! - `user`: I2 (unique address), I3 (role), I4 (permissions), I7 (last Administrator:
//!   `user::i7_keeps_an_administrator`), I8 (kept as removed);
//! - `update_mask`: I5 (the e-mail is never updated);
//! - `access`: I6 (who manages users), who may call the other identity RPCs, and the one rule that hides
//!   whether a user exists (`hide_whether_it_exists`);
//! - `eligibility`: I11; `contacts`: identity's part of N2.
//!
//! The persona and access decisions (I9, I10) and the e-mail syntax (I2) are `portal_policy`'s, shared with the
//! other services; I12 (the audit log) is written by `crate::app` in the transaction of each change.

pub mod access;
pub mod account;
pub mod contacts;
pub mod eligibility;
pub mod name;
pub mod update_mask;
pub mod user;

pub use account::{Account, NewAccount};
pub use contacts::{ContactKind, Recipients};
pub use eligibility::{Deployment, DeploymentKind, Eligibility, support_eligibility};
pub use name::{AccountName, DisplayName};
pub use portal_policy::Email;
pub use update_mask::{UpdateField, parse_update_mask};
pub use user::{NewUser, Permissions, Role, User, UserPatch, UserState};
