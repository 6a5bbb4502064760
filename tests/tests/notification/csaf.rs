//! CSAF 2.0 in and out (N11, N12): a PSIRT's multi-vulnerability document imported, mapped and mailed to the
//! holders of its affected products; a second import returns the first advisory; invalid documents refused with
//! their JSON paths; every export valid CSAF that imports back to the same CVEs, severity and products.

use std::time::Duration;

use portal_notification::domain::csaf::n11_check_schema;
use portal_proto::{
    common::{KeyFamily, Product},
    identity::{Permission, Role},
    notification::{self as pb, AdvisoryKind, Severity},
};
use portal_runtime::config::CsafProductSettings;
use portal_testkit::{
    Backend, ServiceKind, TestApp, assert::violated_fields, clients::Notification, smtp::SmtpSink,
    storage_test,
};
use serde_json::{Value, json};
use tonic::Code;

use super::{accounts, advisory, fast_mail, final_advisory_mail, settle};

/// A realistic PSIRT advisory: three CVEs with CVSS v3.1 scores (the highest 9.8), Desktop and Server versions
/// under vendor/product/version branches (with CPEs), a plugin the suite does not sell, known_affected and
/// fixed versions, vendor_fix remediations and a workaround.
const EXAMPLE: &str = include_str!("../../fixtures/csaf/example-sa-2026-0142.json");

/// The PSIRT's product names and CPEs mapped to the suite's products, as an operator configures them.
fn csaf_products() -> Vec<CsafProductSettings> {
    vec![
        CsafProductSettings {
            product: "DESKTOP".into(),
            names: vec!["Example Desktop".into()],
            cpes: vec![],
            ..Default::default()
        },
        CsafProductSettings {
            product: "SERVER".into(),
            names: vec![],
            cpes: vec!["cpe:2.3:a:example:server:".into()],
            ..Default::default()
        },
    ]
}

async fn app_with_csaf(backend: Backend, sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
        fast_mail(s, &url);
        s.notification.csaf_products = csaf_products();
    })
    .await
}

fn import(
    document: impl Into<Vec<u8>>,
    target: pb::publish_csaf_advisory_request::Target,
    request_id: &str,
) -> pb::PublishCsafAdvisoryRequest {
    pb::PublishCsafAdvisoryRequest {
        document: document.into(),
        target: Some(target),
        request_id: request_id.into(),
    }
}

/// The document's own affected products.
fn document_products() -> pb::publish_csaf_advisory_request::Target {
    pb::publish_csaf_advisory_request::Target::Products(pb::ProductList { products: vec![] })
}

fn all_accounts() -> pb::publish_csaf_advisory_request::Target {
    pb::publish_csaf_advisory_request::Target::AllAccounts(true)
}

async fn export(client: &mut Notification, advisory_id: &str) -> Value {
    let document = client
        .get_advisory_csaf(pb::GetAdvisoryCsafRequest {
            advisory_id: advisory_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .document;
    let document: Value = serde_json::from_slice(&document).unwrap();
    n11_check_schema(&document)
        .unwrap_or_else(|v| panic!("{advisory_id} exports invalid CSAF: {v:?}"));
    document
}

/// CVEs, severity and affected products: what a round trip must keep.
fn essence(a: &pb::Advisory) -> (Vec<String>, i32, Vec<pb::AffectedProduct>) {
    (a.cve_ids.clone(), a.severity, a.affected_products.clone())
}

storage_test!(
    n11_a_csaf_advisory_is_mapped_and_mailed_to_the_holders_of_its_products_once,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_csaf(backend, &sink).await;
        let (desktops, _, _) = app.account_with_admin("Desktops").await;
        let (servers, _, _) = app.account_with_admin("Servers").await;
        let (bystander, _, _) = app.account_with_admin("Bystander").await;
        app.issue_key(&desktops, KeyFamily::Td, 1).await;
        app.issue_key(&servers, KeyFamily::Ts, 1).await;
        for (account, email) in [
            (&desktops, "psirt@desktops.example"),
            (&servers, "psirt@servers.example"),
            (&bystander, "psirt@bystander.example"),
        ] {
            app.new_user(
                account,
                email,
                Role::DownloadOnly,
                &[Permission::SecurityPointOfContact],
            )
            .await;
        }
        let mut publisher = app
            .notification(&app.service_token("psirt", "notification.publish"))
            .await;

        let published = publisher
            .publish_csaf_advisory(import(EXAMPLE, document_products(), "csaf-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            published.title,
            "Example Analytics: multiple vulnerabilities in Desktop and Server"
        );
        assert_eq!(published.kind(), AdvisoryKind::Security);
        assert_eq!(
            published.severity(),
            Severity::Critical,
            "highest CVSS v3 score 9.8"
        );
        assert_eq!(
            published.cve_ids,
            ["CVE-2026-41001", "CVE-2026-41002", "CVE-2026-41003"]
        );
        assert!(
            published
                .summary
                .starts_with("Example Desktop and Example Server")
        );
        assert!(published.impact.contains("crafted workbook"));
        assert!(published.conditions.contains("REST API is enabled"));
        assert!(
            published
                .resolution
                .contains("Upgrade Example Desktop to 2025.1.4")
        );
        assert!(
            published
                .resolution
                .contains("Upgrade Example Server to 2025.1.2")
        );
        assert_eq!(
            published.affected_products,
            [
                pb::AffectedProduct {
                    product: Product::Desktop as i32,
                    versions: vec!["2024.3".into(), "2025.1".into()],
                    fixed_versions: vec!["2025.1.4".into()],
                },
                pb::AffectedProduct {
                    product: Product::Server as i32,
                    versions: vec!["2025.1".into()],
                    fixed_versions: vec!["2025.1.2".into()],
                },
            ]
        );
        assert_eq!(
            (
                published.csaf_tracking_id.as_str(),
                published.csaf_tracking_version.as_str()
            ),
            ("EXA-SA-2026-0142", "2")
        );
        assert_eq!(
            published.target,
            Some(pb::advisory::Target::Products(pb::ProductList {
                products: vec![Product::Desktop as i32, Product::Server as i32],
            }))
        );

        // The same document again, by request id or by tracking id + version: the first advisory.
        for request_id in ["csaf-1", "csaf-again", ""] {
            let again = publisher
                .publish_csaf_advisory(import(EXAMPLE, document_products(), request_id))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(again.advisory_id, published.advisory_id, "{request_id:?}");
        }
        let listed = publisher
            .list_advisories(pb::ListAdvisoriesRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.advisories.len(), 1);

        let stats = settle(
            &mut publisher,
            &published.advisory_id,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!((stats.sent, stats.dead, stats.accounts_targeted), (2, 0, 2));
        let mail = final_advisory_mail(&mut publisher, &sink, &published.advisory_id, 2).await;
        let mut recipients: Vec<String> = mail.iter().flat_map(|m| m.to.clone()).collect();
        recipients.sort();
        assert_eq!(
            recipients,
            ["psirt@desktops.example", "psirt@servers.example"],
            "the security contacts of the accounts holding Desktop or Server, once each"
        );
        for m in &mail {
            assert!(m.header("Subject").unwrap().contains("CRITICAL"));
            assert!(
                m.data.contains("EXA-SA-2026-0142 version 2"),
                "the mail names the CSAF document"
            );
            assert!(m.data.contains("CVE-2026-41002") && m.data.contains("2025.1.2"));
        }
    }
);

storage_test!(
    n11_invalid_documents_are_refused_naming_the_failing_paths,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_csaf(backend, &sink).await;
        let mut publisher = app
            .notification(&app.service_token("psirt", "notification.publish"))
            .await;
        let example: Value = serde_json::from_str(EXAMPLE).unwrap();

        let mut missing = example.clone();
        missing["document"].as_object_mut().unwrap().remove("title");
        missing["document"]["tracking"]
            .as_object_mut()
            .unwrap()
            .remove("id");
        missing["document"]["publisher"]
            .as_object_mut()
            .unwrap()
            .remove("namespace");
        let mut bad_version = example.clone();
        bad_version["document"]["csaf_version"] = json!("2.1-draft");
        let mut vex = example.clone();
        vex["document"]["category"] = json!("csaf_vex");
        let cases: [(Vec<u8>, &[&str]); 5] = [
            (
                serde_json::to_vec(&missing).unwrap(),
                &[
                    "/document/publisher/namespace",
                    "/document/title",
                    "/document/tracking/id",
                ],
            ),
            (
                serde_json::to_vec(&bad_version).unwrap(),
                &["/document/csaf_version"],
            ),
            (b"this is not { json".to_vec(), &["document"]),
            (b"[1, 2]".to_vec(), &["/"]),
            (serde_json::to_vec(&vex).unwrap(), &["/document/category"]),
        ];
        for (document, wanted) in cases {
            let status = publisher
                .publish_csaf_advisory(import(document, all_accounts(), ""))
                .await
                .unwrap_err();
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "{wanted:?}: {status:?}"
            );
            let fields = violated_fields(&status);
            for path in wanted {
                assert!(fields.iter().any(|f| f == path), "{path} not in {fields:?}");
            }
        }

        // No target, and a target of the document's products when none maps to a suite product.
        let status = publisher
            .publish_csaf_advisory(pb::PublishCsafAdvisoryRequest {
                document: EXAMPLE.into(),
                target: None,
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), ["target"]);
        let mut unsold = example.clone();
        unsold["vulnerabilities"] = json!([{
            "cve": "CVE-2026-41009",
            "product_status": {"known_affected": ["EXA-CHARTS-3.2"]},
            "scores": [{"products": ["EXA-CHARTS-3.2"], "cvss_v3": {
                "version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "baseScore": 9.8, "baseSeverity": "CRITICAL"}}]
        }]);
        let status = publisher
            .publish_csaf_advisory(import(
                serde_json::to_vec(&unsold).unwrap(),
                document_products(),
                "",
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), ["target.products"]);

        // Only the publishing pipeline imports.
        let mut internal = app
            .notification(&app.service_token("identity", "internal"))
            .await;
        let status = internal
            .publish_csaf_advisory(import(EXAMPLE, all_accounts(), ""))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = publisher
            .get_advisory_csaf(pb::GetAdvisoryCsafRequest {
                advisory_id: "ADV-2020-999".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    }
);

storage_test!(
    n12_every_export_is_valid_csaf_and_imports_back_to_the_same_advisory,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_csaf(backend, &sink).await;
        let (account, _, _) = app.account_with_admin("Acme").await;
        let mut publisher = app
            .notification(&app.service_token("psirt", "notification.publish"))
            .await;

        // Imported: the PSIRT's own document, the suite's advisory id added to its tracking aliases.
        let imported = publisher
            .publish_csaf_advisory(import(EXAMPLE, all_accounts(), "csaf-x"))
            .await
            .unwrap()
            .into_inner();
        let exported = export(&mut publisher, &imported.advisory_id).await;
        let tracking = &exported["document"]["tracking"];
        assert_eq!(tracking["id"], "EXA-SA-2026-0142");
        assert_eq!(tracking["version"], "2");
        assert_eq!(tracking["aliases"], json!([imported.advisory_id]));
        assert_eq!(exported["vulnerabilities"].as_array().unwrap().len(), 3);

        // Published field by field: a generated document, tracking id = the advisory id.
        let field_by_field = publisher
            .publish_advisory(advisory(accounts(&[&account]), "plain-1"))
            .await
            .unwrap()
            .into_inner();
        let generated = export(&mut publisher, &field_by_field.advisory_id).await;
        let tracking = &generated["document"]["tracking"];
        assert_eq!(tracking["id"], json!(field_by_field.advisory_id));
        assert_eq!(tracking["revision_history"][0]["number"], "1");
        assert_eq!(generated["document"]["category"], "csaf_security_advisory");
        assert_eq!(
            generated["document"]["publisher"]["name"],
            "Customer Portal"
        );

        // Round trip: the export imports as an advisory with the same CVEs, severity and affected products.
        let back = publisher
            .publish_csaf_advisory(import(
                serde_json::to_vec(&generated).unwrap(),
                all_accounts(),
                "roundtrip-1",
            ))
            .await
            .unwrap()
            .into_inner();
        assert_ne!(back.advisory_id, field_by_field.advisory_id);
        assert_eq!(essence(&back), essence(&field_by_field));
        assert_eq!(back.title, field_by_field.title);
        assert_eq!(back.csaf_tracking_id, field_by_field.advisory_id);
        export(&mut publisher, &back.advisory_id).await;

        // The imported advisory's export is the same document: importing it again is the first advisory.
        let again = publisher
            .publish_csaf_advisory(import(
                serde_json::to_vec(&exported).unwrap(),
                all_accounts(),
                "roundtrip-2",
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.advisory_id, imported.advisory_id);
        assert_eq!(essence(&again), essence(&imported));
    }
);
