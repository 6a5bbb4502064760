//! Persistence of the licensing schema, spoken in domain types: functions take and return [`crate::domain`]
//! values, never rows for callers to re-read. "No row" becomes the domain's not-found here, where it happens;
//! a row that cannot be read is an error (`INTERNAL`, logged), never a guess.

pub mod accounts;
pub mod activations;
pub mod deployments;
pub mod elearning;
pub mod entity;
pub mod holdings;
pub mod keys;
pub mod lblm;
pub mod reports;
pub mod sites;
#[cfg(test)]
mod tests;

pub use entity::{
    activation, assignment, cloud_site_lock, column, deployment, elearning_code, key, membership,
    pool_count, report, report_quota, run_usage, site_seat,
};

use crate::{
    domain::Product,
    error::{Error, Result},
};

/// A stored count or quantity, which is never negative.
fn stored_count(n: i64, what: &str) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::internal(format!("negative {what} {n} in a stored row")))
}

/// A product stored as text in a key column (where it cannot be a typed column).
fn stored_product(raw: &str) -> Result<Product> {
    Product::parse(raw)
        .ok_or_else(|| Error::internal(format!("unknown product {raw:?} in a stored row")))
}

/// A number for a count column.
fn to_column(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::internal(format!("{n} does not fit a count column")))
}
