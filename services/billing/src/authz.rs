//! Who is calling billing, and what they may do (B6 via the shared policy, I10): Portal Administrators of an
//! account see its invoices, purchase and pay; service principals act within their scopes. The checks are the
//! shared [`portal_clients::Caller`]'s.

pub use portal_clients::Caller;

pub const INTERNAL: &str = "internal";
pub const PAYMENTS: &str = "billing.payments";
pub const CATALOG: &str = "billing.catalog";
