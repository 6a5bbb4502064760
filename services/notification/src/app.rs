//! Use cases that more than one way in shares: an RPC and the public page both acknowledge an advisory (N9);
//! GetAdvisoryCsaf and the CSAF provider give out the same documents (N12, N15).
//! Each takes typed input and the caller, owns the order of the domain's decisions and the store's writes, and
//! returns domain types; the ways in only translate.

pub mod acknowledgement;
pub mod advisories;
mod audit;
pub mod csaf;
pub mod deliveries;
pub mod progress;
pub mod provider;
pub mod report;
