//! CSAF documents as vendors write them (N16), end to end: a Red Hat-shaped advisory (packages that are
//! components of platforms named by CPE 2.2, only `fixed` products) reaches the holders of the product it maps to;
//! an informational advisory is a TECHNICAL advisory for the technical contacts; CVSS scores and TLP labels are
//! kept and shown; a document that maps to no product is refused naming its product ids, unless the target needs
//! none. PublishAdvisory takes a TLP label and a CVSS vector (N1, N16).

use std::time::Duration;

use portal_proto::{
    common::{KeyFamily, Product},
    identity::{Permission, Role},
    notification::{self as pb, AdvisoryKind, Severity, Tlp},
};
use portal_runtime::{config::CsafProductSettings, error::violations_of};
use portal_testkit::{
    Backend, ServiceKind, TestApp,
    smtp::{Received, SmtpSink},
    storage_test,
};
use serde_json::{Value, json};
use tonic::Code;

use super::{accounts, advisory, fast_mail, final_advisory_mail, settle};

pub(super) const EXAMPLE: &str = include_str!("../../fixtures/csaf/example-sa-2026-0142.json");
/// Red Hat's shape, written here: example-server packages per architecture, each `default_component_of` an
/// "Example Server 2025 for Enterprise Linux 8/9" platform named by a CPE 2.2 URI; two CVEs that list only
/// `fixed` products; severity "Important"; no scores.
pub(super) const RHSA_SHAPED: &str = include_str!("../../fixtures/csaf/exsa-2026_1187.json");
/// A `csaf_informational_advisory`: hardening guidance for Example Server, TLP:GREEN, no vulnerabilities.
pub(super) const INFORMATIONAL: &str = include_str!("../../fixtures/csaf/exa-ia-2026-0007.json");

/// The operator's mapping, in CPE 2.3 although the Red Hat-shaped document names its platforms in CPE 2.2.
pub(super) fn csaf_products() -> Vec<CsafProductSettings> {
    vec![
        CsafProductSettings {
            product: "DESKTOP".into(),
            names: vec!["Example Desktop".into()],
            cpes: vec!["cpe:2.3:a:example:desktop:".into()],
            purls: vec![],
        },
        CsafProductSettings {
            product: "SERVER".into(),
            names: vec![],
            cpes: vec!["cpe:2.3:a:example:server:".into()],
            purls: vec!["pkg:rpm/example/example-server".into()],
        },
    ]
}

pub(super) async fn app_with_vendors(backend: Backend, sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
        fast_mail(s, &url);
        s.notification.csaf_products = csaf_products();
        s.notification.public.base_url = Some("https://portal.example.test".into());
    })
    .await
}

pub(super) fn import(
    document: impl Into<Vec<u8>>,
    products_of_the_document: bool,
    request_id: &str,
) -> pb::PublishCsafAdvisoryRequest {
    use pb::publish_csaf_advisory_request::Target;
    pb::PublishCsafAdvisoryRequest {
        document: document.into(),
        target: Some(if products_of_the_document {
            Target::Products(pb::ProductList { products: vec![] })
        } else {
            Target::AllAccounts(true)
        }),
        request_id: request_id.into(),
    }
}

/// A mail's plain text and HTML parts, decoded.
fn parts(mail: &Received) -> (String, String) {
    let message = mail_parser::MessageParser::default()
        .parse(mail.data.as_bytes())
        .expect("a MIME message");
    (
        message.body_text(0).unwrap_or_default().into_owned(),
        message.body_html(0).unwrap_or_default().into_owned(),
    )
}

storage_test!(
    n16_vendor_documents_reach_the_holders_of_the_products_they_name,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_vendors(backend, &sink).await;
        let (servers, _, _) = app.account_with_admin("Servers").await;
        let (desktops, _, _) = app.account_with_admin("Desktops").await;
        app.issue_key(&servers, KeyFamily::Ts, 1).await;
        app.issue_key(&desktops, KeyFamily::Td, 1).await;
        for (account, email, permission) in [
            (
                &servers,
                "psirt@servers.example",
                Permission::SecurityPointOfContact,
            ),
            (
                &servers,
                "ops@servers.example",
                Permission::TechnicalPointOfContact,
            ),
            (
                &desktops,
                "psirt@desktops.example",
                Permission::SecurityPointOfContact,
            ),
            (
                &desktops,
                "ops@desktops.example",
                Permission::TechnicalPointOfContact,
            ),
        ] {
            app.new_user(account, email, Role::DownloadOnly, &[permission])
                .await;
        }
        let mut publisher = app
            .notification(&app.service_token("psirt", "notification.publish"))
            .await;

        // Red Hat's shape: only `fixed` packages, components of CPE 2.2 platforms.
        let rhsa = publisher
            .publish_csaf_advisory(import(RHSA_SHAPED, true, "rhsa-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rhsa.kind(), AdvisoryKind::Security);
        assert_eq!(rhsa.severity(), Severity::High, "Important");
        assert_eq!(rhsa.tlp(), Tlp::Clear, "TLP:WHITE");
        assert_eq!(rhsa.cve_ids, ["CVE-2026-42101", "CVE-2026-42102"]);
        assert_eq!(
            rhsa.affected_products,
            [pb::AffectedProduct {
                product: Product::Server as i32,
                versions: vec![],
                fixed_versions: vec![
                    "example-server-2025.1.2-1.el9".into(),
                    "example-server-2025.1.2-1.el8".into()
                ],
            }]
        );
        assert_eq!(
            rhsa.target,
            Some(pb::advisory::Target::Products(pb::ProductList {
                products: vec![Product::Server as i32],
            }))
        );
        assert_eq!(rhsa.csaf_tracking_id, "EXSA-2026:1187");

        // An informational advisory: TECHNICAL, for the technical contacts of the Server holders.
        let notice = publisher
            .publish_csaf_advisory(import(INFORMATIONAL, true, "ia-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(notice.kind(), AdvisoryKind::Technical);
        assert_eq!(notice.severity(), Severity::Low);
        assert_eq!(notice.tlp(), Tlp::Green);
        assert!(notice.cve_ids.is_empty() && notice.cvss_scores.is_empty());
        assert!(notice.resolution.contains(
            "Hardening guide: securing the REST API: https://docs.example.com/server/2025/hardening/rest-api"
        ));

        // The example's three CVEs keep their CVSS v3 scores.
        let scored = publisher
            .publish_csaf_advisory(import(EXAMPLE, true, "example-1"))
            .await
            .unwrap()
            .into_inner();
        let scores: Vec<(String, String, f64)> = scored
            .cvss_scores
            .iter()
            .map(|s| (s.cve_id.clone(), s.vector.clone(), s.base_score))
            .collect();
        assert_eq!(
            scores,
            [
                (
                    "CVE-2026-41001".into(),
                    "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H".into(),
                    7.8
                ),
                (
                    "CVE-2026-41002".into(),
                    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
                    9.8
                ),
                (
                    "CVE-2026-41003".into(),
                    "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N".into(),
                    6.1
                ),
            ]
        );

        for (advisory, n) in [(&rhsa, 1), (&notice, 1), (&scored, 2)] {
            let stats = settle(
                &mut publisher,
                &advisory.advisory_id,
                Duration::from_secs(30),
            )
            .await;
            assert_eq!((stats.sent, stats.dead), (n, 0), "{}", advisory.advisory_id);
        }
        let mut mail_of = Vec::new();
        for (advisory, n) in [(&rhsa, 1), (&notice, 1), (&scored, 2)] {
            let mail = final_advisory_mail(&mut publisher, &sink, &advisory.advisory_id, n).await;
            let mut to: Vec<String> = mail.iter().flat_map(|m| m.to.clone()).collect();
            to.sort();
            mail_of.push((to, mail));
        }
        assert_eq!(
            mail_of[0].0,
            ["psirt@servers.example"],
            "the Server holders' security contact"
        );
        assert_eq!(
            mail_of[1].0,
            ["ops@servers.example"],
            "the Server holders' technical contact"
        );
        assert_eq!(
            mail_of[2].0,
            ["psirt@desktops.example", "psirt@servers.example"]
        );
        let mail = &mail_of[2].1;
        for m in mail {
            let (text, html) = parts(m);
            let html = html.replace("&#x2f;", "/");
            for part in [&text, &html] {
                assert!(
                    part.contains(
                        "CVSS: 9.8 (CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H) for CVE-2026-41002"
                    ),
                    "{part}"
                );
                assert!(part.contains(
                    "CVSS: 6.1 (CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N) for CVE-2026-41003"
                ));
            }
        }
    }
);

storage_test!(
    n16_a_document_that_maps_to_no_product_is_refused_naming_its_products,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_vendors(backend, &sink).await;
        let mut publisher = app
            .notification(&app.service_token("psirt", "notification.publish"))
            .await;
        // The same advisory for a platform and packages nobody mapped.
        let foreign = RHSA_SHAPED
            .replace("cpe:/a:example:server", "cpe:/a:elsewhere:server")
            .replace(
                "pkg:rpm/example/example-server",
                "pkg:rpm/elsewhere/elsewhere-server",
            )
            .replace("EXSA-2026:1187", "EXSA-2026:1188");
        let status = publisher
            .publish_csaf_advisory(import(foreign.clone(), true, ""))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let violations = violations_of(&status);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].field, "target.products");
        assert!(
            violations[0].description.contains(
                "(notification.csaf_products): ExampleServer-2025-EL9:example-server-0:2025.1.2-1.el9.x86_64 and 5 more"
            ),
            "{violations:?}"
        );
        // Sent to everyone, it needs no product: it is published, naming none.
        let everyone = publisher
            .publish_csaf_advisory(import(foreign, false, "foreign-all"))
            .await
            .unwrap()
            .into_inner();
        assert!(everyone.affected_products.is_empty());
        assert_eq!(
            everyone.target,
            Some(pb::advisory::Target::AllAccounts(true))
        );
    }
);

storage_test!(
    n1_publish_advisory_takes_a_tlp_label_and_a_cvss_vector,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let url = sink.url();
        let app = TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
            fast_mail(s, &url);
            s.notification.default_tlp = "GREEN".into();
        })
        .await;
        let (account, _, _) = app.account_with_admin("Acme").await;
        app.new_user(
            &account,
            "psirt@acme.example",
            Role::DownloadOnly,
            &[Permission::SecurityPointOfContact],
        )
        .await;
        let mut publisher = app
            .notification(&app.service_token("psirt", "notification.publish"))
            .await;
        let labelled = publisher
            .publish_advisory(pb::PublishAdvisoryRequest {
                tlp: Tlp::AmberStrict as i32,
                cvss_vector: " CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H ".into(),
                ..advisory(accounts(&[&account]), "labelled")
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(labelled.tlp(), Tlp::AmberStrict);
        assert_eq!(
            labelled.cvss_scores,
            [pb::CvssScore {
                cve_id: String::new(),
                vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
                base_score: 8.1,
            }]
        );
        let read = publisher
            .get_advisory(pb::GetAdvisoryRequest {
                advisory_id: labelled.advisory_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!((read.tlp(), read.cvss_scores.len()), (Tlp::AmberStrict, 1));
        // No label: the configured default.
        let plain = publisher
            .publish_advisory(advisory(accounts(&[&account]), "plain"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(plain.tlp(), Tlp::Green);
        assert!(plain.cvss_scores.is_empty());
        // The exports carry the CSAF 2.0 labels.
        for (advisory, label) in [(&labelled, "RED"), (&plain, "GREEN")] {
            let document = publisher
                .get_advisory_csaf(pb::GetAdvisoryCsafRequest {
                    advisory_id: advisory.advisory_id.clone(),
                })
                .await
                .unwrap()
                .into_inner()
                .document;
            let document: Value = serde_json::from_slice(&document).unwrap();
            assert_eq!(
                document["document"]["distribution"]["tlp"]["label"],
                json!(label)
            );
        }

        let bad = publisher
            .publish_advisory(pb::PublishAdvisoryRequest {
                tlp: 42,
                cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H".into(),
                ..advisory(accounts(&[&account]), "")
            })
            .await
            .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);
        let mut fields: Vec<String> = violations_of(&bad).into_iter().map(|v| v.field).collect();
        fields.sort();
        assert_eq!(fields, ["cvss_vector", "tlp"]);

        settle(
            &mut publisher,
            &labelled.advisory_id,
            Duration::from_secs(30),
        )
        .await;
        let mail = final_advisory_mail(&mut publisher, &sink, &labelled.advisory_id, 1).await;
        let (text, html) = parts(&mail[0]);
        let html = html.replace("&#x2f;", "/");
        for part in [&text, &html] {
            assert!(
                part.contains("CVSS: 8.1 (CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H)"),
                "{part}"
            );
        }
        assert!(
            !text.contains(" for CVE"),
            "one score for the whole advisory"
        );
    }
);
