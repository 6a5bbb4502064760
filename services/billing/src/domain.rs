//! The billing rules (B1–B10) as plain types and functions: no tonic, no database. Each rule is found by its id:
//! money (B1) in `money`, the catalog (B2) in `catalog`, purchases and their fulfilment (B3) in `purchase`,
//! invoices and payments (B4, B5) in `invoice`, the printed invoice (B7) in `printed`, renewals (B8) in
//! `renewal`, and what happens on and before a renewal date (B10) in `auto_renew`. Who may see and buy (B6) is the shared policy's (`portal_policy::Action`).

pub mod access;
pub mod auto_renew;
pub mod catalog;
pub mod invoice;
pub mod money;
pub mod printed;
pub mod purchase;
pub mod renewal;

pub use catalog::{Family, Grant, LicenseType, Product, Sku};
pub use invoice::{Invoice, InvoiceState, Line, Payment, Priced};
pub use money::{Currency, Money};
pub use purchase::{Answer, Issue, Issued, Item, Purchase, PurchaseState};
pub use renewal::{Renewal, RenewalState};
