//! N12: an advisory as a CSAF 2.0 document that passes the BSI validator's schema, mandatory and recommended
//! tests: an imported advisory's own document, or a generated one with its TLP label, canonical URL, product
//! identification helpers and CVSS scores; and where the suite's provider keeps each document (N15).

use chrono::{DateTime, SecondsFormat, Utc};
use portal_policy::Product;
use serde_json::{Map, Value, json};

use super::{CsafConfig, INFORMATIONAL_ADVISORY, SECURITY_ADVISORY, products::list};
use crate::domain::{
    Target, Tlp,
    advisory::{Advisory, Affected, Severity},
    cvss::CvssScore,
};

/// The TLP definitions a CSAF 2.0 label refers to (the schema's default for `distribution.tlp.url`).
const TLP_URL: &str = "https://www.first.org/tlp/";

impl CsafConfig {
    /// The name exported documents give a product: its first configured name, else the suite's name for it.
    pub(super) fn display_name(&self, product: Product) -> String {
        self.products
            .iter()
            .find(|rule| rule.product == product)
            .and_then(|rule| rule.names.first().cloned())
            .unwrap_or_else(|| product.as_str().to_string())
    }
}

fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// N12 (CSAF 2.0 §5.1): the file name of a document: its tracking id in lower case, every run of characters
/// other than `a-z`, `0-9`, `+` and `-` replaced by one `_`, then `.json`.
pub fn n12_file_name(tracking_id: &str) -> String {
    let mut name = String::new();
    for c in tracking_id.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '+' || c == '-' {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    format!("{name}.json")
}

/// N15 (CSAF 2.0 §7.1.11): where a document sits below the provider's base: the directory of its TLP label, the
/// year of its `initial_release_date`, its file name — `white/2026/adv-2026-012.json`.
pub fn n15_document_path(tlp: Tlp, year: i32, tracking_id: &str) -> String {
    format!(
        "{}/{year}/{}",
        tlp.n15_directory(),
        n12_file_name(tracking_id)
    )
}

/// N12: a document's canonical URL at the suite's provider, from its tracking id and initial release date.
pub fn n12_canonical_url(config: &CsafConfig, tlp: Tlp, document: &Value) -> Option<String> {
    let id = document.pointer("/document/tracking/id")?.as_str()?;
    let released = document
        .pointer("/document/tracking/initial_release_date")?
        .as_str()?;
    let year = released.get(..4)?.parse::<i32>().ok()?;
    Some(format!(
        "{}/{}",
        config.provider_base,
        n15_document_path(tlp, year, id)
    ))
}

/// The document has a canonical URL as the BSI validator's test 6.2.11 wants it: a `self` reference at an
/// `https://` URL ending in the document's file name.
fn has_canonical_url(document: &Value) -> bool {
    let Some(id) = document
        .pointer("/document/tracking/id")
        .and_then(Value::as_str)
    else {
        return false;
    };
    let file = n12_file_name(id);
    list(document, "/document/references").iter().any(|r| {
        let url = r.get("url").and_then(Value::as_str).unwrap_or_default();
        r.get("category").and_then(Value::as_str) == Some("self")
            && url.starts_with("https://")
            && url.ends_with(&file)
    })
}

fn distribution(tlp: Tlp) -> Value {
    json!({"tlp": {"label": tlp.n12_csaf_label(), "url": TLP_URL}})
}

fn self_reference(url: String) -> Value {
    json!({"category": "self", "summary": "Canonical URL", "url": url})
}

/// N12: an imported advisory's own document, the suite's advisory id added to its tracking aliases, and what the
/// suite knows that the publisher left out: the advisory's TLP label, and a canonical URL at the suite's
/// provider. Everything the publisher wrote stays as written.
pub fn n12_imported(mut document: Value, advisory: &Advisory, config: &CsafConfig) -> Value {
    let canonical = (!has_canonical_url(&document))
        .then(|| n12_canonical_url(config, advisory.tlp, &document))
        .flatten();
    let Some(meta) = document.get_mut("document").and_then(Value::as_object_mut) else {
        return document;
    };
    if let Some(tracking) = meta.get_mut("tracking").and_then(Value::as_object_mut) {
        let aliases = tracking
            .entry("aliases")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(aliases) = aliases.as_array_mut()
            && !aliases
                .iter()
                .any(|a| a.as_str() == Some(&advisory.advisory_id))
        {
            aliases.push(Value::String(advisory.advisory_id.clone()));
        }
    }
    let labelled = meta
        .get("distribution")
        .and_then(|d| d.pointer("/tlp/label"))
        .is_some();
    if !labelled {
        match meta.get_mut("distribution").and_then(Value::as_object_mut) {
            Some(existing) => {
                existing.insert("tlp".into(), distribution(advisory.tlp)["tlp"].clone());
            }
            None => {
                meta.insert("distribution".into(), distribution(advisory.tlp));
            }
        }
    }
    if let Some(url) = canonical {
        let references = meta
            .entry("references")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(references) = references.as_array_mut() {
            references.push(self_reference(url));
        }
    }
    document
}

/// The CSAF name of a severity (`aggregate_severity.text`), read back by [`super::n11_named_severity`].
fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
    }
}

/// The products an export names: the affected products, else (an advisory sent to the holders of products
/// without naming versions) its target's products, whole.
fn exported_products(advisory: &Advisory) -> Vec<Affected> {
    if !advisory.content.affected.is_empty() {
        return advisory.content.affected.clone();
    }
    match &advisory.target {
        Target::Products(products) => products
            .iter()
            .filter_map(|p| portal_proto::vocabulary::product(*p).ok())
            .map(|product| Affected {
                product,
                versions: Vec::new(),
                fixed_versions: Vec::new(),
            })
            .collect(),
        Target::AllAccounts | Target::Accounts(_) => Vec::new(),
    }
}

/// The product tree (a version branch per affected and fixed version, each with its identification helper) and
/// the known-affected and fixed product ids.
fn product_tree(
    products: &[Affected],
    config: &CsafConfig,
) -> (Vec<Value>, Vec<String>, Vec<String>) {
    let mut branches = Vec::new();
    let (mut known_affected, mut fixed) = (Vec::new(), Vec::new());
    for a in products {
        let name = config.display_name(a.product);
        let id = |version: &str| format!("{}:{version}", a.product.as_str());
        let mut versions = Vec::new();
        for (list, ids) in [
            (&a.versions, &mut known_affected),
            (&a.fixed_versions, &mut fixed),
        ] {
            for version in list {
                let pid = id(version);
                if ids.contains(&pid) {
                    continue;
                }
                ids.push(pid.clone());
                versions.push(json!({
                    "category": "product_version",
                    "name": version,
                    "product": {
                        "product_id": pid,
                        "name": format!("{name} {version}"),
                        "product_identification_helper": config.helper(a.product, Some(version)),
                    },
                }));
            }
        }
        if a.versions.is_empty() {
            // No version named: the whole product is affected.
            let pid = a.product.as_str().to_string();
            known_affected.push(pid.clone());
            branches.push(json!({
                "category": "product_name",
                "name": name,
                "product": {
                    "product_id": pid,
                    "name": name,
                    "product_identification_helper": config.helper(a.product, None),
                },
            }));
        }
        if !versions.is_empty() {
            branches.push(json!({"category": "product_name", "name": name, "branches": versions}));
        }
    }
    (branches, known_affected, fixed)
}

/// A CVSS v3 score object (`scores[].cvss_v3`).
fn cvss_v3(score: &CvssScore) -> Value {
    json!({
        "version": score.version(),
        "vectorString": score.vector,
        "baseScore": score.base_score.value(),
        "baseSeverity": score.base_score.rating(),
    })
}

/// One vulnerability of a generated security advisory: its CVE (else the advisory's title), the summary, the
/// product statuses, the score that is for its CVE (else the advisory's), and the remediation of every affected
/// product — the resolution, or that none is given.
fn vulnerability(
    advisory: &Advisory,
    cve: Option<&str>,
    known_affected: &[String],
    fixed: &[String],
) -> Value {
    let content = &advisory.content;
    let mut v = Map::new();
    match cve {
        Some(cve) => v.insert("cve".into(), json!(cve)),
        None => v.insert("title".into(), json!(advisory.title)),
    };
    v.insert(
        "notes".into(),
        json!([{"category": "summary", "text": content.summary}]),
    );
    let mut status = Map::new();
    if !known_affected.is_empty() {
        status.insert("known_affected".into(), json!(known_affected));
    }
    if !fixed.is_empty() {
        status.insert("fixed".into(), json!(fixed));
    }
    v.insert("product_status".into(), Value::Object(status));
    let score = content
        .cvss
        .iter()
        .find(|s| s.cve.is_some() && s.cve.as_deref() == cve)
        .or_else(|| content.cvss.iter().find(|s| s.cve.is_none()));
    if let Some(score) = score {
        v.insert(
            "scores".into(),
            json!([{"cvss_v3": cvss_v3(score), "products": known_affected}]),
        );
    }
    let remediation = if content.resolution.trim().is_empty() {
        json!({"category": "none_available", "details": "This advisory names no remediation.", "product_ids": known_affected})
    } else {
        json!({"category": "vendor_fix", "details": content.resolution, "product_ids": known_affected})
    };
    v.insert("remediations".into(), json!([remediation]));
    Value::Object(v)
}

/// N12: the CSAF 2.0 document of an advisory published field by field: the configured publisher, its TLP label
/// and canonical URL, tracking id = the advisory id with its revision history. With products (affected, or the
/// products it was sent to the holders of) a `csaf_security_advisory`: the product tree with identification
/// helpers, one vulnerability per CVE with its product statuses, CVSS score and remediation. Without any product a
/// security advisory cannot be valid CSAF (tests 6.1.27.4 and 6.1.27.6): the advisory is then a
/// `csaf_informational_advisory` whose CVEs, if any, are references.
pub fn n12_generate(advisory: &Advisory, config: &CsafConfig, now: DateTime<Utc>) -> Value {
    let content = &advisory.content;
    let published = timestamp(advisory.create_time);
    let mut notes =
        vec![json!({"category": "summary", "title": "Summary", "text": content.summary})];
    for (category, title, value) in [
        ("details", "Impact", &content.impact),
        ("general", "Conditions", &content.conditions),
    ] {
        if !value.trim().is_empty() {
            notes.push(json!({"category": category, "title": title, "text": value}));
        }
    }
    let products = exported_products(advisory);
    let category = if products.is_empty() {
        INFORMATIONAL_ADVISORY
    } else {
        SECURITY_ADVISORY
    };
    let mut document = json!({
        "document": {
            "category": category,
            "csaf_version": "2.0",
            "lang": "en",
            "title": advisory.title,
            "aggregate_severity": {"text": severity_name(advisory.severity)},
            "distribution": distribution(advisory.tlp),
            "publisher": {
                "category": config.publisher.category,
                "name": config.publisher.name,
                "namespace": config.publisher.namespace,
            },
            "notes": notes,
            "tracking": {
                "id": advisory.advisory_id,
                "status": "final",
                "version": "1",
                "initial_release_date": published,
                "current_release_date": published,
                "revision_history": [
                    {"date": published, "number": "1", "summary": "Initial release."}
                ],
                "generator": {
                    "date": timestamp(now),
                    "engine": {"name": "Customer Portal Suite", "version": env!("CARGO_PKG_VERSION")},
                },
            },
        },
    });
    let mut references: Vec<Value> = n12_canonical_url(config, advisory.tlp, &document)
        .map(self_reference)
        .into_iter()
        .collect();
    if products.is_empty() {
        // An informational advisory points somewhere (test 6.1.27.2): the CVE records, else the publisher.
        for cve in &content.cve_ids {
            references.push(json!({
                "category": "external",
                "summary": cve,
                "url": format!("https://www.cve.org/CVERecord?id={cve}"),
            }));
        }
        if content.cve_ids.is_empty() {
            references.push(json!({
                "category": "external",
                "summary": config.publisher.name,
                "url": config.publisher.namespace,
            }));
        }
        if !content.resolution.trim().is_empty() {
            let notes = &mut document["document"]["notes"];
            if let Some(notes) = notes.as_array_mut() {
                notes.push(
                    json!({"category": "other", "title": "Resolution", "text": content.resolution}),
                );
            }
        }
    } else {
        let (branches, known_affected, fixed) = product_tree(&products, config);
        document["product_tree"] = json!({
            "branches": [{"category": "vendor", "name": config.publisher.name, "branches": branches}]
        });
        let vulnerabilities: Vec<Value> = if content.cve_ids.is_empty() {
            vec![vulnerability(advisory, None, &known_affected, &fixed)]
        } else {
            content
                .cve_ids
                .iter()
                .map(|cve| vulnerability(advisory, Some(cve), &known_affected, &fixed))
                .collect()
        };
        document["vulnerabilities"] = json!(vulnerabilities);
    }
    if !references.is_empty() {
        document["document"]["references"] = json!(references);
    }
    document
}
