//! N12: what the BSI validator's recommended tests ask of an export — a TLP label (6.2.10), a canonical URL
//! (6.2.11), product identification helpers (6.2.16), a score where the advisory has one (6.2.3), a remediation
//! for every affected product (6.2.2) — and the profile its mandatory tests hold a document to (6.1.27.x). The
//! validator itself runs over real exports in the end-to-end suite (tests/tests/notification/csaf.rs).

use super::*;
use crate::domain::cvss::n16_cvss;

fn desktop(versions: &[&str], fixed: &[&str]) -> Affected {
    Affected {
        product: Product::Desktop,
        versions: versions.iter().map(|s| s.to_string()).collect(),
        fixed_versions: fixed.iter().map(|s| s.to_string()).collect(),
    }
}

fn leaves(branches: &Value, out: &mut Vec<Value>) {
    for branch in branches.as_array().into_iter().flatten() {
        if let Some(product) = branch.get("product") {
            out.push(product.clone());
        }
        leaves(&branch["branches"], out);
    }
}

#[test]
fn n12_file_names_and_paths_follow_csaf_5_1_and_7_1_11() {
    assert_eq!(n12_file_name("ADV-2026-012"), "adv-2026-012.json");
    assert_eq!(n12_file_name("RHBA-2019:0024"), "rhba-2019_0024.json");
    assert_eq!(n12_file_name("2022_#01-A"), "2022_01-a.json");
    assert_eq!(
        n12_file_name("Example Company - 2019-YH3234"),
        "example_company_-_2019-yh3234.json"
    );
    assert_eq!(
        n15_document_path(Tlp::Clear, 2026, "ADV-2026-012"),
        "white/2026/adv-2026-012.json"
    );
    assert_eq!(
        n15_document_path(Tlp::AmberStrict, 2025, "X+1"),
        "red/2025/x+1.json"
    );
}

#[test]
fn n12_a_generated_document_carries_tlp_canonical_url_helpers_and_score() {
    let mut advisory = field_by_field(
        vec![desktop(&["2025.1"], &["2025.2"])],
        vec!["CVE-2026-50001".into(), "CVE-2026-50002".into()],
    );
    advisory.tlp = Tlp::AmberStrict;
    advisory.content.cvss = vec![n16_cvss("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap()];
    let settings = NotificationSettings {
        csaf_products: vec![CsafProductSettings {
            product: "DESKTOP".into(),
            names: vec!["Example Desktop".into()],
            cpes: vec!["cpe:2.3:a:example:desktop:".into()],
            purls: vec!["pkg:generic/example/desktop".into()],
        }],
        ..Default::default()
    };
    let config = CsafConfig::from_settings(&settings)
        .unwrap()
        .with_provider_base("https://portal.example.com/");
    let doc = n12_generate(&advisory, &config, Utc::now());
    n11_check_schema(&doc).unwrap();
    let meta = &doc["document"];
    assert_eq!(meta["category"], "csaf_security_advisory");
    // TLP 2.0's AMBER+STRICT has no CSAF 2.0 label; RED does not widen it.
    assert_eq!(meta["distribution"]["tlp"]["label"], "RED");
    assert_eq!(
        meta["references"],
        json!([{
            "category": "self",
            "summary": "Canonical URL",
            "url": "https://portal.example.com/.well-known/csaf/red/2026/adv-2026-012.json",
        }])
    );
    let mut products = Vec::new();
    leaves(&doc["product_tree"]["branches"], &mut products);
    assert_eq!(products.len(), 2);
    assert_eq!(
        products[0]["product_identification_helper"],
        json!({
            "cpe": "cpe:2.3:a:example:desktop:2025.1:*:*:*:*:*:*:*",
            "purl": "pkg:generic/example/desktop@2025.1",
        })
    );
    assert_eq!(
        products[1]["product_identification_helper"]["purl"],
        "pkg:generic/example/desktop@2025.2"
    );
    for vulnerability in doc["vulnerabilities"].as_array().unwrap() {
        assert_eq!(
            vulnerability["scores"],
            json!([{
                "cvss_v3": {
                    "version": "3.1",
                    "vectorString": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
                    "baseScore": 8.1,
                    "baseSeverity": "HIGH",
                },
                // Affected products only: a score for a fixed product fails test 6.2.19.
                "products": ["DESKTOP:2025.1"],
            }])
        );
        assert_eq!(vulnerability["remediations"][0]["category"], "vendor_fix");
    }
}

#[test]
fn n12_without_configured_helpers_products_get_a_generic_purl_and_every_product_a_remediation() {
    let mut advisory = field_by_field(vec![desktop(&[], &[])], vec![]);
    advisory.content.resolution = String::new();
    let unmapped = CsafConfig::from_settings(&NotificationSettings::default()).unwrap();
    let doc = n12_generate(&advisory, &unmapped, Utc::now());
    n11_check_schema(&doc).unwrap();
    let mut products = Vec::new();
    leaves(&doc["product_tree"]["branches"], &mut products);
    assert_eq!(
        products[0]["product_identification_helper"],
        json!({"purl": "pkg:generic/customer-portal/desktop"})
    );
    // Default provider base: the publisher's namespace; default label CLEAR, WHITE in CSAF 2.0.
    assert_eq!(doc["document"]["distribution"]["tlp"]["label"], "WHITE");
    assert_eq!(
        doc["document"]["references"][0]["url"],
        "https://portal.invalid/.well-known/csaf/white/2026/adv-2026-012.json"
    );
    let vulnerability = &doc["vulnerabilities"][0];
    assert_eq!(
        vulnerability["remediations"][0]["category"],
        "none_available"
    );
    assert_eq!(
        vulnerability["remediations"][0]["product_ids"],
        json!(["DESKTOP"])
    );
    assert!(vulnerability.get("scores").is_none(), "no score is known");
}

#[test]
fn n12_an_advisory_without_affected_products_exports_its_targeted_products_else_as_information() {
    let mut advisory = field_by_field(vec![], vec!["CVE-2026-50001".into()]);
    advisory.target = Target::Products(vec![portal_proto::common::Product::Server as i32]);
    let doc = n12_generate(&advisory, &config(), Utc::now());
    n11_check_schema(&doc).unwrap();
    assert_eq!(doc["document"]["category"], "csaf_security_advisory");
    assert_eq!(
        doc["vulnerabilities"][0]["product_status"]["known_affected"],
        json!(["SERVER"])
    );
    assert_eq!(
        n11_map(&doc, &config()).unwrap().content.affected[0].product,
        Product::Server
    );

    // Nothing names a product: a security advisory would fail tests 6.1.27.4 and 6.1.27.6.
    advisory.target = Target::AllAccounts;
    let doc = n12_generate(&advisory, &config(), Utc::now());
    n11_check_schema(&doc).unwrap();
    assert_eq!(doc["document"]["category"], "csaf_informational_advisory");
    assert!(doc.get("vulnerabilities").is_none() && doc.get("product_tree").is_none());
    let references = doc["document"]["references"].as_array().unwrap();
    assert_eq!(references[0]["category"], "self");
    assert_eq!(
        references[1],
        json!({"category": "external", "summary": "CVE-2026-50001", "url": "https://www.cve.org/CVERecord?id=CVE-2026-50001"})
    );
    let back = n11_map(&doc, &config()).unwrap();
    assert_eq!(back.kind, Kind::Technical);
    assert_eq!(back.severity, Severity::High);
}

#[test]
fn n12_an_imported_document_gains_what_it_lacks_and_keeps_what_it_has() {
    let advisory = field_by_field(vec![], vec![]);
    let config = config().with_provider_base("https://portal.example.com");
    // The example's own canonical URL does not end in its file name (upper case): one is added; its label stays.
    let exported = n12_imported(example(), &advisory, &config);
    let references = exported["document"]["references"].as_array().unwrap();
    assert_eq!(references.len(), 2);
    assert_eq!(
        references[1]["url"],
        "https://portal.example.com/.well-known/csaf/white/2026/exa-sa-2026-0142.json"
    );
    assert_eq!(
        exported["document"]["distribution"]["tlp"]["label"],
        "WHITE"
    );
    n11_check_schema(&exported).unwrap();
    // A document without label or references gains both, at the advisory's label.
    let mut bare = example();
    let meta = bare["document"].as_object_mut().unwrap();
    meta.remove("distribution");
    meta.remove("references");
    let mut amber = advisory.clone();
    amber.tlp = Tlp::Amber;
    let exported = n12_imported(bare, &amber, &config);
    assert_eq!(
        exported["document"]["distribution"],
        json!({"tlp": {"label": "AMBER", "url": "https://www.first.org/tlp/"}})
    );
    assert_eq!(
        exported["document"]["references"][0]["url"],
        "https://portal.example.com/.well-known/csaf/amber/2026/exa-sa-2026-0142.json"
    );
    n11_check_schema(&exported).unwrap();
    // A valid canonical URL stays the only one.
    let mut canonical = example();
    canonical["document"]["references"][0]["url"] =
        json!("https://psirt.example.com/advisories/exa-sa-2026-0142.json");
    let exported = n12_imported(canonical.clone(), &advisory, &config);
    assert_eq!(
        exported["document"]["references"],
        canonical["document"]["references"]
    );
}
