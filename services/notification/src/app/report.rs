//! GetAdvisoryReport (N10): one page of an advisory's coverage report, read from the ledger and decided by
//! [`n10_report_page`].

use sea_orm::DatabaseConnection;

use crate::{
    domain::report::{AccountReport, LedgerFacts, n10_report_page},
    error::Result,
    store::{acknowledgements, advisories, escalations, reports},
};

/// N10: the report lines of `advisory_id`'s targeted accounts after `after`, at most `size`: those with ledger
/// rows and those with no one to tell (N7), in account id order.
pub async fn page(
    db: &DatabaseConnection,
    advisory_id: &str,
    after: Option<&str>,
    size: u64,
) -> Result<Vec<AccountReport>> {
    let advisory = advisories::find(db, advisory_id).await?;
    let with_rows = escalations::account_page(db, &advisory.advisory_id, after, size).await?;
    let facts = LedgerFacts {
        ledgers: escalations::ledgers(db, &advisory.advisory_id, &with_rows).await?,
        acknowledged: acknowledgements::among(db, &advisory.advisory_id, &with_rows).await?,
        complaints: reports::complaints(db, &advisory.advisory_id, &with_rows).await?,
    };
    Ok(n10_report_page(
        after,
        usize::try_from(size).unwrap_or(usize::MAX),
        &with_rows,
        &advisory.unreachable,
        facts,
    ))
}
