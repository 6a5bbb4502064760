//! The licensing use cases, one file per resource. Each takes a typed command and the caller, and reads as the
//! story of the call: claim the request id, load, decide (domain), write (store), audit, commit. It returns
//! domain types; `rpc` translates requests and answers around it, and `jobs` call it too, never `rpc`.

pub mod activations;
pub mod assignments;
mod audit;
pub mod deployments;
pub mod elearning;
pub mod holdings;
pub mod keys;
pub mod lblm;
pub mod reports;
pub mod revocations;
pub mod sites;
