//! N16: documents as vendors write them — relationships, CPE 2.2, purls, `fixed`-only products, informational
//! advisories, CVSS scores, TLP labels — and a document that maps to no product.

use super::*;

/// Red Hat's shape: packages per architecture, each a `default_component_of` a platform product named by a CPE 2.2
/// URI; vulnerabilities list only `fixed` products; severity from the aggregate, no scores.
const RHSA_SHAPED: &str = include_str!("../../../../../../tests/fixtures/csaf/exsa-2026_1187.json");
/// A hardening notice: a `csaf_informational_advisory` (no vulnerabilities), TLP:GREEN.
const INFORMATIONAL: &str =
    include_str!("../../../../../../tests/fixtures/csaf/exa-ia-2026-0007.json");

fn rhsa() -> Value {
    serde_json::from_str(RHSA_SHAPED).unwrap()
}

fn informational() -> Value {
    serde_json::from_str(INFORMATIONAL).unwrap()
}

fn mapping(cpes: &[&str], purls: &[&str]) -> CsafConfig {
    CsafConfig::from_settings(&NotificationSettings {
        csaf_products: vec![CsafProductSettings {
            product: "SERVER".into(),
            names: vec![],
            cpes: cpes.iter().map(|s| s.to_string()).collect(),
            purls: purls.iter().map(|s| s.to_string()).collect(),
        }],
        ..Default::default()
    })
    .unwrap()
}

const EL9: &str = "example-server-2025.1.2-1.el9";
const EL8: &str = "example-server-2025.1.2-1.el8";

#[test]
fn n16_packages_map_through_relationships_to_the_platform_a_cpe_2_2_names() {
    n11_check_schema(&rhsa()).unwrap();
    // The operator's mapping is written in CPE 2.3; the document's platforms are CPE 2.2 URIs.
    let imported = n11_map(&rhsa(), &config()).unwrap();
    assert_eq!(imported.kind, Kind::Security);
    assert_eq!(
        imported.severity,
        Severity::High,
        "aggregate severity Important"
    );
    assert_eq!(imported.tlp, Tlp::Clear, "TLP:WHITE");
    let c = &imported.content;
    assert_eq!(c.cve_ids, ["CVE-2026-42101", "CVE-2026-42102"]);
    // Only `fixed` products: they are the affected ones, their versions fixed; one entry per package and
    // version, not one per architecture.
    assert_eq!(
        c.affected,
        [Affected {
            product: Product::Server,
            versions: vec![],
            fixed_versions: vec![EL9.into(), EL8.into()],
        }]
    );
    assert!(imported.unmapped.is_empty());
    assert_eq!(imported.n16_unmapped_refusal(), None);
    assert_eq!(
        c.resolution,
        "Update example-server to the packages of this advisory; the server restarts automatically. (https://psirt.example.com/errata/EXSA-2026:1187)"
    );
    assert!(c.cvss.is_empty(), "the document scores nothing");
    assert!(c.summary.starts_with("An update for example-server"));
    assert!(c.conditions.contains("CVE-2026-42102"));
    // The same with the mapping in CPE 2.2.
    let v22 = n11_map(&rhsa(), &mapping(&["cpe:/a:example:server"], &[])).unwrap();
    assert_eq!(v22.content.affected, c.affected);
}

#[test]
fn n16_packages_map_by_purl_and_as_the_component_when_the_platform_does_not() {
    // The relationships' own purls.
    let by_purl = n11_map(&rhsa(), &mapping(&[], &["pkg:rpm/example/example-server"])).unwrap();
    assert_eq!(by_purl.content.affected[0].product, Product::Server);
    assert_eq!(by_purl.content.affected[0].fixed_versions, [EL9, EL8]);
    // Without them, and with a platform nobody mapped: the component (product_reference) maps.
    let mut doc = rhsa();
    for relationship in doc["product_tree"]["relationships"].as_array_mut().unwrap() {
        relationship["full_product_name"]
            .as_object_mut()
            .unwrap()
            .remove("product_identification_helper");
    }
    let component = n11_map(&doc, &mapping(&[], &["pkg:rpm/example/example-server"])).unwrap();
    assert_eq!(component.content.affected, by_purl.content.affected);
    // A purl prefix of another package maps nothing.
    let other = n11_map(&doc, &mapping(&[], &["pkg:rpm/example/example-serv"])).unwrap();
    assert!(other.content.affected.is_empty());
}

#[test]
fn n16_fixed_products_are_affected_only_where_a_vulnerability_lists_none() {
    let mut doc = example();
    // The two Server vulnerabilities list only what fixes them.
    for i in [1, 2] {
        doc["vulnerabilities"][i]["product_status"]
            .as_object_mut()
            .unwrap()
            .remove("known_affected");
    }
    let c = n11_map(&doc, &config()).unwrap().content;
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
                versions: vec![],
                fixed_versions: vec!["2025.1.2".into()],
            },
        ]
    );
    // Where known_affected is listed, fixed versions of products it does not list make nothing affected.
    let mut doc = example();
    doc["vulnerabilities"][1]["product_status"]["known_affected"] = json!(["EXA-DESKTOP-2025.1"]);
    doc["vulnerabilities"][2]["product_status"]["known_affected"] = json!(["EXA-DESKTOP-2025.1"]);
    let c = n11_map(&doc, &config()).unwrap().content;
    assert_eq!(c.affected.len(), 1, "{:?}", c.affected);
}

#[test]
fn n16_an_informational_advisory_is_a_technical_advisory() {
    n11_check_schema(&informational()).unwrap();
    let imported = n11_map(&informational(), &config()).unwrap();
    assert_eq!(imported.kind, Kind::Technical);
    assert_eq!(imported.severity, Severity::Low, "nothing to score");
    assert_eq!(imported.tlp, Tlp::Green);
    assert_eq!(
        imported.title,
        "Example Server: restrict the REST API before exposing it to the internet"
    );
    let c = &imported.content;
    assert!(c.cve_ids.is_empty());
    // No vulnerabilities: the products of its tree are what it is about.
    assert_eq!(
        c.affected,
        [Affected {
            product: Product::Server,
            versions: vec![],
            fixed_versions: vec![],
        }]
    );
    assert!(
        c.impact
            .starts_with("Scans for the Example Server REST API")
    );
    // Its guidance is its external references.
    assert_eq!(
        c.resolution,
        "Hardening guide: securing the REST API: https://docs.example.com/server/2025/hardening/rest-api\n\nConfiguring client certificates: https://docs.example.com/server/2025/tls/client-certificates"
    );
    let mut rated = informational();
    rated["document"]["aggregate_severity"] = json!({"text": "Moderate"});
    assert_eq!(
        n11_map(&rated, &config()).unwrap().severity,
        Severity::Medium
    );
}

#[test]
fn n16_cvss_scores_are_kept_per_cve() {
    let c = n11_map(&example(), &config()).unwrap().content;
    let kept: Vec<(Option<&str>, &str, String)> = c
        .cvss
        .iter()
        .map(|s| {
            (
                s.cve.as_deref(),
                s.vector.as_str(),
                s.base_score.to_string(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            (
                Some("CVE-2026-41001"),
                "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
                "7.8".to_string()
            ),
            (
                Some("CVE-2026-41002"),
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "9.8".to_string()
            ),
            (
                Some("CVE-2026-41003"),
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
                "6.1".to_string()
            ),
        ]
    );
}

#[test]
fn n16_a_document_that_maps_to_no_product_names_the_unmapped_ids() {
    let unmapped = CsafConfig::from_settings(&NotificationSettings::default()).unwrap();
    let imported = n11_map(&rhsa(), &unmapped).unwrap();
    assert!(imported.content.affected.is_empty());
    assert_eq!(imported.unmapped.len(), 6, "{:?}", imported.unmapped);
    let refusal = imported.n16_unmapped_refusal().unwrap();
    assert_eq!(
        refusal,
        "no product maps to a suite product (notification.csaf_products): ExampleServer-2025-EL9:example-server-0:2025.1.2-1.el9.x86_64 and 5 more"
    );
    // The example's plugin alone is unmapped; Desktop and Server map, so nothing is refused.
    let example = n11_map(&example(), &config()).unwrap();
    assert_eq!(example.unmapped, ["EXA-CHARTS-3.2"]);
    assert_eq!(example.n16_unmapped_refusal(), None);
    // As many ids as a violation shows whole (200 characters), then how many more.
    let mut many = example.clone();
    many.content.affected.clear();
    many.unmapped = (0..100).map(|i| format!("P-{i}")).collect();
    let refusal = many.n16_unmapped_refusal().unwrap();
    assert!(refusal.chars().count() <= 200, "{refusal}");
    assert!(refusal.contains(": P-0, P-1, P-2,"), "{refusal}");
    let shown = refusal.matches("P-").count();
    assert!(
        refusal.ends_with(&format!(" and {} more", 100 - shown)),
        "{refusal}"
    );
    many.unmapped.truncate(1);
    assert!(many.n16_unmapped_refusal().unwrap().ends_with(": P-0"));
    many.unmapped.clear();
    assert!(
        many.n16_unmapped_refusal()
            .unwrap()
            .contains("names no product")
    );
}

#[test]
fn n16_the_tlp_label_is_the_documents_else_the_configured_default() {
    let amber = CsafConfig::from_settings(&NotificationSettings {
        default_tlp: "amber".into(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(amber.default_tlp, Tlp::Amber);
    assert_eq!(n11_map(&example(), &amber).unwrap().tlp, Tlp::Clear);
    let mut unlabelled = example();
    unlabelled["document"]
        .as_object_mut()
        .unwrap()
        .remove("distribution");
    assert_eq!(n11_map(&unlabelled, &amber).unwrap().tlp, Tlp::Amber);
    assert_eq!(n11_map(&unlabelled, &config()).unwrap().tlp, Tlp::Clear);
    let mut red = example();
    red["document"]["distribution"]["tlp"]["label"] = json!("RED");
    assert_eq!(n11_map(&red, &config()).unwrap().tlp, Tlp::Red);
}

#[test]
fn n16_the_mapping_configuration_takes_purls_and_a_default_tlp() {
    let settings = |cpes: &[&str], purls: &[&str], tlp: &str| NotificationSettings {
        csaf_products: vec![CsafProductSettings {
            product: "SERVER".into(),
            names: vec![],
            cpes: cpes.iter().map(|s| s.to_string()).collect(),
            purls: purls.iter().map(|s| s.to_string()).collect(),
        }],
        default_tlp: tlp.into(),
        ..Default::default()
    };
    assert!(CsafConfig::from_settings(&settings(&[], &["pkg:rpm/example/x"], "CLEAR")).is_ok());
    for (bad, key) in [
        (settings(&[], &[], "CLEAR"), "csaf_products[0]"),
        (
            settings(&["example:server"], &[], "CLEAR"),
            "csaf_products[0].cpes",
        ),
        (
            settings(&[], &["rpm/example/x"], "CLEAR"),
            "csaf_products[0].purls",
        ),
        (settings(&[], &["pkg:rpm/x"], "BLUE"), "default_tlp"),
    ] {
        let error = CsafConfig::from_settings(&bad).unwrap_err();
        assert!(error.contains(key), "{error}");
    }
}
