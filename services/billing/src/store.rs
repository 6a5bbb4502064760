//! Persistence of the catalog, purchases, invoices, payments and renewals, one file per resource. Functions take
//! and return domain types; "no row" becomes the domain's not-found here, where it happens, and a row that
//! cannot be read (an unknown state, a bad currency, a broken JSON column) is an internal error, never a guess.

pub mod catalog;
pub mod entity;
pub mod invoices;
pub mod payments;
pub mod purchases;
pub mod renewals;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, EntityTrait, Select};

use crate::{
    domain::{Currency, Invoice},
    error::{Error, Result},
};

/// A list of ids as a JSON array in a text column.
fn ids_to_json(ids: &[String]) -> Result<String> {
    serde_json::to_string(ids).map_err(|e| Error::internal(format!("ids as JSON: {e}")))
}

/// The ids of a JSON array column of `what`.
fn ids_from_json(json: &str, what: &str) -> Result<Vec<String>> {
    serde_json::from_str(json).map_err(|e| Error::internal(format!("{what}: {e}")))
}

/// The currency of a stored row of `what`.
fn currency(raw: &str, what: &str) -> Result<Currency> {
    Currency::parse("currency", raw)
        .map_err(|_| Error::internal(format!("{what} has a bad currency {raw:?}")))
}

/// The invoices whose lines or payments are read, with the currency their amounts are in.
struct Owners<'a>(HashMap<&'a str, Currency>);

impl<'a> Owners<'a> {
    fn of(invoices: &'a [Invoice]) -> Self {
        Self(
            invoices
                .iter()
                .map(|i| (i.invoice_id.as_str(), i.currency))
                .collect(),
        )
    }

    fn ids(&self) -> impl Iterator<Item = String> + '_ {
        self.0.keys().map(|id| id.to_string())
    }

    /// The currency of the amounts of `what`, a row of `invoice_id`.
    fn currency(&self, invoice_id: &str, what: &str) -> Result<Currency> {
        self.0.get(invoice_id).copied().ok_or_else(|| {
            Error::internal(format!("{what} of invoice {invoice_id}, not asked for"))
        })
    }
}

/// Rows of several invoices, each invoice's in the order read.
fn by_invoice<T>(rows: impl IntoIterator<Item = (String, T)>) -> HashMap<String, Vec<T>> {
    let mut map: HashMap<String, Vec<T>> = HashMap::new();
    for (invoice_id, row) in rows {
        map.entry(invoice_id).or_default().push(row);
    }
    map
}

/// Every row `query` finds, each read as a domain value by `read` (the first row that cannot be read fails it).
async fn read_all<E, C, T>(
    db: &C,
    query: Select<E>,
    read: fn(E::Model) -> Result<T>,
) -> Result<Vec<T>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    query.all(db).await?.into_iter().map(read).collect()
}
