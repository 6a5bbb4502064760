//! N12 against a checker nobody here wrote: every export — advisories published field by field (with products,
//! with only a product target, with none at all) and imported ones (vendor documents, a round trip) — passes the
//! BSI CSAF validator's strict schema test, every mandatory test and every recommended test. What an export
//! cannot pass says why: an advisory without a CVSS score fails 6.2.3 only, and an imported document keeps its
//! publisher's own faults but gains none.

use chrono::{Datelike, Utc};
use portal_proto::{
    common::Product,
    notification::{self as pb, AdvisoryKind},
};
use portal_testkit::{clients::Notification, csaf, storage_test};
use serde_json::Value;

use super::csaf_vendors::{EXAMPLE, INFORMATIONAL, RHSA_SHAPED, app_with_vendors, import};
use super::{accounts, advisory};
use portal_testkit::smtp::SmtpSink;

const SCORE: &str = "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H";

async fn export(client: &mut Notification, advisory_id: &str) -> Value {
    let document = client
        .get_advisory_csaf(pb::GetAdvisoryCsafRequest {
            advisory_id: advisory_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .document;
    serde_json::from_slice(&document).unwrap()
}

async fn publish(client: &mut Notification, request: pb::PublishAdvisoryRequest) -> String {
    client
        .publish_advisory(request)
        .await
        .unwrap()
        .into_inner()
        .advisory_id
}

async fn imported(client: &mut Notification, document: impl Into<Vec<u8>>, id: &str) -> String {
    client
        .publish_csaf_advisory(import(document, false, id))
        .await
        .unwrap()
        .into_inner()
        .advisory_id
}

storage_test!(
    n12_every_export_passes_the_bsi_validators_schema_mandatory_and_recommended_tests,
    |backend| async move {
        let Some(validator) = csaf::required("n12_every_export_passes_the_bsi_validator") else {
            return;
        };
        let sink = SmtpSink::start().await;
        let app = app_with_vendors(backend, &sink).await;
        let (account, _, _) = app.account_with_admin("Acme").await;
        let mut publisher = app
            .notification(&app.service_token("psirt", "notification.publish"))
            .await;
        let to_acme = || accounts(&[&account]);
        let with_score = |request: pb::PublishAdvisoryRequest| pb::PublishAdvisoryRequest {
            cvss_vector: SCORE.into(),
            ..request
        };

        // Field by field: affected Server versions, a CVE and a score.
        let scored = publish(&mut publisher, with_score(advisory(to_acme(), "scored"))).await;
        // No versions named: the products it was sent to the holders of.
        let whole = publish(
            &mut publisher,
            with_score(pb::PublishAdvisoryRequest {
                kind: AdvisoryKind::Technical as i32,
                affected_products: vec![],
                target: Some(pb::publish_advisory_request::Target::Products(
                    pb::ProductList {
                        products: vec![Product::Desktop as i32, Product::Server as i32],
                    },
                )),
                ..advisory(to_acme(), "whole")
            }),
        )
        .await;
        // No product at all: information, with and without a CVE.
        let notice = publish(
            &mut publisher,
            pb::PublishAdvisoryRequest {
                affected_products: vec![],
                cve_ids: vec![],
                resolution: String::new(),
                ..advisory(to_acme(), "notice")
            },
        )
        .await;
        let cve_only = publish(
            &mut publisher,
            pb::PublishAdvisoryRequest {
                affected_products: vec![],
                ..advisory(to_acme(), "cve-only")
            },
        )
        .await;
        // Vendors' documents, and the first export imported back.
        let rhsa = imported(&mut publisher, RHSA_SHAPED, "rhsa").await;
        let informational = imported(&mut publisher, INFORMATIONAL, "informational").await;
        let scored_export = export(&mut publisher, &scored).await;
        let round_trip = imported(
            &mut publisher,
            serde_json::to_vec(&scored_export).unwrap(),
            "round-trip",
        )
        .await;

        let mut documents = Vec::new();
        for (name, id) in [
            ("field by field, scored", &scored),
            ("field by field, a product target", &whole),
            ("field by field, no product", &notice),
            ("field by field, no product but a CVE", &cve_only),
            ("imported, Red Hat-shaped", &rhsa),
            ("imported, informational", &informational),
            ("imported, a round trip", &round_trip),
        ] {
            documents.push((name, export(&mut publisher, id).await));
        }
        let named: Vec<(&str, &Value)> = documents.iter().map(|(n, d)| (*n, d)).collect();
        for verdict in validator.validate(&named) {
            assert!(verdict.failures.is_empty(), "{}", verdict.explain());
        }
        let categories: Vec<&str> = documents
            .iter()
            .map(|(_, d)| d["document"]["category"].as_str().unwrap())
            .collect();
        assert_eq!(
            categories,
            [
                "csaf_security_advisory",
                "csaf_security_advisory",
                "csaf_informational_advisory",
                "csaf_informational_advisory",
                "csaf_security_advisory",
                "csaf_informational_advisory",
                "csaf_security_advisory",
            ]
        );
        // The canonical URL: the provider's https base, the TLP directory, the year, the file name (CSAF §5.1).
        let url = scored_export["document"]["references"][0]["url"]
            .as_str()
            .unwrap();
        let tail = format!(
            "/.well-known/csaf/white/{}/{}.json",
            Utc::now().year(),
            scored.to_lowercase()
        );
        assert!(url.starts_with("https://") && url.ends_with(&tail), "{url}");

        // Without a CVSS score there is nothing to score the affected products with: 6.2.3 and nothing else.
        let unscored = publish(&mut publisher, advisory(to_acme(), "unscored")).await;
        let unscored = export(&mut publisher, &unscored).await;
        let verdict = &validator.validate(&[("unscored", &unscored)])[0];
        assert_eq!(
            verdict.failures,
            ["optionalTest_6_2_3"],
            "{}",
            verdict.explain()
        );

        // A publisher's document keeps its own faults (a vulnerability without notes, a plugin without score,
        // remediation or identification helper) but the export adds none, and mends the canonical URL (its own
        // is in upper case).
        let example = imported(&mut publisher, EXAMPLE, "example").await;
        let exported = export(&mut publisher, &example).await;
        let original: Value = serde_json::from_str(EXAMPLE).unwrap();
        let verdicts = validator.validate(&[("as published", &original), ("exported", &exported)]);
        let (before, after) = (&verdicts[0].failures, &verdicts[1].failures);
        for failure in after {
            assert!(before.contains(failure), "{}", verdicts[1].explain());
        }
        assert!(
            before.iter().any(|f| f == "optionalTest_6_2_11"),
            "{}",
            verdicts[0].explain()
        );
        assert!(
            !after.iter().any(|f| f == "optionalTest_6_2_11"),
            "{}",
            verdicts[1].explain()
        );
        assert!(
            after.iter().any(|f| f == "mandatoryTest_6_1_27_5"),
            "the publisher's own fault stays: {}",
            verdicts[1].explain()
        );
    }
);
