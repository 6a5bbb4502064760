//! The report for people: a summary line, and once settled one row per targeted account.

use portal_proto::notification::{AccountCoverage, AdvisoryStats, Coverage};

use crate::remote::enum_name;

/// The summary line, then (once settled) the table of accounts.
pub(super) fn print_table(
    advisory_id: &str,
    stats: &AdvisoryStats,
    coverage: Option<&Vec<AccountCoverage>>,
) {
    println!("{}", summary_line(advisory_id, stats));
    if let Some(coverage) = coverage {
        let width = coverage
            .iter()
            .map(|c| c.account_id.len())
            .max()
            .unwrap_or(0)
            .max(7);
        println!(
            "{:width$}  {:>6}  {:>6}  {:>7}  {:>5}  {:>10}  COVERAGE",
            "ACCOUNT", "SENT", "DEAD", "PENDING", "ACK", "COMPLAINTS"
        );
        for c in coverage {
            println!(
                "{:width$}  {:>6}  {:>6}  {:>7}  {:>5}  {:>10}  {}",
                c.account_id,
                c.sent,
                c.dead,
                c.pending,
                if c.acknowledged { "yes" } else { "no" },
                c.complaints,
                verdict(c)
            );
        }
    }
}

pub(super) fn summary_line(advisory_id: &str, s: &AdvisoryStats) -> String {
    format!(
        "{advisory_id}: {} — sent {}/{}, pending {}, failed {}, dead {}; accounts {} ({} through fallback, {} unreachable)",
        if s.settled { "settled" } else { "in progress" },
        s.sent,
        s.total,
        s.pending,
        s.failed,
        s.dead,
        s.accounts_targeted,
        s.fallback_account_ids.len(),
        s.unreachable_account_ids.len(),
    )
}

/// `REACHED`, `FALLBACK`, … as people read them: `reached`, `fallback`, ….
pub(super) fn verdict(account: &AccountCoverage) -> String {
    Coverage::try_from(account.coverage)
        .map(|c| enum_name(c.as_str_name(), "COVERAGE_"))
        .unwrap_or_default()
}
