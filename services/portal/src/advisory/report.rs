//! The final answer about an advisory's delivery: the exit code, every targeted account's coverage, and the
//! report as JSON or (see [`super::table`]) a table.

use portal_proto::notification::{AccountCoverage, AdvisoryStats, GetAdvisoryReportRequest};
use serde_json::json;

use super::{
    Client,
    table::{print_table, verdict},
};
use crate::remote::{Failure, Output, Remote, exit, print_json};

/// 0 when settled and everyone reached; 3 when settled with dead recipients or unreachable accounts; 4 otherwise.
pub(super) fn outcome(stats: &AdvisoryStats) -> u8 {
    if !stats.settled {
        exit::NOT_SETTLED
    } else if stats.dead > 0 || !stats.unreachable_account_ids.is_empty() {
        exit::NOT_EVERYONE_REACHED
    } else {
        exit::OK
    }
}

/// Every targeted account with its coverage (N8), mails and acknowledgement, from the suite's own report (N10).
pub(super) async fn coverage(
    client: &mut Client,
    remote: &Remote,
    stats: &AdvisoryStats,
) -> Result<Vec<AccountCoverage>, Failure> {
    let mut accounts = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .get_advisory_report(remote.request(GetAdvisoryReportRequest {
                advisory_id: stats.advisory_id.clone(),
                page_size: 1000,
                page_token,
            }))
            .await?
            .into_inner();
        accounts.extend(page.accounts);
        if page.next_page_token.is_empty() {
            return Ok(accounts);
        }
        page_token = page.next_page_token;
    }
}

pub(super) fn stats_json(advisory_id: &str, stats: &AdvisoryStats) -> serde_json::Value {
    json!({
        "advisory_id": advisory_id,
        "settled": stats.settled,
        "total": stats.total,
        "pending": stats.pending,
        "sent": stats.sent,
        "failed": stats.failed,
        "dead": stats.dead,
        "accounts_targeted": stats.accounts_targeted,
        "fallback_account_ids": stats.fallback_account_ids,
        "unreachable_account_ids": stats.unreachable_account_ids,
    })
}

/// The final answer: stats, and (once settled) one row per targeted account.
pub(super) fn report(
    remote: &Remote,
    advisory_id: &str,
    stats: &AdvisoryStats,
    coverage: Option<&Vec<AccountCoverage>>,
) {
    match remote.output {
        Output::Json => {
            let mut value = stats_json(advisory_id, stats);
            if let Some(coverage) = coverage {
                value["accounts"] = coverage
                    .iter()
                    .map(|c| {
                        json!({
                            "account_id": c.account_id,
                            "account_name": c.account_name,
                            "coverage": verdict(c),
                            "sent": c.sent,
                            "dead": c.dead,
                            "pending": c.pending,
                            "acknowledged": c.acknowledged,
                            "complaints": c.complaints,
                        })
                    })
                    .collect();
            }
            print_json(&value);
        }
        Output::Text => print_table(advisory_id, stats, coverage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_says_whether_everyone_was_reached() {
        let settled = AdvisoryStats {
            settled: true,
            total: 2,
            sent: 2,
            ..Default::default()
        };
        assert_eq!(outcome(&settled), exit::OK);
        let dead = AdvisoryStats {
            dead: 1,
            ..settled.clone()
        };
        assert_eq!(outcome(&dead), exit::NOT_EVERYONE_REACHED);
        let unreachable = AdvisoryStats {
            unreachable_account_ids: vec!["ACC-9".into()],
            ..settled.clone()
        };
        assert_eq!(outcome(&unreachable), exit::NOT_EVERYONE_REACHED);
        let running = AdvisoryStats {
            settled: false,
            ..settled
        };
        assert_eq!(outcome(&running), exit::NOT_SETTLED);
    }
}
