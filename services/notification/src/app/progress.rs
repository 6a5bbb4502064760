//! N4, N8, N9: how an advisory stands — the ledger's counts, the accounts told through a fallback, escalated or
//! unreachable, whether an escalation is still due, and the accounts that acknowledged — read in one snapshot.

use sea_orm::DatabaseConnection;

use crate::{
    domain::Counts,
    error::Result,
    store::{acknowledgements, deliveries, escalations},
};

/// An advisory's progress; each list holds at most the `shown` first accounts.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub counts: Counts,
    /// Accounts told through a fallback recipient: (id, name).
    pub fallback: Vec<(String, String)>,
    /// N8: accounts whose Administrators were sent the advisory by escalation.
    pub escalated: Vec<String>,
    /// N8: accounts unreachable after escalating (every mail dead, or nobody else to tell).
    pub unreachable: Vec<String>,
    /// N8: some account is due for escalation and not yet escalated.
    pub escalating: bool,
    /// N9: accounts where a recipient acknowledged the advisory.
    pub acknowledged: Vec<String>,
}

/// The progress of `advisory_id`. One snapshot: counts read before an escalation was written and "nothing due"
/// read after it would together say settled while the Administrators were still to be told.
pub async fn of(db: &DatabaseConnection, advisory_id: &str, shown: u64) -> Result<Progress> {
    let snapshot = portal_runtime::db::begin_snapshot(db).await?;
    let counts = deliveries::counts(&snapshot, advisory_id).await?;
    let fallback = deliveries::fallback_accounts(&snapshot, advisory_id, shown).await?;
    let (escalated, unreachable) = escalations::outcome(&snapshot, advisory_id, shown).await?;
    // N8: an account whose designated mail all ended dead is not settled until its escalation is written.
    let escalating = escalations::due(&snapshot, Some(advisory_id), None, 1)
        .await?
        .iter()
        .any(|due| due.ledger.n8_escalation_due());
    let acknowledged = acknowledgements::accounts(&snapshot, advisory_id, shown).await?;
    snapshot.commit().await?;
    Ok(Progress {
        counts,
        fallback,
        escalated,
        unreachable,
        escalating,
        acknowledged,
    })
}
