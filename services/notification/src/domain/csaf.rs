//! CSAF 2.0 in and out (N11, N12): the official schema check, the mapping of a `csaf_security_advisory` to an
//! advisory through the configured product mapping, and the document an advisory exports as. Pure: the JSON
//! goes in and out as `serde_json::Value`; no tonic, no database.

use std::sync::OnceLock;

use chrono::{DateTime, SecondsFormat, Utc};
use jsonschema::{Registry, Resource, Validator, error::ValidationErrorKind};
use portal_policy::Product;
use portal_runtime::{
    config::NotificationSettings,
    error::{FieldViolation, MAX_VIOLATIONS, Violations},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::advisory::{self as rules, Advisory, AdvisoryContent, Affected, Severity};

/// The official CSAF 2.0 schema and the CVSS schemas it references (see `schema/README.md` for provenance).
const CSAF_SCHEMA: &str = include_str!("../../schema/csaf_2.0_json_schema.json");
const CVSS_SCHEMAS: [(&str, &str); 3] = [
    (
        "https://www.first.org/cvss/cvss-v2.0.json",
        include_str!("../../schema/cvss-v2.0.json"),
    ),
    (
        "https://www.first.org/cvss/cvss-v3.0.json",
        include_str!("../../schema/cvss-v3.0.json"),
    ),
    (
        "https://www.first.org/cvss/cvss-v3.1.json",
        include_str!("../../schema/cvss-v3.1.json"),
    ),
];

/// The largest document imported (the gRPC message limit is 4 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// Schema failures looked at: more than a status can show, few enough to stay cheap on a broken document.
const MAX_SCHEMA_ERRORS: usize = MAX_VIOLATIONS * 5;
/// The only document category the suite's advisories are.
const SECURITY_ADVISORY: &str = "csaf_security_advisory";

/// The CSAF document an imported advisory came from (N11): shown in its mail and kept on export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsafTracking {
    pub id: String,
    pub version: String,
}

/// One suite product and the CSAF names and CPE prefixes that mean it (`notification.csaf_products`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRule {
    pub product: Product,
    pub names: Vec<String>,
    pub cpes: Vec<String>,
}

/// Who exported documents say published them (`notification.csaf_publisher`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    pub category: String,
    pub name: String,
    pub namespace: String,
}

/// The CSAF configuration, checked once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsafConfig {
    pub products: Vec<ProductRule>,
    pub publisher: Publisher,
}

impl CsafConfig {
    /// The configuration as settings give it; an unknown product or publisher category names its key.
    pub fn from_settings(settings: &NotificationSettings) -> Result<Self, String> {
        let mut products = Vec::new();
        for (i, rule) in settings.csaf_products.iter().enumerate() {
            let product = Product::parse(&rule.product.trim().to_ascii_uppercase()).ok_or_else(|| {
                format!(
                    "notification.csaf_products[{i}].product: {:?} is not DESKTOP, PREP_BUILDER, SERVER or ELEARNING",
                    rule.product
                )
            })?;
            if rule
                .names
                .iter()
                .chain(&rule.cpes)
                .all(|s| s.trim().is_empty())
            {
                return Err(format!(
                    "notification.csaf_products[{i}]: give at least one of names or cpes"
                ));
            }
            let clean = |list: &[String]| -> Vec<String> {
                list.iter()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            products.push(ProductRule {
                product,
                names: clean(&rule.names),
                cpes: clean(&rule.cpes),
            });
        }
        let p = &settings.csaf_publisher;
        const CATEGORIES: [&str; 6] = [
            "coordinator",
            "discoverer",
            "other",
            "translator",
            "user",
            "vendor",
        ];
        if !CATEGORIES.contains(&p.category.as_str()) {
            return Err(format!(
                "notification.csaf_publisher.category: {:?} is not one of {}",
                p.category,
                CATEGORIES.join(", ")
            ));
        }
        if p.name.trim().is_empty() || url::Url::parse(&p.namespace).is_err() {
            return Err(
                "notification.csaf_publisher: name must not be empty and namespace must be a URL"
                    .into(),
            );
        }
        Ok(Self {
            products,
            publisher: Publisher {
                category: p.category.clone(),
                name: p.name.trim().to_string(),
                namespace: p.namespace.clone(),
            },
        })
    }

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

    /// The name exported documents give a product: its first configured name, else the suite's name for it.
    fn display_name(&self, product: Product) -> String {
        self.products
            .iter()
            .find(|rule| rule.product == product)
            .and_then(|rule| rule.names.first().cloned())
            .unwrap_or_else(|| product.as_str().to_string())
    }
}

/// `name` is `wanted`, or starts with it followed by a space (`Example Desktop 2024.1` is `Example Desktop`).
fn starts_with_word(name: &str, wanted: &str) -> bool {
    let (name, wanted) = (name.trim().to_lowercase(), wanted.trim().to_lowercase());
    !wanted.is_empty()
        && (name == wanted
            || name
                .strip_prefix(&wanted)
                .is_some_and(|rest| rest.starts_with(' ')))
}

fn validator() -> Result<&'static Validator, String> {
    static VALIDATOR: OnceLock<Result<Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let parse = |text: &str| serde_json::from_str::<Value>(text).map_err(|e| e.to_string());
            let mut resources = Vec::new();
            for (uri, text) in CVSS_SCHEMAS {
                resources.push((uri, Resource::from_contents(parse(text)?)));
            }
            let registry = Registry::new()
                .extend(resources)
                .and_then(|r| r.prepare())
                .map_err(|e| e.to_string())?;
            // Formats (date-time, uri, …) are asserted, as CSAF validators do, not just annotated.
            jsonschema::options()
                .with_registry(&registry)
                .should_validate_formats(true)
                .build(&parse(CSAF_SCHEMA)?)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Builds the schema validator (call at start-up, so a broken build fails there and not on the first import).
pub fn n11_schema_ready() -> Result<(), String> {
    validator().map(|_| ())
}

/// N11/N12: the document against the official CSAF 2.0 schema; each violation's field is the failing JSON
/// pointer (a missing property's own path, e.g. `/document/title`).
pub fn n11_check_schema(document: &Value) -> Result<(), Vec<FieldViolation>> {
    let validator = validator().map_err(|e| vec![FieldViolation::new("document", e)])?;
    let mut violations = Vec::new();
    for error in validator.iter_errors(document).take(MAX_SCHEMA_ERRORS) {
        let mut path = error.instance_path().as_str().to_string();
        if let ValidationErrorKind::Required { property } = error.kind() {
            path = format!("{path}/{}", property.as_str().unwrap_or_default());
        }
        if path.is_empty() {
            path = "/".into();
        }
        violations.push(FieldViolation::new(path, error.to_string()));
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// N11: the request's bytes as a JSON document.
pub fn n11_parse(bytes: &[u8]) -> Result<Value, FieldViolation> {
    if bytes.is_empty() {
        return Err(FieldViolation::new("document", "must not be empty"));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(FieldViolation::new(
            "document",
            format!("must be at most {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| FieldViolation::new("document", format!("is not JSON: {e}")))
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

#[cfg(test)]
mod tests;
