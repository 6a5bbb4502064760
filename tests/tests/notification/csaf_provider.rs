//! N15: the suite as a CSAF 2.0 trusted provider, fetched as customers' tools fetch it — by tools nobody here
//! wrote. csaf-walker (the downloader Red Hat's Trustify runs) discovers the provider from its metadata URL,
//! walks the ROLIE feed and checks every document's digest and OpenPGP signature against the key the metadata
//! lists; GnuPG verifies each `.asc` and coreutils each `.sha256`/`.sha512`; the BSI validator checks each served
//! document. Only TLP:CLEAR is distributed, and a revision replaces its document at the same URL.

use std::process::{Command, Stdio};

use http::StatusCode;
use portal_proto::notification::{self as pb, Tlp};
use portal_testkit::{
    TestApp, csaf,
    downloader::{self, Gpg},
    smtp::SmtpSink,
    storage_test, web,
};
use serde_json::{Value, json};

use super::{
    accounts, advisory,
    csaf_vendors::{EXAMPLE, csaf_products, import},
    fast_mail,
};

/// Keeps one downloaded document as a downloader does, with its digest files and signature; whether GnuPG
/// verifies the signature, and whether `sha256sum -c` and `sha512sum -c` accept the digests.
fn check_by_hand(
    gpg: &Gpg,
    name: &str,
    document: &[u8],
    sha256: &str,
    sha512: &str,
    asc: &str,
) -> (bool, bool) {
    let dir = tempfile::tempdir().unwrap();
    let write = |file: &str, body: &[u8]| std::fs::write(dir.path().join(file), body).unwrap();
    write(name, document);
    write(&format!("{name}.sha256"), sha256.as_bytes());
    write(&format!("{name}.sha512"), sha512.as_bytes());
    write(&format!("{name}.asc"), asc.as_bytes());
    let signed = gpg.verifies(
        &dir.path().join(format!("{name}.asc")),
        &dir.path().join(name),
    );
    let sums = |tool: &str, file: String| {
        Command::new(tool)
            .current_dir(dir.path())
            .args(["--check", "--strict", &file])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("{tool}: {e}"))
            .success()
    };
    let digests =
        sums("sha256sum", format!("{name}.sha256")) && sums("sha512sum", format!("{name}.sha512"));
    (signed, digests)
}

async fn ok(url: &str) -> web::Answer {
    let answer = web::get(url).await;
    assert_eq!(answer.status, StatusCode::OK, "{url}: {}", answer.body);
    answer
}

/// The example vendor document revised: version 3, released later, retitled.
fn revised_example() -> String {
    let mut document: Value = serde_json::from_str(EXAMPLE).unwrap();
    let tracking = &mut document["document"]["tracking"];
    tracking["version"] = json!("3");
    tracking["current_release_date"] = json!("2026-11-28T10:00:00.000Z");
    tracking["revision_history"]
        .as_array_mut()
        .unwrap()
        .push(json!({"date": "2026-11-28T10:00:00.000Z", "number": "3", "summary": "Server 2025.2 is affected too."}));
    document["document"]["title"] = json!("Example Analytics: revised");
    document.to_string()
}

storage_test!(
    n15_a_csaf_downloader_finds_verifies_and_validates_every_tlp_clear_document,
    |backend| async move {
        let Some(downloader) =
            downloader::required("n15_a_csaf_downloader_finds_verifies_and_validates")
        else {
            return;
        };
        let validator = csaf::required("n15_a_csaf_downloader_finds_verifies_and_validates");
        let sink = SmtpSink::start().await;
        let url = sink.url();
        let app = TestApp::spawn_with(backend, &portal_testkit::ServiceKind::ALL, |s| {
            fast_mail(s, &url);
            s.notification.csaf_products = csaf_products();
        })
        .await;
        let base = format!("http://{}/.well-known/csaf", app.public.unwrap());
        let metadata_url = format!("{base}/provider-metadata.json");
        let (account, _, _) = app.account_with_admin("Acme").await;
        let mut publisher = app
            .notification(&app.service_token("psirt", "notification.publish"))
            .await;

        // Before anything is published: metadata, an empty feed, the key.
        let metadata: Value = serde_json::from_str(&ok(&metadata_url).await.body).unwrap();
        assert_eq!(metadata["role"], "csaf_trusted_provider");
        assert_eq!(metadata["canonical_url"], metadata_url);
        assert!(downloader.walk(&metadata_url).await.is_empty());

        // One advisory per label that matters: CLEAR is distributed, AMBER is not; and a vendor's document.
        let mut publish = async |tlp: Tlp, id: &str| {
            publisher
                .publish_advisory(pb::PublishAdvisoryRequest {
                    tlp: tlp as i32,
                    ..advisory(accounts(&[&account]), id)
                })
                .await
                .unwrap()
                .into_inner()
        };
        let clear = publish(Tlp::Clear, "clear").await;
        let amber = publish(Tlp::Amber, "amber").await;
        let vendor = publisher
            .publish_csaf_advisory(import(EXAMPLE, false, "vendor"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(vendor.tlp, Tlp::Clear as i32);
        let year = chrono::Utc::now().format("%Y");
        let clear_url = format!(
            "{base}/white/{year}/{}.json",
            clear.advisory_id.to_lowercase()
        );
        let vendor_url = format!("{base}/white/2026/exa-sa-2026-0142.json");
        let amber_url = format!(
            "{base}/white/{year}/{}.json",
            amber.advisory_id.to_lowercase()
        );

        // csaf-walker: both CLEAR documents, each digest and signature checked; nothing else.
        let walked = downloader.walk(&metadata_url).await;
        assert_eq!(
            walked.iter().map(|w| w.url.as_str()).collect::<Vec<_>>(),
            {
                let mut urls = vec![clear_url.as_str(), vendor_url.as_str()];
                urls.sort();
                urls
            },
            "{walked:?}"
        );
        for w in &walked {
            assert_eq!(
                (w.digest_ok, w.signature_ok),
                (Some(true), Some(true)),
                "{w:?}"
            );
            assert!(w.errors.is_empty(), "{w:?}");
        }
        for narrower in [
            amber_url,
            format!(
                "{base}/amber/{year}/{}.json",
                amber.advisory_id.to_lowercase()
            ),
        ] {
            assert_eq!(web::get(&narrower).await.status, StatusCode::NOT_FOUND);
        }

        // The same files by hand: the key the metadata names (its fingerprint as GnuPG computes it), each
        // signature verified by gpg, each digest file checked by coreutils, a tampered copy refused.
        let listed = &metadata["public_openpgp_keys"][0];
        let public_key = ok(listed["url"].as_str().unwrap()).await;
        assert_eq!(public_key.header("content-type"), "application/pgp-keys");
        let gpg = Gpg::with_key(&public_key.body);
        assert_eq!(gpg.fingerprint(), listed["fingerprint"].as_str().unwrap());
        let feed_url = metadata["distributions"][0]["rolie"]["feeds"][0]["url"]
            .as_str()
            .unwrap();
        let feed: Value = serde_json::from_str(&ok(feed_url).await.body).unwrap();
        let entries = feed["feed"]["entry"].as_array().unwrap().clone();
        assert_eq!(entries.len(), 2, "{feed}");
        let mut served = Vec::new();
        for entry in &entries {
            let url = entry["content"]["src"].as_str().unwrap();
            let document = ok(url).await;
            assert_eq!(document.header("content-type"), "application/json");
            assert_eq!(document.header("cache-control"), "public, max-age=300");
            let name = url.rsplit('/').next().unwrap();
            let sha256 = ok(&format!("{url}.sha256")).await.body;
            let sha512 = ok(&format!("{url}.sha512")).await.body;
            let asc = ok(&format!("{url}.asc")).await.body;
            let body = document.body.as_bytes();
            assert_eq!(
                check_by_hand(&gpg, name, body, &sha256, &sha512, &asc),
                (true, true),
                "{url}"
            );
            let mut tampered = body.to_vec();
            let at = tampered.len() / 2;
            tampered[at] ^= 0x01;
            assert_eq!(
                check_by_hand(&gpg, name, &tampered, &sha256, &sha512, &asc),
                (false, false),
                "{url}"
            );
            let parsed: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(parsed["document"]["distribution"]["tlp"]["label"], "WHITE");
            served.push((url.to_string(), parsed));
        }

        // The BSI validator: every served document passes the schema and every mandatory test, but for the
        // faults the vendor's own document has (an imported document keeps its publisher's faults, gains none).
        if let Some(validator) = validator {
            let original: Value = serde_json::from_str(EXAMPLE).unwrap();
            let mut named: Vec<(&str, &Value)> =
                served.iter().map(|(u, d)| (u.as_str(), d)).collect();
            named.push(("the vendor's original", &original));
            let verdicts = validator.validate(&named);
            let grave = |failures: &[String]| -> Vec<String> {
                failures
                    .iter()
                    .filter(|f| !f.starts_with("optionalTest"))
                    .cloned()
                    .collect()
            };
            let (originals, served) = verdicts.split_last().unwrap();
            let vendors_own = grave(&originals.failures);
            for verdict in served {
                let own = if verdict.name == vendor_url {
                    vendors_own.clone()
                } else {
                    vec![]
                };
                assert_eq!(grave(&verdict.failures), own, "{}", verdict.explain());
            }
        }

        // A revision of the vendor's document replaces it at the same URL and moves the feed; still verified.
        let revised = publisher
            .publish_csaf_advisory(import(revised_example(), false, "vendor-v3"))
            .await
            .unwrap()
            .into_inner();
        assert_ne!(revised.advisory_id, vendor.advisory_id);
        let document: Value = serde_json::from_str(&ok(&vendor_url).await.body).unwrap();
        assert_eq!(document["document"]["tracking"]["version"], "3");
        let feed: Value = serde_json::from_str(&ok(feed_url).await.body).unwrap();
        let entries = feed["feed"]["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{feed}");
        let vendor_entry = entries
            .iter()
            .find(|e| e["content"]["src"] == vendor_url.as_str())
            .unwrap();
        assert_eq!(vendor_entry["title"], "Example Analytics: revised");
        assert_eq!(vendor_entry["updated"], "2026-11-28T10:00:00Z");
        assert_eq!(feed["feed"]["updated"], latest(&feed));
        let walked = downloader.walk(&metadata_url).await;
        assert_eq!(walked.len(), 2, "{walked:?}");
        assert!(
            walked
                .iter()
                .all(|w| w.signature_ok == Some(true) && w.digest_ok == Some(true)),
            "{walked:?}"
        );

        // Only GET and HEAD; nothing else below the provider.
        let post = web::post(&metadata_url).await;
        assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.header("allow"), "GET, HEAD");
        assert_eq!(
            web::get(&format!("{base}/white/{year}/nothing.json"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
);

/// The latest `updated` among a feed's entries.
fn latest(feed: &Value) -> String {
    feed["feed"]["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["updated"].as_str())
        .max()
        .unwrap()
        .to_string()
}
