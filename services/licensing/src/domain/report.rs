//! Activation summary reports (L10) and eLearning codes (L11).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use crate::error::{Error, Result};

/// L10: one report per account per 24 hours.
pub const REPORT_INTERVAL_HOURS: i64 = 24;

/// L10: whether a report may be requested now, given when the last one was.
pub fn ensure_report_allowed(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<()> {
    match last {
        Some(last) if now - last < Duration::hours(REPORT_INTERVAL_HOURS) => {
            Err(Error::ReportRateLimited)
        }
        _ => Ok(()),
    }
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

pub const REPORT_HEADER: [&str; 8] = [
    "key",
    "product",
    "user",
    "machine",
    "hostname",
    "version",
    "status",
    "last_activity",
];

/// Renders rows as RFC 4180 CSV (quoting by the csv crate, so commas, quotes and newlines survive).
pub fn to_csv(rows: &[ReportRow]) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::internal(format!("writing the report: {e}"));
    writer.write_record(REPORT_HEADER).map_err(fail)?;
    for r in rows {
        let last = r.last_activity.to_rfc3339();
        writer
            .write_record([
                &r.key_last_group,
                &r.product,
                &r.user,
                &r.machine,
                &r.hostname,
                &r.version,
                &r.status,
                &last,
            ])
            .map_err(fail)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::internal(format!("writing the report: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::internal(e.to_string()))
}

/// L11: an eLearning access code, `ELRN-XXXX-XXXX-XXXX`, from the OS CSPRNG.
pub fn elearning_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rngs::OsRng;
    let mut code = String::from("ELRN");
    for _ in 0..3 {
        code.push('-');
        for _ in 0..4 {
            code.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
        }
    }
    code
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn l10_one_report_per_24_hours() {
        let now = Utc::now();
        assert!(ensure_report_allowed(None, now).is_ok());
        assert!(matches!(
            ensure_report_allowed(Some(now - Duration::hours(23)), now),
            Err(Error::ReportRateLimited)
        ));
        assert!(ensure_report_allowed(Some(now - Duration::hours(24)), now).is_ok());
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
    fn l11_codes_are_random_and_well_formed() {
        let (a, b) = (elearning_code(), elearning_code());
        assert_ne!(a, b);
        assert_eq!(a.len(), 19);
        assert!(a.starts_with("ELRN-"));
    }
}
