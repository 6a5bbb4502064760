#![allow(clippy::unwrap_used)]
//! N11 and N12 here; N16 (documents as vendors write them) and the N12 recommended-test additions in `tests/`.

mod n12;
mod n15;
mod n16;

use chrono::{TimeZone, Utc};
use portal_policy::Product;
use portal_runtime::config::{CsafProductSettings, NotificationSettings};
use serde_json::json;

use super::*;
use crate::domain::{
    Advisory, AdvisoryContent, AdvisoryState, Kind, Severity, Target, Tlp, advisory::Affected,
};

/// The realistic document the end-to-end suites import too.
const EXAMPLE: &str = include_str!("../../../../../tests/fixtures/csaf/example-sa-2026-0142.json");

fn example() -> Value {
    serde_json::from_str(EXAMPLE).unwrap()
}

fn config() -> CsafConfig {
    CsafConfig::from_settings(&NotificationSettings {
        csaf_products: vec![
            CsafProductSettings {
                product: "DESKTOP".into(),
                names: vec!["Example Desktop".into()],
                cpes: vec![],
                purls: vec![],
            },
            CsafProductSettings {
                product: "server".into(),
                names: vec![],
                cpes: vec!["cpe:2.3:a:example:server:".into()],
                purls: vec![],
            },
        ],
        ..Default::default()
    })
    .unwrap()
}

fn paths(violations: &[FieldViolation]) -> Vec<&str> {
    violations.iter().map(|v| v.field.as_str()).collect()
}

#[test]
fn n11_the_example_document_is_valid_csaf() {
    n11_check_schema(&example()).unwrap();
}

#[test]
fn n11_schema_failures_name_their_json_paths() {
    let mut doc = example();
    doc["document"]["csaf_version"] = json!("1.2");
    doc["document"].as_object_mut().unwrap().remove("title");
    doc["document"]["tracking"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    doc["document"]["tracking"]["current_release_date"] = json!("last tuesday");
    let violations = n11_check_schema(&doc).unwrap_err();
    let paths = paths(&violations);
    for wanted in [
        "/document/csaf_version",
        "/document/title",
        "/document/tracking/id",
        "/document/tracking/current_release_date",
    ] {
        assert!(paths.contains(&wanted), "{wanted} not in {paths:?}");
    }
    assert!(n11_check_schema(&json!([])).is_err());
}

#[test]
fn n11_bytes_must_be_json() {
    assert_eq!(n11_parse(b"<xml/>").unwrap_err().field, "document");
    assert_eq!(n11_parse(b"").unwrap_err().field, "document");
    assert!(n11_parse(b"{}").is_ok());
}

#[test]
fn n11_severity_is_the_aggregate_else_the_highest_cvss_v3_score() {
    assert_eq!(
        n11_severity(Some("Important"), &[9.8]),
        Some(Severity::High)
    );
    assert_eq!(n11_severity(Some("Moderate"), &[]), Some(Severity::Medium));
    assert_eq!(
        n11_severity(Some("whatever"), &[3.1, 9.0]),
        Some(Severity::Critical)
    );
    assert_eq!(n11_severity(None, &[7.0, 6.9]), Some(Severity::High));
    assert_eq!(n11_severity(None, &[4.0]), Some(Severity::Medium));
    assert_eq!(n11_severity(None, &[3.9]), Some(Severity::Low));
    assert_eq!(n11_severity(None, &[]), None);
}

#[test]
fn n11_the_example_maps_to_an_advisory() {
    let imported = n11_map(&example(), &config()).unwrap();
    assert_eq!(
        imported.title,
        "Example Analytics: multiple vulnerabilities in Desktop and Server"
    );
    // No aggregate severity: the highest CVSS v3 base score, 9.8.
    assert_eq!(imported.severity, Severity::Critical);
    let c = &imported.content;
    assert!(c.summary.starts_with("Example Desktop and Example Server"));
    assert!(c.impact.starts_with("An attacker who gets a user"));
    assert!(c.conditions.contains("REST API is enabled"));
    assert_eq!(
        c.cve_ids,
        ["CVE-2026-41001", "CVE-2026-41002", "CVE-2026-41003"]
    );
    // The charting plugin maps to no suite product and is left out.
    assert_eq!(
        c.affected,
        [
            Affected {
                product: Product::Desktop,
                versions: vec!["2024.3".into(), "2025.1".into()],
                fixed_versions: vec!["2025.1.4".into()],
            },
            Affected {
                product: Product::Server,
                versions: vec!["2025.1".into()],
                fixed_versions: vec!["2025.1.2".into()],
            },
        ]
    );
    assert!(c.resolution.contains(
        "Upgrade Example Desktop to 2025.1.4 or later. (https://downloads.example.com/desktop/2025.1.4)"
    ));
    assert_eq!(
        c.resolution
            .matches("Upgrade Example Server to 2025.1.2")
            .count(),
        1
    );
    assert!(
        c.resolution
            .contains("Workaround: Disable the REST API until the upgrade.")
    );
    assert_eq!(
        c.csaf,
        Some(CsafTracking {
            id: "EXA-SA-2026-0142".into(),
            version: "2".into()
        })
    );
}

#[test]
fn n11_a_named_aggregate_severity_wins_over_scores() {
    let mut doc = example();
    doc["document"]["aggregate_severity"] = json!({"text": "Moderate"});
    assert_eq!(n11_map(&doc, &config()).unwrap().severity, Severity::Medium);
}

#[test]
fn n11_without_a_mapping_nothing_is_affected_and_other_categories_are_refused() {
    let unmapped = CsafConfig::from_settings(&NotificationSettings::default()).unwrap();
    assert!(
        n11_map(&example(), &unmapped)
            .unwrap()
            .content
            .affected
            .is_empty()
    );
    let mut doc = example();
    doc["document"]["category"] = json!("csaf_vex");
    assert_eq!(
        paths(&n11_map(&doc, &config()).unwrap_err()),
        ["/document/category"]
    );
}

#[test]
fn n11_a_document_without_any_severity_is_refused() {
    let mut doc = example();
    for v in doc["vulnerabilities"].as_array_mut().unwrap() {
        v.as_object_mut().unwrap().remove("scores");
    }
    assert_eq!(
        paths(&n11_map(&doc, &config()).unwrap_err()),
        ["/document/aggregate_severity"]
    );
}

#[test]
fn n11_the_mapping_configuration_is_checked() {
    let bad = NotificationSettings {
        csaf_products: vec![CsafProductSettings {
            product: "TOASTER".into(),
            names: vec!["Toaster".into()],
            cpes: vec![],
            purls: vec![],
        }],
        ..Default::default()
    };
    assert!(
        CsafConfig::from_settings(&bad)
            .unwrap_err()
            .contains("csaf_products[0].product")
    );
    assert!(starts_with_word(
        "Example Desktop 2025.1",
        "example desktop"
    ));
    assert!(!starts_with_word("Example Desktopia", "Example Desktop"));
}

#[test]
fn n12_an_imported_document_gains_the_advisory_id_as_alias_once() {
    let advisory = field_by_field(vec![], vec![]);
    let exported = n12_imported(
        n12_imported(example(), &advisory, &config()),
        &advisory,
        &config(),
    );
    assert_eq!(
        exported["document"]["tracking"]["aliases"],
        json!(["ADV-2026-012"])
    );
    n11_check_schema(&exported).unwrap();
}

fn field_by_field(affected: Vec<Affected>, cve_ids: Vec<String>) -> Advisory {
    Advisory {
        advisory_id: "ADV-2026-012".into(),
        ordinal: 0,
        kind: Kind::Security,
        severity: Severity::High,
        tlp: Tlp::Clear,
        title: "Desktop crashes on crafted extracts".into(),
        content: AdvisoryContent {
            summary: "A crafted extract crashes Desktop.".into(),
            impact: "Denial of service.".into(),
            affected,
            conditions: String::new(),
            resolution: "Upgrade to 2025.2.".into(),
            cve_ids,
            csaf: None,
            cvss: vec![],
        },
        target: Target::AllAccounts,
        state: AdvisoryState::Ready,
        accounts_targeted: 0,
        unreachable: Vec::new(),
        create_time: Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
    }
}

#[test]
fn n12_a_generated_document_is_valid_and_maps_back() {
    let affected = vec![
        Affected {
            product: Product::Desktop,
            versions: vec!["2025.1".into()],
            fixed_versions: vec!["2025.2".into()],
        },
        Affected {
            product: Product::PrepBuilder,
            versions: vec![],
            fixed_versions: vec![],
        },
    ];
    let advisory = field_by_field(affected.clone(), vec!["CVE-2026-50001".into()]);
    for config in [
        config(),
        CsafConfig::from_settings(&NotificationSettings::default()).unwrap(),
    ] {
        let doc = n12_generate(&advisory, &config, Utc::now());
        n11_check_schema(&doc).unwrap();
        assert_eq!(doc["document"]["tracking"]["id"], "ADV-2026-012");
        assert_eq!(
            doc["document"]["tracking"]["revision_history"][0]["number"],
            "1"
        );
        let back = n11_map(&doc, &config).unwrap();
        assert_eq!(back.severity, Severity::High);
        assert_eq!(back.content.cve_ids, ["CVE-2026-50001"]);
        assert_eq!(back.content.affected, affected);
        assert_eq!(back.content.resolution, "Upgrade to 2025.2.");
    }
}

#[test]
fn n12_an_advisory_without_cves_or_products_still_exports_valid_csaf() {
    let doc = n12_generate(&field_by_field(vec![], vec![]), &config(), Utc::now());
    n11_check_schema(&doc).unwrap();
    assert!(doc.get("product_tree").is_none());
}
