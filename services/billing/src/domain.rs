//! The billing rules (B1–B11) as plain types and functions: no tonic, no database. Each rule is found by its id:
//! money (B1) in `money`, the catalog (B2) in `catalog`, what may be ordered (B3) in `order`, purchases and
//! their fulfilment (B3, B9, B11) in `purchase`, invoices and payments (B4, B5) in `invoice`, the printed
//! invoice (B7) in `printed` (its free text in `text`), renewals (B8) in `renewal`, and what happens on and
//! before a renewal date (B10) in `auto_renew`; the dates both read are in `calendar`, licensing's answers in
//! `answer`. Who may see and buy (B6) is the shared policy's (`portal_policy::Action`).
//!
//! The modules import one another one way only: `money`, `text`, `calendar` and `answer` at the bottom, then
//! `catalog`, `order`, `invoice`, then `printed`, `purchase` and `renewal`, then `auto_renew`.

pub mod access;
pub mod answer;
pub mod auto_renew;
pub mod calendar;
pub mod catalog;
pub mod invoice;
pub mod money;
pub mod order;
pub mod printed;
pub mod purchase;
pub mod renewal;
pub mod text;

pub use answer::Answer;
pub use catalog::{Family, Grant, LicenseType, Product, Sku};
pub use invoice::{Invoice, InvoiceState, Line, Payment, Priced};
pub use money::{Currency, Money};
pub use order::Item;
pub use purchase::{Issue, Issued, Purchase, PurchaseState};
pub use renewal::{Renewal, RenewalState};
