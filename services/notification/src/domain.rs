//! The notification rules (N1–N6) as plain types and functions: no tonic, no database, no SMTP.

pub mod advisory;
pub mod delivery;

pub use advisory::{AdvisoryContent, Kind, Severity, Target, advisory_id};
pub use delivery::{DeliveryState, RetryPolicy, message_id};
