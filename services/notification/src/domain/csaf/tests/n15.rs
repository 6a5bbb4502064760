//! N15: what the suite's CSAF provider distributes, where, and how its metadata and feeds describe it. A real
//! downloader walks the served provider in the end-to-end suite (tests/tests/notification/csaf_provider.rs).

use std::collections::BTreeMap;

use super::*;

fn key() -> SigningKey {
    SigningKey {
        fingerprint: "0123456789ABCDEF0123456789ABCDEF01234567".into(),
        created: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

fn provider() -> CsafConfig {
    config().with_provider_base("https://portal.example.com")
}

/// A generated document of `advisory_id` labelled `tlp`, released at `day` of November 2026.
fn document(advisory_id: &str, tlp: Tlp, day: u32) -> (Tlp, Value) {
    let mut advisory = field_by_field(vec![], vec![]);
    advisory.advisory_id = advisory_id.into();
    advisory.tlp = tlp;
    advisory.create_time = Utc.with_ymd_and_hms(2026, 11, day, 8, 0, 0).unwrap();
    let config = provider();
    (tlp, n12_generate(&advisory, &config, advisory.create_time))
}

#[test]
fn n15_only_tlp_clear_is_distributed() {
    assert!(n15_distributed(Tlp::Clear));
    for tlp in [Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red] {
        assert!(!n15_distributed(tlp), "{tlp:?}");
    }
    assert_eq!(n15_feed_labels().collect::<Vec<_>>(), vec![Tlp::Clear]);
    let catalogue = n15_catalogue([
        document("ADV-2026-001", Tlp::Clear, 2),
        document("ADV-2026-002", Tlp::Green, 3),
        document("ADV-2026-003", Tlp::Red, 4),
    ]);
    assert_eq!(
        catalogue.keys().collect::<Vec<_>>(),
        vec!["white/2026/adv-2026-001.json"]
    );
}

#[test]
fn n15_a_revision_replaces_its_document_at_the_same_url() {
    let first = document("EXAMPLE-SA-1", Tlp::Clear, 2);
    let mut revised = first.1.clone();
    revised["document"]["tracking"]["version"] = json!("2");
    revised["document"]["tracking"]["current_release_date"] = json!("2026-11-20T08:00:00Z");
    revised["document"]["title"] = json!("Revised title");
    // Published in either order, the later release is what is served.
    for order in [
        vec![first.clone(), (Tlp::Clear, revised.clone())],
        vec![(Tlp::Clear, revised.clone()), first.clone()],
    ] {
        let catalogue = n15_catalogue(order);
        assert_eq!(catalogue.len(), 1);
        let served = &catalogue["white/2026/example-sa-1.json"];
        assert_eq!(served.title, "Revised title");
        assert_eq!(served.document, revised);
    }
}

#[test]
fn n15_the_metadata_names_the_feed_the_key_and_the_publisher() {
    let catalogue = n15_catalogue([
        document("ADV-2026-001", Tlp::Clear, 2),
        document("ADV-2026-002", Tlp::Clear, 9),
        document("ADV-2026-003", Tlp::Amber, 20),
    ]);
    let metadata = n15_provider_metadata(&provider(), &key(), &catalogue);
    let base = "https://portal.example.com/.well-known/csaf";
    assert_eq!(
        metadata["canonical_url"],
        format!("{base}/provider-metadata.json")
    );
    assert_eq!(metadata["role"], "csaf_trusted_provider");
    assert_eq!(metadata["metadata_version"], "2.0");
    // The latest distributed release: the AMBER one is not described.
    assert_eq!(metadata["last_updated"], "2026-11-09T08:00:00Z");
    assert_eq!(
        metadata["distributions"],
        json!([{"rolie": {"feeds": [{
            "summary": "WHITE advisories of Customer Portal",
            "tlp_label": "WHITE",
            "url": format!("{base}/white/csaf-feed-tlp-white.json"),
        }]}}])
    );
    assert_eq!(
        metadata["public_openpgp_keys"],
        json!([{
            "fingerprint": key().fingerprint,
            "url": format!("{base}/openpgp/{}.asc", key().fingerprint),
        }])
    );
    assert_eq!(metadata["publisher"]["category"], "vendor");
    // Nothing distributed yet: the metadata dates from the key.
    let empty = n15_provider_metadata(&provider(), &key(), &BTreeMap::new());
    assert_eq!(empty["last_updated"], "2026-01-01T00:00:00Z");
}

#[test]
fn n15_the_feed_lists_each_document_with_its_hashes_and_signature_newest_first() {
    let catalogue = n15_catalogue([
        document("ADV-2026-001", Tlp::Clear, 2),
        document("ADV-2026-002", Tlp::Clear, 9),
    ]);
    let feed = n15_rolie_feed(&provider(), Tlp::Clear, &key(), &catalogue);
    let feed = &feed["feed"];
    let base = "https://portal.example.com/.well-known/csaf";
    assert_eq!(
        feed["category"],
        json!([{"scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf"}])
    );
    assert_eq!(feed["updated"], "2026-11-09T08:00:00Z");
    let ids: Vec<&str> = feed["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["ADV-2026-002", "ADV-2026-001"]);
    let newest = &feed["entry"][0];
    let url = format!("{base}/white/2026/adv-2026-002.json");
    assert_eq!(
        newest["content"],
        json!({"type": "application/json", "src": url})
    );
    assert_eq!(
        newest["link"],
        json!([
            {"rel": "self", "href": url},
            {"rel": "hash", "href": format!("{url}.sha256")},
            {"rel": "hash", "href": format!("{url}.sha512")},
            {"rel": "signature", "href": format!("{url}.asc")},
        ])
    );
    assert_eq!(newest["published"], "2026-11-09T08:00:00Z");
    assert_eq!(newest["format"]["version"], "2.0");
}

#[test]
fn n15_every_distributed_document_names_its_place_as_canonical_url() {
    let catalogue = n15_catalogue([document("ADV-2026-001", Tlp::Clear, 2)]);
    for (path, published) in &catalogue {
        let references = published.document["document"]["references"]
            .as_array()
            .unwrap();
        assert!(
            references.iter().any(|r| r["category"] == "self"
                && r["url"] == format!("https://portal.example.com/.well-known/csaf/{path}")),
            "{references:?}"
        );
    }
}
