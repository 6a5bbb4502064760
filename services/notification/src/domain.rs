//! The notification rules (N1–N12) as plain types and functions: no tonic, no queries, no SMTP. Each rule is
//! found by its id: `grep -rn N3 src/domain`.
//! (N13, N14: what comes back — return paths and reports — in [`bounce`].)
//!
//! The enums that are stored (kind, severity, TLP label, states, notice kind) derive sea-orm's `DeriveActiveEnum` so the
//! ledger's columns are typed with exactly the strings stored today; that derive is their only tie to storage.

pub mod acknowledgement;
pub mod advisory;
pub mod bounce;
pub mod csaf;
pub mod cvss;
pub mod delivery;
pub mod escalation;
pub mod notice;
pub mod recipients;
pub mod reminder;
pub mod report;
pub mod tlp;

pub use advisory::{Advisory, AdvisoryContent, AdvisoryState, Kind, NewAdvisory, Severity, Target};
pub use delivery::{About, Counts, Delivery, DeliveryState, RetryPolicy, n3_message_id};
pub use escalation::{AccountLedger, Tally};
pub use notice::{NewNotice, NoticeKind, NoticePayload, StoredAttachment};
pub use recipients::{ContactRole, Coverage, Recipient, UnreachableAccount};
pub use tlp::Tlp;
