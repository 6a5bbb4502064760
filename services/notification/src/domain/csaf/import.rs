//! N11, N16: a schema-valid `csaf_security_advisory` or `csaf_informational_advisory`, as vendors write them,
//! mapped to an advisory through the product mapping.

use portal_runtime::error::{FieldViolation, Violations};
use serde_json::Value;

use super::{
    CsafConfig, CsafTracking, INFORMATIONAL_ADVISORY, SECURITY_ADVISORY,
    products::{Tree, list, text},
};
use crate::domain::{
    Kind, Tlp,
    advisory::{self as rules, AdvisoryContent, Affected, Severity},
    cvss::{BaseScore, CvssScore},
};

/// Most CVSS scores one advisory keeps (one per CVE and vector).
const MAX_SCORES: usize = 200;
/// The longest violation description a status carries whole (`portal_runtime::error` cuts longer ones).
const DESCRIPTION_BUDGET: usize = 200;

/// A CSAF document mapped to an advisory (N11, N16).
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// N16: `SECURITY` for a `csaf_security_advisory`, `TECHNICAL` for a `csaf_informational_advisory`.
    pub kind: Kind,
    pub severity: Severity,
    /// The document's `distribution.tlp.label` (`WHITE` read as `CLEAR`), else the configured default.
    pub tlp: Tlp,
    pub title: String,
    /// The content, `csaf` set to the document's tracking.
    pub content: AdvisoryContent,
    /// N16: the product ids the document names (in product statuses; for an informational advisory, in its
    /// product tree) that map to no suite product, in document order.
    pub unmapped: Vec<String>,
}

impl Imported {
    /// N16: a document that maps to no suite product cannot be sent to the holders of its products: why, naming
    /// the product ids that did not map — as many as a violation's description shows (200 characters), then how
    /// many more. `None` when some product mapped.
    pub fn n16_unmapped_refusal(&self) -> Option<String> {
        if !self.content.affected.is_empty() {
            return None;
        }
        if self.unmapped.is_empty() {
            return Some(
                "the document names no product in a product status; list the products to target"
                    .into(),
            );
        }
        let head = "no product maps to a suite product (notification.csaf_products): ";
        let mut shown: Vec<&str> = Vec::new();
        let mut length = head.chars().count();
        for id in &self.unmapped {
            let tail = " and 9999 more".len();
            let cost = id.chars().count() + if shown.is_empty() { 0 } else { 2 };
            if !shown.is_empty() && length + cost + tail > DESCRIPTION_BUDGET {
                break;
            }
            shown.push(id);
            length += cost;
        }
        let more = self.unmapped.len() - shown.len();
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        Some(format!("{head}{}{more}", shown.join(", ")))
    }
}

/// N1 severities by the names CSAF publishers give them in `aggregate_severity.text`.
pub fn n11_named_severity(text: &str) -> Option<Severity> {
    match text.trim().to_ascii_lowercase().as_str() {
        "critical" => Some(Severity::Critical),
        "high" | "important" => Some(Severity::High),
        "medium" | "moderate" => Some(Severity::Medium),
        "low" => Some(Severity::Low),
        _ => None,
    }
}

/// N11: a CVSS v3 base score's severity: ≥ 9.0 critical, ≥ 7.0 high, ≥ 4.0 medium, else low.
pub fn n11_score_severity(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// N11: the aggregate severity when it names one, else the highest CVSS v3 base score's.
pub fn n11_severity(aggregate: Option<&str>, cvss_v3_scores: &[f64]) -> Option<Severity> {
    aggregate.and_then(n11_named_severity).or_else(|| {
        cvss_v3_scores
            .iter()
            .copied()
            .reduce(f64::max)
            .map(n11_score_severity)
    })
}

/// Adds `value` to `list` unless it is there already.
fn push_new(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// The texts of the document's notes of `category`, one paragraph each.
fn notes(document: &Value, category: &str) -> String {
    list(document, "/document/notes")
        .iter()
        .filter(|note| text(note, "/category") == Some(category))
        .filter_map(|note| text(note, "/text"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The products of `ids` the mapping knows, as affected (`as_fixed`: fixed) versions; the others' ids to
/// `unmapped`.
fn add_products(
    ids: &[&str],
    as_fixed: bool,
    tree: &Tree,
    config: &CsafConfig,
    affected: &mut Vec<Affected>,
    unmapped: &mut Vec<String>,
) {
    for id in ids {
        let Some((product, version)) = tree.resolve(id, config) else {
            push_new(unmapped, (*id).to_string());
            continue;
        };
        let index = match affected.iter().position(|a| a.product == product) {
            Some(index) => index,
            None => {
                affected.push(Affected {
                    product,
                    versions: Vec::new(),
                    fixed_versions: Vec::new(),
                });
                affected.len() - 1
            }
        };
        if let Some(version) = version {
            let entry = &mut affected[index];
            push_new(
                if as_fixed {
                    &mut entry.fixed_versions
                } else {
                    &mut entry.versions
                },
                version,
            );
        }
    }
}

fn ids<'a>(vulnerability: &'a Value, statuses: &[&str]) -> Vec<&'a str> {
    statuses
        .iter()
        .flat_map(|status| list(vulnerability, &format!("/product_status/{status}")))
        .filter_map(Value::as_str)
        .collect()
}

const AFFECTED: [&str; 3] = ["first_affected", "known_affected", "last_affected"];
const FIXED: [&str; 2] = ["first_fixed", "fixed"];

/// N11/N16: the affected products and their fixed versions. A vulnerability's affected products (first, known,
/// last affected) with their versions; when it lists none, its fixed products are the affected ones, at their
/// versions as fixed (vendors such as Red Hat list only what an update fixes). Fixed versions of a vulnerability
/// that lists affected products count for the products it affects. An informational advisory, without
/// vulnerabilities, is about every product of its tree. Ids that map to nothing are returned too.
fn n16_affected(document: &Value, config: &CsafConfig) -> (Vec<Affected>, Vec<String>) {
    let tree = Tree::read(document.get("product_tree").unwrap_or(&Value::Null));
    let vulnerabilities = list(document, "/vulnerabilities");
    let (mut affected, mut unmapped) = (Vec::new(), Vec::new());
    for vulnerability in vulnerabilities {
        let named = ids(vulnerability, &AFFECTED);
        if named.is_empty() {
            let fixed = ids(vulnerability, &FIXED);
            add_products(&fixed, true, &tree, config, &mut affected, &mut unmapped);
        } else {
            add_products(&named, false, &tree, config, &mut affected, &mut unmapped);
        }
    }
    for vulnerability in vulnerabilities {
        if ids(vulnerability, &AFFECTED).is_empty() {
            continue;
        }
        for id in ids(vulnerability, &FIXED) {
            let Some((product, Some(version))) = tree.resolve(id, config) else {
                continue;
            };
            if let Some(entry) = affected.iter_mut().find(|a| a.product == product) {
                push_new(&mut entry.fixed_versions, version);
            }
        }
    }
    if vulnerabilities.is_empty() {
        let all: Vec<&str> = tree.ids().collect();
        add_products(&all, false, &tree, config, &mut affected, &mut unmapped);
    }
    (affected, unmapped)
}

/// N16: every CVSS v3 score of the document's vulnerabilities (`scores[].cvss_v3`), with the CVE it is for,
/// once per CVE and vector, as published.
fn n16_scores(document: &Value) -> Vec<CvssScore> {
    let mut scores: Vec<CvssScore> = Vec::new();
    for vulnerability in list(document, "/vulnerabilities") {
        let cve = text(vulnerability, "/cve").and_then(|c| rules::n1_cve_id(c).ok());
        for score in list(vulnerability, "/scores") {
            let (Some(vector), Some(base_score)) = (
                text(score, "/cvss_v3/vectorString"),
                score
                    .pointer("/cvss_v3/baseScore")
                    .and_then(Value::as_f64)
                    .and_then(BaseScore::from_f64),
            ) else {
                continue;
            };
            let score = CvssScore {
                cve: cve.clone(),
                vector: vector.to_string(),
                base_score,
            };
            if !scores.contains(&score) {
                scores.push(score);
            }
        }
    }
    scores
}

/// Resolution lines: vendor fixes, workarounds and mitigations with their URLs, once each.
fn remediations(document: &Value) -> Vec<String> {
    let mut fixes = Vec::new();
    for vulnerability in list(document, "/vulnerabilities") {
        for remediation in list(vulnerability, "/remediations") {
            let label = match text(remediation, "/category") {
                Some("vendor_fix") => "",
                Some("workaround") => "Workaround: ",
                Some("mitigation") => "Mitigation: ",
                _ => continue,
            };
            let details = text(remediation, "/details").unwrap_or_default().trim();
            let line = match text(remediation, "/url") {
                Some(url) => format!("{label}{details} ({url})"),
                None => format!("{label}{details}"),
            };
            push_new(&mut fixes, line);
        }
    }
    fixes
}

/// An informational advisory's guidance is in its references: the external ones, as resolution lines.
fn external_references(document: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for reference in list(document, "/document/references") {
        if text(reference, "/category") != Some("external") {
            continue;
        }
        let (Some(summary), Some(url)) = (text(reference, "/summary"), text(reference, "/url"))
        else {
            continue;
        };
        push_new(&mut lines, format!("{}: {url}", summary.trim()));
    }
    lines
}

/// N11/N16: a schema-valid CSAF 2.0 document mapped to an advisory. A `csaf_security_advisory` is a SECURITY
/// advisory, a `csaf_informational_advisory` a TECHNICAL one. Title; notes (summary, details, general) to summary,
/// impact and conditions; CVEs and CVSS v3 scores; severity (an informational advisory without one is LOW); the
/// TLP label; the affected products and fixed versions through the product mapping ([`n16_affected`]); vendor
/// fixes, workarounds and mitigations (an informational advisory's external references) to the resolution.
pub fn n11_map(document: &Value, config: &CsafConfig) -> Result<Imported, Vec<FieldViolation>> {
    let mut v = Violations::default();
    let kind = match text(document, "/document/category") {
        Some(SECURITY_ADVISORY) => Kind::Security,
        Some(INFORMATIONAL_ADVISORY) => Kind::Technical,
        _ => {
            v.add(
                "/document/category",
                format!("must be {SECURITY_ADVISORY} (a security advisory) or {INFORMATIONAL_ADVISORY} (a technical one)"),
            );
            Kind::Security
        }
    };
    let tracking = CsafTracking {
        id: text(document, "/document/tracking/id")
            .unwrap_or_default()
            .to_string(),
        version: text(document, "/document/tracking/version")
            .unwrap_or_default()
            .to_string(),
    };
    let title = text(document, "/document/title")
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    rules::n1_check_text(&mut v, "/document/title", &title, true, rules::MAX_TITLE);

    let mut summary = notes(document, "summary");
    if summary.is_empty() {
        summary = notes(document, "description");
    }
    if summary.is_empty() {
        summary = title.clone();
    }
    let impact = notes(document, "details");
    let conditions = notes(document, "general");

    let mut cve_ids = Vec::new();
    for (i, vulnerability) in list(document, "/vulnerabilities").iter().enumerate() {
        if let Some(cve) = text(vulnerability, "/cve") {
            match rules::n1_cve_id(cve) {
                Ok(cve) => push_new(&mut cve_ids, cve),
                Err(e) => v.add(&format!("/vulnerabilities/{i}/cve"), e.description),
            }
        }
    }
    let cvss = n16_scores(document);
    if cvss.len() > MAX_SCORES {
        v.add(
            "/vulnerabilities",
            format!("at most {MAX_SCORES} distinct CVSS v3 scores"),
        );
    }
    let scores: Vec<f64> = cvss.iter().map(|s| s.base_score.value()).collect();
    let aggregate = text(document, "/document/aggregate_severity/text");
    let severity = match (n11_severity(aggregate, &scores), kind) {
        (Some(severity), _) => Some(severity),
        // Information, not a vulnerability: nothing to score.
        (None, Kind::Technical) => Some(Severity::Low),
        (None, Kind::Security) => {
            v.add(
                "/document/aggregate_severity",
                "names no severity (critical, high, medium, low) and no vulnerability has a CVSS v3 score",
            );
            None
        }
    };
    let tlp = text(document, "/document/distribution/tlp/label")
        .and_then(Tlp::n1_parse)
        .unwrap_or(config.default_tlp);

    let (affected, unmapped) = n16_affected(document, config);
    let mut fixes = remediations(document);
    if kind == Kind::Technical && fixes.is_empty() {
        fixes = external_references(document);
    }
    let resolution = fixes.join("\n\n");

    for (field, value) in [
        ("/document/notes", &summary),
        ("/document/notes", &impact),
        ("/document/notes", &conditions),
        ("/vulnerabilities/remediations", &resolution),
    ] {
        rules::n1_check_text(&mut v, field, value, false, rules::TEXT_LIMIT);
    }
    rules::n1_check_lists(&mut v, affected.len(), cve_ids.len(), 0);
    v.finish()?;
    let Some(severity) = severity else {
        return Err(vec![FieldViolation::new(
            "/document/aggregate_severity",
            "no severity",
        )]);
    };
    Ok(Imported {
        kind,
        severity,
        tlp,
        title,
        content: AdvisoryContent {
            summary,
            impact,
            affected,
            conditions,
            resolution,
            cve_ids,
            csaf: Some(tracking),
            cvss,
        },
        unmapped,
    })
}
