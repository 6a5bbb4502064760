//! N12: an advisory as a CSAF 2.0 `csaf_security_advisory`: an imported one's own document, or a generated one.

use chrono::{DateTime, SecondsFormat, Utc};
use portal_policy::Product;
use serde_json::{Value, json};

use super::{CsafConfig, SECURITY_ADVISORY};
use crate::domain::advisory::{Advisory, Severity};

impl CsafConfig {
    /// The name exported documents give a product: its first configured name, else the suite's name for it.
    fn display_name(&self, product: Product) -> String {
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

/// N12: an imported advisory's own document, the suite's advisory id added to its tracking aliases.
pub fn n12_imported(mut document: Value, advisory_id: &str) -> Value {
    if let Some(tracking) = document
        .pointer_mut("/document/tracking")
        .and_then(Value::as_object_mut)
    {
        let aliases = tracking
            .entry("aliases")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(aliases) = aliases.as_array_mut()
            && !aliases.iter().any(|a| a.as_str() == Some(advisory_id))
        {
            aliases.push(Value::String(advisory_id.to_string()));
        }
    }
    document
}

/// The CSAF name of a severity (`aggregate_severity.text`), read back by [`n11_named_severity`].
fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
    }
}

/// N12: the CSAF 2.0 `csaf_security_advisory` of an advisory published field by field: the configured
/// publisher, tracking id = the advisory id with its revision history, the product tree from the affected
/// products (a version branch per affected and fixed version), one vulnerability per CVE.
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
    let mut product_branches = Vec::new();
    let (mut known_affected, mut fixed) = (Vec::new(), Vec::new());
    for a in &content.affected {
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
                    "product": {"product_id": pid, "name": format!("{name} {version}")},
                }));
            }
        }
        if a.versions.is_empty() {
            // No version named: the whole product is affected.
            let pid = a.product.as_str().to_string();
            known_affected.push(pid.clone());
            product_branches.push(json!({
                "category": "product_name",
                "name": name,
                "product": {"product_id": pid, "name": name},
            }));
            if !versions.is_empty() {
                product_branches.push(json!({
                    "category": "product_name", "name": name, "branches": versions,
                }));
            }
        } else {
            product_branches.push(json!({
                "category": "product_name", "name": name, "branches": versions,
            }));
        }
    }
    let mut status = serde_json::Map::new();
    if !known_affected.is_empty() {
        status.insert("known_affected".into(), json!(known_affected));
    }
    if !fixed.is_empty() {
        status.insert("fixed".into(), json!(fixed));
    }
    let vulnerability = |cve: Option<&str>| {
        let mut v = serde_json::Map::new();
        match cve {
            Some(cve) => v.insert("cve".into(), json!(cve)),
            None => v.insert("title".into(), json!(advisory.title)),
        };
        v.insert(
            "notes".into(),
            json!([{"category": "summary", "text": content.summary}]),
        );
        if !status.is_empty() {
            v.insert("product_status".into(), Value::Object(status.clone()));
        }
        if !content.resolution.trim().is_empty() && !known_affected.is_empty() {
            v.insert(
                "remediations".into(),
                json!([{"category": "vendor_fix", "details": content.resolution, "product_ids": known_affected}]),
            );
        }
        Value::Object(v)
    };
    let vulnerabilities: Vec<Value> = if content.cve_ids.is_empty() {
        vec![vulnerability(None)]
    } else {
        content
            .cve_ids
            .iter()
            .map(|cve| vulnerability(Some(cve)))
            .collect()
    };
    let mut document = json!({
        "document": {
            "category": SECURITY_ADVISORY,
            "csaf_version": "2.0",
            "lang": "en",
            "title": advisory.title,
            "aggregate_severity": {"text": severity_name(advisory.severity)},
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
        "vulnerabilities": vulnerabilities,
    });
    if !product_branches.is_empty() {
        document["product_tree"] = json!({
            "branches": [{
                "category": "vendor",
                "name": config.publisher.name,
                "branches": product_branches,
            }]
        });
    }
    document
}
