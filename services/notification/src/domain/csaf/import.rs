//! N11: a schema-valid `csaf_security_advisory` mapped to an advisory through the product mapping.

use portal_policy::Product;
use portal_runtime::error::{FieldViolation, Violations};
use serde_json::Value;

use super::{CsafConfig, CsafTracking, SECURITY_ADVISORY, starts_with_word};
use crate::domain::advisory::{self as rules, AdvisoryContent, Affected, Severity};

impl CsafConfig {
    /// The suite product a CSAF product means: a configured CPE prefix or name first, else the suite's own
    /// product name (what documents this suite exported without a mapping say).
    fn product_of(&self, leaf: &Leaf) -> Option<Product> {
        let names = [leaf.product_name.as_deref(), Some(leaf.name.as_str())];
        let cpe = leaf.cpe.as_deref().map(str::to_ascii_lowercase);
        let configured = self.products.iter().find(|rule| {
            let by_cpe = cpe.as_ref().is_some_and(|cpe| {
                rule.cpes
                    .iter()
                    .any(|prefix| cpe.starts_with(&prefix.to_ascii_lowercase()))
            });
            let by_name = rule.names.iter().any(|wanted| {
                names
                    .iter()
                    .flatten()
                    .any(|name| starts_with_word(name, wanted))
            });
            by_cpe || by_name
        });
        configured.map(|rule| rule.product).or_else(|| {
            let own = leaf.product_name.as_deref()?;
            Product::parse(&own.trim().to_ascii_uppercase())
        })
    }
}

/// A CSAF document mapped to an advisory (N11).
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub severity: Severity,
    pub title: String,
    /// The content, `csaf` set to the document's tracking.
    pub content: AdvisoryContent,
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

/// A product of the product tree with what its branches say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Leaf {
    id: String,
    name: String,
    product_name: Option<String>,
    version: Option<String>,
    cpe: Option<String>,
}

impl Leaf {
    fn new(product: &Value, product_name: Option<&str>, version: Option<&str>) -> Option<Self> {
        Some(Leaf {
            id: text(product, "/product_id")?.to_string(),
            name: text(product, "/name").unwrap_or_default().to_string(),
            product_name: product_name.map(str::to_string),
            version: version.map(str::to_string),
            cpe: text(product, "/product_identification_helper/cpe").map(str::to_string),
        })
    }

    /// The version: the `product_version` branch, else the CPE's version part.
    fn version(&self) -> Option<String> {
        self.version.clone().or_else(|| {
            let cpe = self.cpe.as_deref()?;
            let part = if cpe.starts_with("cpe:2.3:") {
                cpe.split(':').nth(5)
            } else {
                cpe.split(':').nth(4)
            }?;
            (!part.is_empty() && part != "*" && part != "-").then(|| part.to_string())
        })
    }
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn list<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Every product of the tree: branch leaves (with their product name and version), full product names, and
/// relationships' products.
fn leaves(tree: &Value) -> Vec<Leaf> {
    fn walk<'a>(
        branches: &'a [Value],
        name: Option<&'a str>,
        version: Option<&'a str>,
        out: &mut Vec<Leaf>,
    ) {
        for branch in branches {
            let (mut name, mut version) = (name, version);
            match text(branch, "/category") {
                Some("product_name" | "product_family") if name.is_none() => {
                    name = text(branch, "/name")
                }
                Some("product_name") => name = text(branch, "/name"),
                Some("product_version" | "product_version_range") => {
                    version = text(branch, "/name")
                }
                _ => {}
            }
            if let Some(product) = branch.get("product") {
                out.extend(Leaf::new(product, name, version));
            }
            walk(list(branch, "/branches"), name, version, out);
        }
    }
    let mut out = Vec::new();
    walk(list(tree, "/branches"), None, None, &mut out);
    for product in list(tree, "/full_product_names") {
        out.extend(Leaf::new(product, None, None));
    }
    for relationship in list(tree, "/relationships") {
        if let Some(product) = relationship.get("full_product_name") {
            out.extend(Leaf::new(product, None, None));
        }
    }
    out
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

/// N11: a schema-valid CSAF 2.0 `csaf_security_advisory` mapped to an advisory: title; notes (summary, details,
/// general) to summary, impact and conditions; CVEs; severity; the known-affected products and their fixed
/// versions through the product mapping; vendor fixes (and workarounds) to the resolution.
pub fn n11_map(document: &Value, config: &CsafConfig) -> Result<Imported, Vec<FieldViolation>> {
    let mut v = Violations::default();
    if text(document, "/document/category") != Some(SECURITY_ADVISORY) {
        v.add(
            "/document/category",
            format!("must be {SECURITY_ADVISORY} to publish as a security advisory"),
        );
    }
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

    let vulnerabilities = list(document, "/vulnerabilities");
    let mut cve_ids = Vec::new();
    let mut scores = Vec::new();
    for (i, vulnerability) in vulnerabilities.iter().enumerate() {
        if let Some(cve) = text(vulnerability, "/cve") {
            match rules::n1_cve_id(cve) {
                Ok(cve) => push_new(&mut cve_ids, cve),
                Err(e) => v.add(&format!("/vulnerabilities/{i}/cve"), e.description),
            }
        }
        for score in list(vulnerability, "/scores") {
            scores.extend(score.pointer("/cvss_v3/baseScore").and_then(Value::as_f64));
        }
    }
    let aggregate = text(document, "/document/aggregate_severity/text");
    let severity = n11_severity(aggregate, &scores);
    if severity.is_none() {
        v.add(
            "/document/aggregate_severity",
            "names no severity (critical, high, medium, low) and no vulnerability has a CVSS v3 score",
        );
    }

    let leaves = leaves(document.get("product_tree").unwrap_or(&Value::Null));
    let leaf = |id: &Value| {
        let id = id.as_str()?;
        leaves.iter().find(|leaf| leaf.id == id)
    };
    let mut affected: Vec<Affected> = Vec::new();
    for vulnerability in vulnerabilities {
        for id in list(vulnerability, "/product_status/known_affected") {
            let Some(leaf) = leaf(id) else { continue };
            let Some(product) = config.product_of(leaf) else {
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
            if let Some(version) = leaf.version() {
                push_new(&mut affected[index].versions, version);
            }
        }
    }
    for vulnerability in vulnerabilities {
        let fixed = list(vulnerability, "/product_status/fixed")
            .iter()
            .chain(list(vulnerability, "/product_status/first_fixed"));
        for id in fixed {
            let Some(leaf) = leaf(id) else { continue };
            let (Some(product), Some(version)) = (config.product_of(leaf), leaf.version()) else {
                continue;
            };
            if let Some(entry) = affected.iter_mut().find(|a| a.product == product) {
                push_new(&mut entry.fixed_versions, version);
            }
        }
    }

    let mut fixes = Vec::new();
    for vulnerability in vulnerabilities {
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
        severity,
        title,
        content: AdvisoryContent {
            summary,
            impact,
            affected,
            conditions,
            resolution,
            cve_ids,
            csaf: Some(tracking),
        },
    })
}
