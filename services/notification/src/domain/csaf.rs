//! CSAF 2.0 in and out (N11, N12, N16): the official schema check, the mapping of a `csaf_security_advisory` (or
//! a `csaf_informational_advisory`) to an advisory through the configured product mapping, and the document an
//! advisory exports as, with its canonical URL. Pure: the JSON goes in and out as `serde_json::Value`; no tonic,
//! no database.

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
mod identifiers;
mod import;
mod products;
mod provider;

pub use export::{n12_canonical_url, n12_file_name, n12_generate, n12_imported, n15_document_path};
pub use identifiers::{n16_cpe_matches, n16_purl_matches};
pub use import::{Imported, n11_map, n11_named_severity, n11_score_severity, n11_severity};
pub use provider::{
    METADATA_FILE, Published, SigningKey, n15_catalogue, n15_distributed, n15_feed_labels,
    n15_feed_path, n15_key_path, n15_provider_metadata, n15_rolie_feed,
};

use crate::domain::Tlp;

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
/// The document category of the suite's advisories (N12), and the one imports map to SECURITY advisories.
const SECURITY_ADVISORY: &str = "csaf_security_advisory";
/// N16: information that is not a vulnerability (a hardening guide, a configuration notice): a TECHNICAL advisory.
/// The suite exports this category too for an advisory that names no product (N12: a security advisory needs a
/// product tree and product statuses).
const INFORMATIONAL_ADVISORY: &str = "csaf_informational_advisory";
/// Where the suite's CSAF provider keeps its documents, below the public base URL (N15): the well-known path the
/// provider metadata sits in, as the BSI's CSAF provider lays it out.
const PROVIDER_PATH: &str = "/.well-known/csaf";

/// The CSAF document an imported advisory came from (N11): shown in its mail and kept on export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsafTracking {
    pub id: String,
    pub version: String,
}

/// One suite product and the CSAF names, CPE and purl prefixes that mean it (`notification.csaf_products`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRule {
    pub product: Product,
    pub names: Vec<String>,
    pub cpes: Vec<String>,
    pub purls: Vec<String>,
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
    /// N1: the label of an advisory that names none (`notification.default_tlp`).
    pub default_tlp: Tlp,
    /// N12/N15: the URL below which the provider's documents sit, without a trailing slash: a document's
    /// canonical URL is `<provider_base>/<tlp>/<year>/<file>.json`. See [`CsafConfig::with_provider_base`].
    pub provider_base: String,
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
                .chain(&rule.purls)
                .all(|s| s.trim().is_empty())
            {
                return Err(format!(
                    "notification.csaf_products[{i}]: give at least one of names, cpes or purls"
                ));
            }
            if let Some(bad) = rule.cpes.iter().find(|c| {
                let c = c.trim().to_ascii_lowercase();
                !c.is_empty() && !c.starts_with("cpe:2.3:") && !c.starts_with("cpe:/")
            }) {
                return Err(format!(
                    "notification.csaf_products[{i}].cpes: {bad:?} is not a CPE 2.3 (cpe:2.3:…) or 2.2 (cpe:/…) prefix"
                ));
            }
            if let Some(bad) = rule.purls.iter().find(|p| {
                let p = p.trim().to_ascii_lowercase();
                let well_formed = p.starts_with("pkg:") && p.contains('/');
                !p.is_empty() && !well_formed
            }) {
                return Err(format!(
                    "notification.csaf_products[{i}].purls: {bad:?} is not a package URL prefix (pkg:<type>/…)"
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
                purls: clean(&rule.purls),
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
        let default_tlp = Tlp::n1_parse(&settings.default_tlp).ok_or_else(|| {
            format!(
                "notification.default_tlp: {:?} is not CLEAR, GREEN, AMBER, AMBER+STRICT or RED",
                settings.default_tlp
            )
        })?;
        let config = Self {
            products,
            publisher: Publisher {
                category: p.category.clone(),
                name: p.name.trim().to_string(),
                namespace: p.namespace.clone(),
            },
            default_tlp,
            provider_base: String::new(),
        };
        // Until the public listener's URL is known, documents say they are distributed from the publisher's site.
        let namespace = config.publisher.namespace.clone();
        Ok(config.with_provider_base(&namespace))
    }

    /// N12/N15: the public URL the suite's CSAF provider is reached at (`notification.public.base_url`, e.g.
    /// `https://portal.example.com`): documents then sit below `<base_url>/.well-known/csaf/` in one directory per
    /// distributed TLP label and one per year, and each export names its place there as its canonical URL
    /// (`document.references`, category `self`). Only an `https://` base passes the BSI validator's test 6.2.11.
    pub fn with_provider_base(mut self, base_url: &str) -> Self {
        let base = base_url.trim().trim_end_matches('/');
        self.provider_base = if base.ends_with(PROVIDER_PATH) {
            base.to_string()
        } else {
            format!("{base}{PROVIDER_PATH}")
        };
        self
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
