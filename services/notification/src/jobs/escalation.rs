//! N8: the escalation sweep. Accounts whose designated contacts' mails of an advisory all ended `DEAD` get the
//! advisory sent to their Administrators (found through identity), once: the claim is a unique row, so with
//! several replicas exactly one writes the escalation's deliveries; the delivery worker sends them.

use chrono::Utc;
use sea_orm::DatabaseConnection;

use crate::{
    domain::{
        Recipient,
        escalation::{Escalation, n8_escalate_to},
    },
    error::Result,
    store::escalations::{self, Due},
    upstream::Upstream,
};

/// Accounts looked at per sweep round.
const BATCH: u64 = 200;

/// Escalates every due account (of `advisory_id`, and of its account `account_id`, only, when given; up to a
/// batch); returns how many escalations wrote deliveries to send.
pub async fn escalate_due(
    db: &DatabaseConnection,
    upstream: &Upstream,
    advisory_id: Option<&str>,
    account_id: Option<&str>,
) -> Result<usize> {
    let mut queued = 0;
    for due in escalations::due(db, advisory_id, account_id, BATCH).await? {
        match escalate(db, upstream, &due).await {
            Ok(true) => queued += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(advisory_id = due.advisory_id, account_id = due.account_id, error = %e, "escalating failed; the next sweep tries again")
            }
        }
    }
    Ok(queued)
}

/// Escalates one account as [`AccountLedger::n8_escalation`](crate::domain::AccountLedger::n8_escalation)
/// decides; `true` when it wrote deliveries.
async fn escalate(db: &DatabaseConnection, upstream: &Upstream, due: &Due) -> Result<bool> {
    let to = match due.ledger.n8_escalation() {
        None => return Ok(false),
        Some(Escalation::NobodyElse) => Vec::new(),
        Some(Escalation::ToAdministrators) => n8_escalate_to(
            upstream
                .identity
                .administrators(&due.account_id)
                .await?
                .unwrap_or_default()
                .into_iter()
                .map(|m| Recipient {
                    account_id: due.account_id.clone(),
                    account_name: due.account_name.clone(),
                    user_id: m.user_id,
                    email: m.email,
                    display_name: m.display_name,
                    fallback: false,
                })
                .collect(),
        ),
    };
    let claimed = escalations::claim(db, due, &to, Utc::now()).await?;
    if claimed {
        tracing::info!(
            advisory_id = due.advisory_id,
            account_id = due.account_id,
            administrators = to.len(),
            "escalated: every designated contact's mail is dead"
        );
    }
    Ok(claimed && !to.is_empty())
}
