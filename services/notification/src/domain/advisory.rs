//! Advisories (N1): their ids, kind, severity, TLP label, content and target, the checks their fields pass, and the
//! subject line their mail carries (N5).

use chrono::{DateTime, Utc};
use portal_policy::Product;
use portal_runtime::error::{FieldViolation, Violations};
use sea_orm::{DeriveActiveEnum, EnumIter, sea_query::StringLen};
use serde::{Deserialize, Serialize};

use super::Tlp;

/// N1: `SECURITY` or `TECHNICAL`; N2 decides from it who receives the advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Kind {
    #[sea_orm(string_value = "SECURITY")]
    Security,
    #[sea_orm(string_value = "TECHNICAL")]
    Technical,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Security => "SECURITY",
            Kind::Technical => "TECHNICAL",
        }
    }
}

/// N1: `CRITICAL`, `HIGH`, `MEDIUM` or `LOW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Severity {
    #[sea_orm(string_value = "CRITICAL")]
    Critical,
    #[sea_orm(string_value = "HIGH")]
    High,
    #[sea_orm(string_value = "MEDIUM")]
    Medium,
    #[sea_orm(string_value = "LOW")]
    Low,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
        }
    }
}

/// N3: an advisory is `RESOLVING` while its recipient list is being written, `READY` once it is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AdvisoryState {
    #[sea_orm(string_value = "RESOLVING")]
    Resolving,
    #[sea_orm(string_value = "READY")]
    Ready,
}

/// N1: `ADV-YYYY-NNN`, sequential per year (more digits once a year passes 999).
pub fn n1_advisory_id(year: i32, sequence: i64) -> String {
    format!("ADV-{year}-{sequence:03}")
}

/// N1: advisories list in publishing order: by year, then by number within the year.
pub fn n1_ordinal(year: i32, sequence: i64) -> i64 {
    i64::from(year) * 1_000_000_000 + sequence
}

/// Who an advisory is for (N1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    AllAccounts,
    /// Accounts holding an active key or deployment of these products (proto enum numbers).
    Products(Vec<i32>),
    Accounts(Vec<String>),
}

/// One affected product with its versions and fixed versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    pub product: Product,
    pub versions: Vec<String>,
    pub fixed_versions: Vec<String>,
}

/// What an advisory says (N1), stored as JSON and rendered into the mail (N5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvisoryContent {
    pub summary: String,
    pub impact: String,
    pub affected: Vec<Affected>,
    pub conditions: String,
    pub resolution: String,
    pub cve_ids: Vec<String>,
    /// N11: the CSAF document an imported advisory came from (absent for one published field by field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csaf: Option<super::csaf::CsafTracking>,
    /// N16: CVSS v3 scores: PublishAdvisory's one vector, or an imported document's, per CVE.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<super::cvss::CvssScore>,
}

/// A checked PublishAdvisory request (N1): every field valid, the title trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAdvisory {
    pub kind: Kind,
    pub severity: Severity,
    /// N1: given, or the configured default.
    pub tlp: Tlp,
    pub title: String,
    pub content: AdvisoryContent,
    pub target: Target,
}

/// A published advisory as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    pub advisory_id: String,
    pub ordinal: i64,
    pub kind: Kind,
    pub severity: Severity,
    pub tlp: Tlp,
    pub title: String,
    pub content: AdvisoryContent,
    pub target: Target,
    pub state: AdvisoryState,
    pub accounts_targeted: i64,
    /// N7: targeted accounts with nobody to tell.
    pub unreachable: Vec<super::UnreachableAccount>,
    pub create_time: DateTime<Utc>,
}

impl Advisory {
    /// N5: the advisory id and severity are in the subject.
    pub fn n5_subject(&self) -> String {
        format!(
            "[{}] {}: {}",
            self.severity.as_str(),
            self.advisory_id,
            self.title
        )
    }
}

/// Most characters of a title.
pub const MAX_TITLE: usize = 200;
/// Most characters of the summary, impact, conditions and resolution.
pub const TEXT_LIMIT: usize = 20_000;
const MAX_LIST: usize = 200;
const MAX_TARGET_ACCOUNTS: usize = 100_000;

/// Checks a free-text field: required or not, bounded, no control characters but newlines and tabs.
pub fn n1_check_text(v: &mut Violations, field: &str, value: &str, required: bool, max: usize) {
    if required && value.trim().is_empty() {
        v.add(field, "must not be empty");
    } else if value.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    } else if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        v.add(field, "must not contain control characters");
    }
}

pub fn n1_check_title(v: &mut Violations, title: &str) {
    n1_check_text(v, "title", title, true, MAX_TITLE);
    if title.contains(['\n', '\r']) {
        v.add("title", "must be one line");
    }
}

/// N1: `CVE-YYYY-NNNN…` (four or more digits).
pub fn n1_cve_id(raw: &str) -> Result<String, FieldViolation> {
    let id = raw.trim().to_ascii_uppercase();
    let parts: Vec<&str> = id.split('-').collect();
    let ok = parts.len() == 3
        && parts[0] == "CVE"
        && parts[1].len() == 4
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts[2].len() >= 4
        && parts[2].len() <= 19
        && parts[2].bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(id)
    } else {
        Err(FieldViolation::new(
            "cve_ids",
            format!("{raw:?} is not a CVE id like CVE-2026-12345"),
        ))
    }
}

/// Bounds on the lists an advisory carries.
pub fn n1_check_lists(v: &mut Violations, affected: usize, cves: usize, accounts: usize) {
    for (field, n) in [("affected_products", affected), ("cve_ids", cves)] {
        if n > MAX_LIST {
            v.add(field, format!("at most {MAX_LIST} entries"));
        }
    }
    if accounts > MAX_TARGET_ACCOUNTS {
        v.add(
            "target.account_ids",
            "at most 100000 accounts; target by product or all accounts instead",
        );
    }
}

/// N1: a target's products (proto enum numbers), without repeats, in order.
pub fn n1_target_products(raw: &[i32]) -> Vec<i32> {
    let mut products = raw.to_vec();
    products.sort_unstable();
    products.dedup();
    products
}

/// N1: a target's listed accounts, trimmed, without blanks or repeats, in order.
pub fn n1_target_accounts(raw: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = raw
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn n1_ids_are_sequential_per_year() {
        assert_eq!(n1_advisory_id(2026, 1), "ADV-2026-001");
        assert_eq!(n1_advisory_id(2026, 42), "ADV-2026-042");
        assert_eq!(n1_advisory_id(2027, 1234), "ADV-2027-1234");
        assert!(n1_ordinal(2026, 999) < n1_ordinal(2027, 1));
    }

    #[test]
    fn n1_cve_ids_are_checked() {
        assert_eq!(n1_cve_id("cve-2026-12345").unwrap(), "CVE-2026-12345");
        for bad in ["CVE-26-1234", "CVE-2026-12", "GHSA-xxxx", "CVE-2026-12a4"] {
            assert!(n1_cve_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn n1_titles_are_one_bounded_line() {
        let mut v = Violations::default();
        n1_check_title(&mut v, "Two\nlines");
        n1_check_title(&mut v, "");
        n1_check_title(&mut v, &"x".repeat(500));
        assert_eq!(v.finish().unwrap_err().len(), 3);
    }

    #[test]
    fn n1_targets_are_trimmed_and_deduplicated() {
        let raw = [" b ".to_string(), "a".into(), String::new(), "b".into()];
        assert_eq!(n1_target_accounts(&raw), ["a", "b"]);
        assert_eq!(n1_target_products(&[3, 1, 3]), [1, 3]);
    }

    #[test]
    fn n1_affected_products_keep_their_stored_names() {
        let json = r#"{"product":"PREP_BUILDER","versions":[],"fixed_versions":[]}"#;
        let affected: Affected = serde_json::from_str(json).unwrap();
        assert_eq!(affected.product, Product::PrepBuilder);
        assert_eq!(serde_json::to_string(&affected).unwrap(), json);
        assert!(serde_json::from_str::<Affected>(&json.replace("PREP_BUILDER", "X")).is_err());
    }
}
