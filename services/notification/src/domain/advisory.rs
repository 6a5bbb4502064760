//! Advisories (N1): their ids, content and target.

use portal_runtime::error::{FieldViolation, Violations};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Security,
    Technical,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Security => "SECURITY",
            Kind::Technical => "TECHNICAL",
        }
    }
    pub fn parse(s: &str) -> Self {
        if s == "TECHNICAL" {
            Kind::Technical
        } else {
            Kind::Security
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Severity {
    Critical,
    High,
    Medium,
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
    pub fn parse(s: &str) -> Self {
        match s {
            "CRITICAL" => Severity::Critical,
            "HIGH" => Severity::High,
            "MEDIUM" => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

/// N1: `ADV-YYYY-NNN`, sequential per year (more digits once a year passes 999).
pub fn advisory_id(year: i32, sequence: i64) -> String {
    format!("ADV-{year}-{sequence:03}")
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
    pub product: String,
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
}

const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 20_000;
const MAX_LIST: usize = 200;

/// Checks a free-text field: required or not, bounded, no control characters but newlines and tabs.
pub fn check_text(v: &mut Violations, field: &str, value: &str, required: bool, max: usize) {
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

pub fn check_title(v: &mut Violations, title: &str) {
    check_text(v, "title", title, true, MAX_TITLE);
    if title.contains(['\n', '\r']) {
        v.add("title", "must be one line");
    }
}

/// `CVE-YYYY-NNNN…` (four or more digits).
pub fn cve_id(raw: &str) -> Result<String, FieldViolation> {
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

pub fn check_lists(v: &mut Violations, affected: usize, cves: usize, accounts: usize) {
    for (field, n) in [
        ("affected_products", affected),
        ("cve_ids", cves),
        ("target.account_ids", accounts),
    ] {
        if n > MAX_LIST && field != "target.account_ids" {
            v.add(field, format!("at most {MAX_LIST} entries"));
        }
    }
    if accounts > 100_000 {
        v.add(
            "target.account_ids",
            "at most 100000 accounts; target by product or all accounts instead",
        );
    }
}

pub const TEXT_LIMIT: usize = MAX_TEXT;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn n1_ids_are_sequential_per_year() {
        assert_eq!(advisory_id(2026, 1), "ADV-2026-001");
        assert_eq!(advisory_id(2026, 42), "ADV-2026-042");
        assert_eq!(advisory_id(2027, 1234), "ADV-2027-1234");
    }

    #[test]
    fn n1_cve_ids_are_checked() {
        assert_eq!(cve_id("cve-2026-12345").unwrap(), "CVE-2026-12345");
        for bad in ["CVE-26-1234", "CVE-2026-12", "GHSA-xxxx", "CVE-2026-12a4"] {
            assert!(cve_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn n1_titles_are_one_bounded_line() {
        let mut v = Violations::default();
        check_title(&mut v, "Two\nlines");
        check_title(&mut v, "");
        check_title(&mut v, &"x".repeat(500));
        assert_eq!(v.finish().unwrap_err().len(), 3);
    }
}
