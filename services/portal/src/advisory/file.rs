//! The advisory file an operator writes (TOML or JSON), read into a publish request.

use std::path::Path;

use portal_proto::{
    common::Product,
    notification::{
        AccountList, AdvisoryKind, AffectedProduct, ProductList, PublishAdvisoryRequest, Severity,
        Tlp, publish_advisory_request::Target,
    },
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::remote::{Failure, enum_value};

/// An advisory as an operator writes it (TOML or JSON): the PublishAdvisory fields with readable enum values.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct AdvisoryFile {
    kind: String,
    severity: String,
    title: String,
    summary: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    conditions: String,
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    cve_ids: Vec<String>,
    #[serde(default)]
    affected_products: Vec<AffectedFile>,
    /// N1: `clear`, `green`, `amber`, `amber+strict` or `red`; by default the server's `notification.default_tlp`.
    tlp: Option<String>,
    /// N16: a CVSS v3 vector, e.g. `CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H`.
    #[serde(default)]
    cvss_vector: String,
    target: TargetFile,
    /// The idempotency key; by default derived from the file's content, so publishing the same file twice (a
    /// retried pipeline step) publishes once.
    request_id: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct AffectedFile {
    product: String,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    fixed_versions: Vec<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    #[serde(default)]
    all_accounts: bool,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
}

pub(super) fn product(text: &str) -> Result<Product, String> {
    enum_value("product", "PRODUCT_", text, Product::from_str_name)
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn read_advisory(path: &Path) -> Result<PublishAdvisoryRequest, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::new(format!("reading {}: {e}", path.display())))?;
    parse_advisory(path, &bytes).map_err(|e| Failure::new(format!("{}: {e}", path.display())))
}

fn parse_advisory(path: &Path, bytes: &[u8]) -> Result<PublishAdvisoryRequest, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let json = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => true,
        Some("toml") => false,
        _ => text.trim_start().starts_with('{'),
    };
    let file: AdvisoryFile = if json {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        toml::from_str(text).map_err(|e| e.to_string())?
    };
    let target = match (
        file.target.all_accounts,
        file.target.products.is_empty(),
        file.target.accounts.is_empty(),
    ) {
        (true, true, true) => Target::AllAccounts(true),
        (false, false, true) => Target::Products(ProductList {
            products: file
                .target
                .products
                .iter()
                .map(|p| product(p).map(|p| p as i32))
                .collect::<Result<_, _>>()?,
        }),
        (false, true, false) => Target::AccountIds(AccountList {
            account_ids: file.target.accounts.clone(),
        }),
        _ => {
            return Err(
                "target: exactly one of all_accounts = true, products = [...] or accounts = [...]"
                    .into(),
            );
        }
    };
    let request_id = file
        .request_id
        .clone()
        .unwrap_or_else(|| format!("advisory-file-{}", &hex(&Sha256::digest(bytes))[..32]));
    Ok(PublishAdvisoryRequest {
        kind: enum_value(
            "kind",
            "ADVISORY_KIND_",
            &file.kind,
            AdvisoryKind::from_str_name,
        )? as i32,
        severity: enum_value(
            "severity",
            "SEVERITY_",
            &file.severity,
            Severity::from_str_name,
        )? as i32,
        title: file.title,
        summary: file.summary,
        impact: file.impact,
        affected_products: file
            .affected_products
            .into_iter()
            .map(|a| {
                Ok(AffectedProduct {
                    product: product(&a.product)? as i32,
                    versions: a.versions,
                    fixed_versions: a.fixed_versions,
                })
            })
            .collect::<Result<_, String>>()?,
        conditions: file.conditions,
        resolution: file.resolution,
        cve_ids: file.cve_ids,
        target: Some(target),
        request_id,
        tlp: match &file.tlp {
            Some(tlp) => {
                enum_value("tlp", "TLP_", &tlp.replace('+', "_"), Tlp::from_str_name)? as i32
            }
            None => Tlp::Unspecified as i32,
        },
        cvss_vector: file.cvss_vector,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use portal_proto::common::Product;

    use super::*;

    const TOML: &str = r#"
kind = "security"
severity = "critical"
title = "Remote code execution in the server's extension host"
summary = "A crafted extension can run code."
cve_ids = ["CVE-2026-12345"]

[[affected_products]]
product = "server"
versions = ["2026.1"]
fixed_versions = ["2026.1.3"]

[target]
products = ["server", "prep-builder"]
"#;

    #[test]
    fn a_toml_file_becomes_a_publish_request_with_a_content_derived_request_id() {
        let request = parse_advisory(Path::new("a.toml"), TOML.as_bytes()).unwrap();
        assert_eq!(request.kind, AdvisoryKind::Security as i32);
        assert_eq!(request.severity, Severity::Critical as i32);
        assert_eq!(request.affected_products[0].product, Product::Server as i32);
        assert_eq!(
            request.target,
            Some(Target::Products(ProductList {
                products: vec![Product::Server as i32, Product::PrepBuilder as i32]
            }))
        );
        let again = parse_advisory(Path::new("a.toml"), TOML.as_bytes()).unwrap();
        assert_eq!(request.request_id, again.request_id);
        let other = parse_advisory(
            Path::new("a.toml"),
            TOML.replace("critical", "high").as_bytes(),
        )
        .unwrap();
        assert_ne!(request.request_id, other.request_id);
    }

    #[test]
    fn a_json_file_reads_the_same_fields() {
        let json = r#"{"kind": "technical", "severity": "low", "title": "t", "summary": "s",
                       "target": {"accounts": ["ACC-1"]}, "request_id": "r-1"}"#;
        let request = parse_advisory(Path::new("a.json"), json.as_bytes()).unwrap();
        assert_eq!(request.kind, AdvisoryKind::Technical as i32);
        assert_eq!(request.request_id, "r-1");
        assert_eq!(request.tlp, Tlp::Unspecified as i32);
        let labelled = json.replace(
            r#""request_id""#,
            r#""tlp": "Amber+Strict", "cvss_vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", "request_id""#,
        );
        let request = parse_advisory(Path::new("a.json"), labelled.as_bytes()).unwrap();
        assert_eq!(request.tlp, Tlp::AmberStrict as i32);
        assert!(request.cvss_vector.starts_with("CVSS:3.1/"));
        let unknown = json.replace(r#""request_id""#, r#""tlp": "blue", "request_id""#);
        assert!(parse_advisory(Path::new("a.json"), unknown.as_bytes()).is_err());
        assert_eq!(
            request.target,
            Some(Target::AccountIds(AccountList {
                account_ids: vec!["ACC-1".into()]
            }))
        );
    }

    #[test]
    fn a_file_with_two_targets_an_unknown_field_or_an_unknown_product_is_refused() {
        let two = TOML.replace("[target]", "[target]\nall_accounts = true");
        assert!(
            parse_advisory(Path::new("a.toml"), two.as_bytes())
                .unwrap_err()
                .contains("exactly one")
        );
        let unknown = format!("colour = \"red\"\n{TOML}");
        assert!(parse_advisory(Path::new("a.toml"), unknown.as_bytes()).is_err());
        let toaster = TOML.replace("product = \"server\"", "product = \"toaster\"");
        assert!(
            parse_advisory(Path::new("a.toml"), toaster.as_bytes())
                .unwrap_err()
                .contains("toaster")
        );
    }
}
