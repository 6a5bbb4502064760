//! The licensing rules (L1–L12) as plain types and functions: no tonic, no database.

pub mod key;
pub mod lblm;
pub mod pool;
pub mod report;

pub use key::{
    Family, KeyState, KeyString, LicenseType, Product, ensure_activatable, ensure_seat_free,
    refresh,
};
pub use lblm::{GrantSigner, SiteRole};
pub use pool::FulfillmentPool;
