//! The coverage report (N10): per targeted account, whether the advisory reached a human there (N8) and the
//! mails sent and dead, whether someone there acknowledged it (N9) and complained about it (N14), also as CSV for the security team's records.

use std::collections::{BTreeMap, HashMap, HashSet};

use portal_runtime::csv_cell;

use super::{
    AccountLedger, UnreachableAccount,
    escalation::{Coverage, Tally},
};

/// One targeted account's line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountReport {
    pub account_id: String,
    pub account_name: String,
    pub coverage: Coverage,
    pub sent: i64,
    pub dead: i64,
    pub pending: i64,
    /// N9: a recipient at the account acknowledged the advisory.
    pub acknowledged: bool,
    /// N14: abuse complaints about the advisory's mail from the account's mailboxes.
    pub complaints: i64,
}

/// N10: the report line of `account_id` (named `account_name`) from its ledger; `None` for a targeted account
/// with no one to tell (N7), which has no ledger rows at all.
pub fn n10_account_report(
    account_id: String,
    account_name: String,
    ledger: Option<AccountLedger>,
    acknowledged: bool,
    complaints: i64,
) -> AccountReport {
    let Some(ledger) = ledger else {
        return AccountReport {
            account_id,
            account_name,
            coverage: Coverage::Unreachable,
            sent: 0,
            dead: 0,
            pending: 0,
            acknowledged,
            complaints,
        };
    };
    let all = ledger.escalation.unwrap_or_default();
    let total = Tally {
        sent: ledger.designated.sent + all.sent,
        dead: ledger.designated.dead + all.dead,
        open: ledger.designated.open + all.open,
    };
    AccountReport {
        account_id,
        account_name,
        coverage: ledger.n8_coverage(),
        sent: total.sent,
        dead: total.dead,
        pending: total.open,
        acknowledged,
        complaints,
    }
}

/// What the ledger holds about one page's accounts with ledger rows (`store::escalations::account_page`).
#[derive(Debug, Clone, Default)]
pub struct LedgerFacts {
    /// Each account's name in its rows and its ledger (`store::escalations::ledgers`).
    pub ledgers: BTreeMap<String, (String, AccountLedger)>,
    /// N9: those where someone acknowledged the advisory.
    pub acknowledged: HashSet<String>,
    /// N14: abuse complaints per account.
    pub complaints: HashMap<String, i64>,
}

/// N10: one page of the report, at most `size` accounts after `after`, in account id order: the accounts with
/// ledger rows (`with_rows`, the store's page) merged with the targeted accounts with no one to tell (N7,
/// `unreachable`), each line from [`n10_account_report`]. An account with ledger rows is named in them; one
/// with nobody to tell was named when the recipients were resolved.
pub fn n10_report_page(
    after: Option<&str>,
    size: usize,
    with_rows: &[String],
    unreachable: &[UnreachableAccount],
    mut facts: LedgerFacts,
) -> Vec<AccountReport> {
    let mut ids: Vec<String> = unreachable
        .iter()
        .map(|u| &u.account_id)
        .filter(|id| after.is_none_or(|after| id.as_str() > after))
        .cloned()
        .chain(with_rows.iter().cloned())
        .collect();
    ids.sort();
    ids.dedup();
    ids.truncate(size);
    let unreachable_names: HashMap<&str, &str> = unreachable
        .iter()
        .map(|u| (u.account_id.as_str(), u.account_name.as_str()))
        .collect();
    ids.into_iter()
        .map(|id| {
            let acknowledged = facts.acknowledged.contains(&id);
            let complaints = facts.complaints.remove(&id).unwrap_or(0);
            let (name, ledger) = match facts.ledgers.remove(&id) {
                Some((name, ledger)) => (name, Some(ledger)),
                None => (
                    unreachable_names
                        .get(id.as_str())
                        .map(|name| name.to_string())
                        .unwrap_or_default(),
                    None,
                ),
            };
            n10_account_report(id, name, ledger, acknowledged, complaints)
        })
        .collect()
}

/// N10: report lines as CSV, with the header line when `header` (the first page), so pages concatenate into
/// one file. Account names are whatever the account was created with, so every cell is neutralised for
/// spreadsheets ([`csv_cell::neutralise`]).
pub fn n10_csv(lines: &[AccountReport], header: bool) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new().from_writer(Vec::new());
    if header {
        out.write_record([
            "account_id",
            "account_name",
            "coverage",
            "sent",
            "dead",
            "pending",
            "acknowledged",
            "complaints",
        ])?;
    }
    for line in lines {
        let cells = [
            line.account_id.as_str(),
            line.account_name.as_str(),
            line.coverage.as_str(),
            &line.sent.to_string(),
            &line.dead.to_string(),
            &line.pending.to_string(),
            if line.acknowledged { "true" } else { "false" },
            &line.complaints.to_string(),
        ];
        out.write_record(cells.map(csv_cell::neutralise))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n10_an_account_with_no_one_to_tell_is_unreachable() {
        let line = n10_account_report("acc-1".into(), "Empty".into(), None, false, 0);
        assert_eq!(line.coverage, Coverage::Unreachable);
        assert_eq!(line.account_name, "Empty");
        assert_eq!((line.sent, line.dead, line.pending), (0, 0, 0));
    }

    #[test]
    fn n10_counts_include_the_escalation() {
        let ledger = AccountLedger {
            designated: Tally {
                sent: 0,
                dead: 2,
                open: 0,
            },
            fallback: false,
            escalation: Some(Tally {
                sent: 1,
                dead: 0,
                open: 1,
            }),
        };
        let line = n10_account_report("acc-1".into(), "Alpha".into(), Some(ledger), true, 1);
        assert!(line.acknowledged);
        assert_eq!(line.complaints, 1);
        assert_eq!(line.coverage, Coverage::Escalated);
        assert_eq!((line.sent, line.dead, line.pending), (1, 2, 1));
    }

    #[test]
    fn n10_a_page_merges_accounts_with_rows_and_those_with_no_one_to_tell() {
        let mut facts = LedgerFacts::default();
        let reached = AccountLedger {
            designated: Tally {
                sent: 1,
                dead: 0,
                open: 0,
            },
            ..AccountLedger::default()
        };
        facts
            .ledgers
            .insert("acc-2".into(), ("Beta".into(), reached));
        facts.acknowledged.insert("acc-2".into());
        facts.complaints.insert("acc-2".into(), 3);
        let unreachable = [
            UnreachableAccount {
                account_id: "acc-1".into(),
                account_name: "Alpha".into(),
            },
            UnreachableAccount {
                account_id: "acc-3".into(),
                account_name: "Gamma".into(),
            },
            UnreachableAccount {
                account_id: "acc-4".into(),
                account_name: "Delta".into(),
            },
        ];
        let page = n10_report_page(Some("acc-1"), 2, &["acc-2".into()], &unreachable, facts);
        let lines: Vec<_> = page
            .iter()
            .map(|l| (l.account_id.as_str(), l.account_name.as_str(), l.coverage))
            .collect();
        assert_eq!(
            lines,
            [
                ("acc-2", "Beta", Coverage::Reached),
                ("acc-3", "Gamma", Coverage::Unreachable)
            ]
        );
        assert!(page[0].acknowledged);
        assert_eq!(page[0].complaints, 3);
    }

    #[test]
    fn n10_csv_quotes_names_and_heads_only_the_first_page() {
        let line = AccountReport {
            account_id: "acc-1".into(),
            account_name: "Alpha, Inc.".into(),
            coverage: Coverage::Reached,
            sent: 2,
            dead: 1,
            pending: 0,
            acknowledged: true,
            complaints: 1,
        };
        let first = String::from_utf8(n10_csv(std::slice::from_ref(&line), true).unwrap()).unwrap();
        assert_eq!(
            first,
            "account_id,account_name,coverage,sent,dead,pending,acknowledged,complaints\nacc-1,\"Alpha, Inc.\",REACHED,2,1,0,true,1\n"
        );
        let next = String::from_utf8(n10_csv(&[line], false).unwrap()).unwrap();
        assert_eq!(next, "acc-1,\"Alpha, Inc.\",REACHED,2,1,0,true,1\n");
    }

    #[test]
    fn n10_csv_account_names_cannot_run_as_formulas() {
        let named = |name: &str| AccountReport {
            account_id: "acc-1".into(),
            account_name: name.into(),
            coverage: Coverage::Unreachable,
            sent: 0,
            dead: 0,
            pending: 0,
            acknowledged: false,
            complaints: 0,
        };
        let lines = [
            named("=HYPERLINK(\"http://evil.example\",\"x\")"),
            named("+1+1"),
            named("@SUM(1)"),
            named("\t-2\0"),
        ];
        let csv = n10_csv(&lines, false).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(csv.as_slice());
        let names: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[1].to_string())
            .collect();
        assert_eq!(
            names,
            [
                "'=HYPERLINK(\"http://evil.example\",\"x\")",
                "'+1+1",
                "'@SUM(1)",
                "'-2"
            ]
        );
    }
}
