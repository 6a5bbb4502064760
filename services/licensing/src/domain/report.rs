//! Activation summary reports (L10): at most one per account per 24 hours, every activation of the account as
//! CSV, keys shown by their last group only.

use chrono::{DateTime, Duration, Utc};
use portal_runtime::csv_cell;

use crate::{
    domain::Activation,
    error::{Error, Result},
};

/// L10: one report per account per 24 hours.
pub const REPORT_INTERVAL_HOURS: i64 = 24;

/// L10: a new report may be requested now if the account's last one was at or before this instant.
pub fn report_window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::hours(REPORT_INTERVAL_HOURS)
}

/// L10: the request goes on only if it claimed the account's slot (the store claims it atomically, given
/// [`report_window_start`]); otherwise it is rate limited.
pub fn ensure_report_allowed(slot_claimed: bool) -> Result<()> {
    if slot_claimed {
        Ok(())
    } else {
        Err(Error::ReportRateLimited)
    }
}

/// A stored activation report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub report_id: String,
    pub account_id: String,
    pub requester_user_id: String,
    pub row_count: u64,
    pub csv: String,
    pub create_time: DateTime<Utc>,
}

/// One line of the activation summary (L10); keys appear by their last group only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub key_last_group: String,
    pub product: String,
    pub user: String,
    pub machine: String,
    pub hostname: String,
    pub version: String,
    pub status: String,
    pub last_activity: DateTime<Utc>,
}

impl ReportRow {
    /// L10: one activation, with its key's last group (L1: the only part of a key a report shows).
    pub fn of(activation: &Activation, key_last_group: &str) -> Self {
        Self {
            key_last_group: key_last_group.to_string(),
            product: activation.product.as_str().to_string(),
            user: activation.user_email.clone(),
            machine: activation.machine_fingerprint.clone(),
            hostname: activation.hostname.clone(),
            version: activation.version.clone(),
            status: activation.state.as_str().to_string(),
            last_activity: activation.last_activity(),
        }
    }
}

/// L10: the columns, named as the contract (`RequestActivationReport`) names them.
pub const REPORT_HEADER: [&str; 8] = [
    "key_last_group",
    "product",
    "user_email",
    "machine_fingerprint",
    "hostname",
    "version",
    "status",
    "last_activity_time",
];

/// Renders rows as RFC 4180 CSV (quoting by the csv crate, so commas, quotes and newlines survive). Host names,
/// fingerprints, versions and e-mails are whatever the products reported, so every cell is neutralised for
/// spreadsheets ([`csv_cell::neutralise`]).
pub fn to_csv(rows: &[ReportRow]) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::internal(format!("writing the report: {e}"));
    writer.write_record(REPORT_HEADER).map_err(fail)?;
    for r in rows {
        let last = r.last_activity.to_rfc3339();
        let cells = [
            &r.key_last_group,
            &r.product,
            &r.user,
            &r.machine,
            &r.hostname,
            &r.version,
            &r.status,
            &last,
        ];
        writer
            .write_record(cells.map(|cell| csv_cell::neutralise(cell)))
            .map_err(fail)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::internal(format!("writing the report: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn l10_one_report_per_24_hours() {
        let now = Utc::now();
        assert_eq!(report_window_start(now), now - Duration::hours(24));
        assert!(ensure_report_allowed(true).is_ok());
        assert!(matches!(
            ensure_report_allowed(false),
            Err(Error::ReportRateLimited)
        ));
    }

    #[test]
    fn l10_csv_quotes_awkward_values() {
        let row = ReportRow {
            key_last_group: "AB12".into(),
            product: "DESKTOP".into(),
            user: "a@x.io".into(),
            machine: "m,1".into(),
            hostname: "host \"one\"".into(),
            version: "2026.1".into(),
            status: "ACTIVE".into(),
            last_activity: Utc::now(),
        };
        let csv = to_csv(&[row]).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[3], "m,1");
        assert_eq!(&record[4], "host \"one\"");
    }

    #[test]
    fn l10_csv_names_its_columns_as_the_contract_does() {
        let csv = to_csv(&[]).unwrap();
        assert_eq!(
            csv,
            "key_last_group,product,user_email,machine_fingerprint,hostname,version,status,last_activity_time\n"
        );
    }

    #[test]
    fn l10_csv_cells_cannot_run_as_formulas_or_carry_control_characters() {
        let row = ReportRow {
            key_last_group: "AB12".into(),
            product: "DESKTOP".into(),
            user: "@SUM(1)@x.io".into(),
            machine: "=cmd|' /C calc'!A1".into(),
            hostname: "\0host\u{1b}[2J".into(),
            version: "+1+1".into(),
            status: "ACTIVE".into(),
            last_activity: Utc::now(),
        };
        let csv = to_csv(&[row]).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[2], "'@SUM(1)@x.io");
        assert_eq!(&record[3], "'=cmd|' /C calc'!A1");
        assert_eq!(&record[4], "host[2J");
        assert_eq!(&record[5], "'+1+1");
        assert!(!csv.contains('\0') && !csv.contains('\u{1b}'));
    }
}
