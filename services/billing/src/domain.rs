//! The billing rules (B1–B8) as plain types and functions: no tonic, no database.

pub mod catalog;
pub mod invoice;
pub mod money;
pub mod purchase;
pub mod renewal;

pub use catalog::{Family, Grant, LicenseType, Product, Sku};
pub use invoice::{InvoiceState, Priced};
pub use money::{Currency, Money};
pub use purchase::{Issue, Item, PurchaseState};
pub use renewal::RenewalState;
