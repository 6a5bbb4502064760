//! The licensing rules (L1–L12) as plain types and functions: no tonic, no database.

pub mod key;
pub mod pool;

pub use key::{Family, KeyState, KeyString, LicenseType, Product, ensure_activatable, refresh, ensure_seat_free};
pub use pool::FulfillmentPool;
