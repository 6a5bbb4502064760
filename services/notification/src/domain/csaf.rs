//! CSAF 2.0 in and out (N11, N12): the official schema check, the mapping of a `csaf_security_advisory` to an
//! advisory through the configured product mapping, and the document an advisory exports as. Pure: the JSON
//! goes in and out as `serde_json::Value`; no tonic, no database.

use std::sync::OnceLock;

use jsonschema::{Registry, Resource, Validator, error::ValidationErrorKind};
use portal_policy::Product;
use portal_runtime::{
    config::NotificationSettings,
    error::{FieldViolation, MAX_VIOLATIONS},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod export;
mod import;

pub use export::{n12_generate, n12_imported};
pub use import::{Imported, n11_map, n11_named_severity, n11_score_severity, n11_severity};

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

#[cfg(test)]
mod tests;
