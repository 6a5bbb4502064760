//! NotificationService end to end (N1–N6) against a real SMTP listener, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::{collections::HashMap, time::Duration};

use portal_proto::{
    common::{KeyFamily, LicenseType, Product},
    identity::{Permission, Role},
    licensing as lic,
    notification::{self as pb, AdvisoryKind, DeliveryState, NoticeKind, Severity},
};
use portal_runtime::{
    error::{reason_of, violations_of},
    time::to_proto,
};
use portal_testkit::{Backend, ServiceKind, TestApp, smtp::SmtpSink, storage_test};
use tokio_stream::StreamExt;
use tonic::Code;

async fn app_with_mail(backend: Backend, sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    TestApp::spawn_with(backend, &ServiceKind::ALL, |s| fast_mail(s, &url)).await
}

fn fast_mail(s: &mut portal_runtime::Settings, url: &str) {
    s.smtp.url = Some(url.to_string().into());
    s.smtp.retry_first_ms = 100;
    s.smtp.retry_max_ms = 400;
    s.smtp.poll_ms = 50;
    s.smtp.max_attempts = 50;
}

fn advisory(
    target: pb::publish_advisory_request::Target,
    request_id: &str,
) -> pb::PublishAdvisoryRequest {
    pb::PublishAdvisoryRequest {
        kind: AdvisoryKind::Security as i32,
        severity: Severity::Critical as i32,
        title: "Remote code execution in the server gateway".into(),
        summary: "A crafted request can execute code.".into(),
        impact: "Full compromise of the server.".into(),
        affected_products: vec![pb::AffectedProduct {
            product: Product::Server as i32,
            versions: vec!["2026.1".into()],
            fixed_versions: vec!["2026.1.4".into()],
        }],
        conditions: "The gateway is reachable from untrusted networks.".into(),
        resolution: "Upgrade to 2026.1.4.".into(),
        cve_ids: vec!["CVE-2026-40001".into()],
        target: Some(target),
        request_id: request_id.into(),
    }
}

fn accounts(ids: &[&str]) -> pb::publish_advisory_request::Target {
    pb::publish_advisory_request::Target::AccountIds(pb::AccountList {
        account_ids: ids.iter().map(|s| s.to_string()).collect(),
    })
}

/// Follows WatchAdvisory until it ends; returns the last stats.
async fn settle(
    client: &mut portal_testkit::clients::Notification,
    advisory_id: &str,
    timeout: Duration,
) -> pb::AdvisoryStats {
    let watch = async {
        let mut stream = client
            .watch_advisory(pb::WatchAdvisoryRequest {
                advisory_id: advisory_id.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut last = None;
        while let Some(stats) = stream.next().await {
            last = Some(stats.unwrap());
        }
        last.unwrap()
    };
    tokio::time::timeout(timeout, watch)
        .await
        .expect("the advisory settles in time")
}

/// The mail of one advisory (notices such as "you were added" go to the same server).
async fn advisory_mail(
    sink: &SmtpSink,
    advisory_id: &str,
    n: usize,
) -> Vec<portal_testkit::smtp::Received> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let mail: Vec<_> = sink
            .received()
            .into_iter()
            .filter(|m| m.header("Subject").is_some_and(|s| s.contains(advisory_id)))
            .collect();
        if mail.len() >= n || tokio::time::Instant::now() > deadline {
            return mail;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn deliveries(
    client: &mut portal_testkit::clients::Notification,
    advisory_id: &str,
    state: DeliveryState,
) -> Vec<pb::Delivery> {
    let (mut all, mut token) = (Vec::new(), String::new());
    loop {
        let page = client
            .list_deliveries(pb::ListDeliveriesRequest {
                advisory_id: advisory_id.into(),
                state: state as i32,
                page_size: 500,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.deliveries);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

storage_test!(
    n1_n2_n5_security_contacts_get_one_multipart_mail_and_fallback_is_reported,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let (alpha, _, _) = app.account_with_admin("Alpha").await;
        app.new_user(
            &alpha,
            "sec1@alpha.example",
            Role::DownloadOnly,
            &[Permission::SecurityPointOfContact],
        )
        .await;
        app.new_user(
            &alpha,
            "sec2@alpha.example",
            Role::Administrator,
            &[Permission::SecurityPointOfContact],
        )
        .await;
        app.new_user(
            &alpha,
            "tech@alpha.example",
            Role::DownloadOnly,
            &[Permission::TechnicalPointOfContact],
        )
        .await;
        let (bravo, bravo_admin, _) = app.account_with_admin("Bravo").await;
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let published = publisher
            .publish_advisory(advisory(accounts(&[&alpha, &bravo]), "adv-1"))
            .await
            .unwrap()
            .into_inner();
        assert!(
            published.advisory_id.starts_with("ADV-2026-")
                || published.advisory_id.starts_with("ADV-20"),
            "{}",
            published.advisory_id
        );
        assert_eq!(published.advisory_id.len(), "ADV-2026-001".len());
        let again = publisher
            .publish_advisory(advisory(accounts(&[&alpha, &bravo]), "adv-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            again.advisory_id, published.advisory_id,
            "idempotent on request_id"
        );

        let stats = settle(
            &mut publisher,
            &published.advisory_id,
            Duration::from_secs(30),
        )
        .await;
        assert!(stats.settled);
        assert_eq!(
            (
                stats.sent,
                stats.pending,
                stats.failed,
                stats.dead,
                stats.accounts_targeted
            ),
            (3, 0, 0, 0, 2)
        );
        assert_eq!(stats.fallback_account_ids, vec![bravo.clone()]);
        assert_eq!(stats.fallback_account_names, vec!["Bravo".to_string()]);

        let mail = advisory_mail(&sink, &published.advisory_id, 3).await;
        let mut recipients: Vec<String> = mail.iter().flat_map(|m| m.to.clone()).collect();
        recipients.sort();
        let mut expected = vec![
            "sec1@alpha.example".to_string(),
            "sec2@alpha.example".to_string(),
            bravo_admin.email.clone(),
        ];
        expected.sort();
        assert_eq!(
            recipients, expected,
            "exactly the security contacts, and the fallback administrator"
        );
        let first = &mail[0];
        let subject = first.header("Subject").unwrap();
        assert!(
            subject.contains("CRITICAL") && subject.contains(&published.advisory_id),
            "{subject}"
        );
        assert!(
            first
                .header("Content-Type")
                .unwrap()
                .starts_with("multipart/alternative")
        );
        assert!(first.data.contains("text/plain") && first.data.contains("text/html"));
        assert!(first.data.contains("CVE-2026-40001") && first.data.contains("2026.1.4"));

        // Every ledger row names the Message-ID its mail carried.
        let ledger = deliveries(
            &mut publisher,
            &published.advisory_id,
            DeliveryState::Unspecified,
        )
        .await;
        let by_email: HashMap<String, String> = ledger
            .iter()
            .map(|d| (d.email.clone(), d.message_id.clone()))
            .collect();
        for m in &mail {
            assert_eq!(
                by_email.get(&m.to[0]),
                m.header("Message-ID").as_ref(),
                "{}",
                m.to[0]
            );
        }
        assert!(
            ledger
                .iter()
                .filter(|d| d.account_id == bravo)
                .all(|d| d.fallback)
        );
    }
);

storage_test!(
    n1_product_targets_reach_accounts_holding_the_product,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let (server_account, server_admin, _) = app.account_with_admin("Servers").await;
        let (desktop_account, _, _) = app.account_with_admin("Desktops").await;
        let mut issuer = app
            .licensing(&app.service_token("issuer", "licensing.issue"))
            .await;
        for (account, family) in [
            (&server_account, KeyFamily::Ts),
            (&desktop_account, KeyFamily::Td),
        ] {
            issuer
                .issue_keys(lic::IssueKeysRequest {
                    account_id: account.clone(),
                    family: family as i32,
                    seats: 1,
                    license_type: LicenseType::Term as i32,
                    period_end: Some(to_proto(chrono::Utc::now() + chrono::Duration::days(30))),
                    maintenance_end: Some(to_proto(
                        chrono::Utc::now() + chrono::Duration::days(30),
                    )),
                    count: 1,
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let target = pb::publish_advisory_request::Target::Products(pb::ProductList {
            products: vec![Product::Server as i32],
        });
        let published = publisher
            .publish_advisory(advisory(target, ""))
            .await
            .unwrap()
            .into_inner();
        let stats = settle(
            &mut publisher,
            &published.advisory_id,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!((stats.sent, stats.accounts_targeted), (1, 1));
        let mail = advisory_mail(&sink, &published.advisory_id, 1).await;
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].to, vec![server_admin.email.clone()]);
    }
);

storage_test!(
    n3_an_smtp_outage_delays_but_loses_nothing,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let (a, _, _) = app.account_with_admin("Alpha").await;
        for i in 0..5 {
            app.new_user(
                &a,
                &format!("sec{i}@alpha.example"),
                Role::DownloadOnly,
                &[Permission::SecurityPointOfContact],
            )
            .await;
        }
        sink.down();
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let published = publisher
            .publish_advisory(advisory(accounts(&[&a]), ""))
            .await
            .unwrap()
            .into_inner();
        // Attempts fail and back off while the server refuses connections.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let failed = deliveries(
                &mut publisher,
                &published.advisory_id,
                DeliveryState::Failed,
            )
            .await;
            if failed.len() == 5
                && failed
                    .iter()
                    .all(|d| d.attempts >= 2 && !d.last_error.is_empty())
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "deliveries should be retrying: {failed:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sink.up().await;
        let stats = settle(
            &mut publisher,
            &published.advisory_id,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!((stats.sent, stats.failed, stats.dead), (5, 0, 0));
        let sent = deliveries(&mut publisher, &published.advisory_id, DeliveryState::Sent).await;
        assert!(
            sent.iter().all(|d| d.attempts >= 3),
            "attempts are visible: {:?}",
            sent.iter().map(|d| d.attempts).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mail = advisory_mail(&sink, &published.advisory_id, 5).await;
        assert_eq!(mail.len(), 5, "exactly once each");
    }
);

storage_test!(
    n3_permanent_failures_go_dead_and_can_be_retried_by_hand,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let (a, _, _) = app.account_with_admin("Alpha").await;
        app.new_user(
            &a,
            "ok@alpha.example",
            Role::DownloadOnly,
            &[Permission::SecurityPointOfContact],
        )
        .await;
        app.new_user(
            &a,
            "gone@alpha.example",
            Role::DownloadOnly,
            &[Permission::SecurityPointOfContact],
        )
        .await;
        sink.reject("gone@alpha.example", true);
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let published = publisher
            .publish_advisory(advisory(accounts(&[&a]), ""))
            .await
            .unwrap()
            .into_inner();
        let stats = settle(
            &mut publisher,
            &published.advisory_id,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!((stats.sent, stats.dead), (1, 1));
        let dead = deliveries(&mut publisher, &published.advisory_id, DeliveryState::Dead).await;
        assert_eq!(
            (dead[0].email.as_str(), dead[0].attempts),
            ("gone@alpha.example", 1),
            "5xx is permanent: no retries"
        );
        assert!(dead[0].last_error.contains("550"), "{}", dead[0].last_error);
        sink.reject("gone@alpha.example", false);
        let requeued = publisher
            .retry_deliveries(pb::RetryDeliveriesRequest {
                advisory_id: published.advisory_id.clone(),
                delivery_ids: vec![],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(requeued.requeued, 1);
        let stats = settle(
            &mut publisher,
            &published.advisory_id,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!((stats.sent, stats.dead), (2, 0));
    }
);

storage_test!(
    n6_notices_go_through_the_same_ledger,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let mut internal = app
            .notification(&app.service_token("licensing", "internal"))
            .await;
        let request = pb::SendNoticeRequest {
            kind: NoticeKind::ActivationReportReady as i32,
            account_id: "acc-1".into(),
            email: "admin@acme.example".into(),
            display_name: "Ada Admin".into(),
            fields: [("report_id".to_string(), "rpt-9".to_string())]
                .into_iter()
                .collect(),
            request_id: "notice-1".into(),
            attachments: vec![pb::Attachment {
                filename: "activations.csv".into(),
                content_type: "text/csv".into(),
                content: b"key,product\nAB12,DESKTOP\n".to_vec(),
            }],
        };
        let first = internal
            .send_notice(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            internal
                .send_notice(request)
                .await
                .unwrap()
                .into_inner()
                .delivery_id,
            first.delivery_id,
            "idempotent"
        );
        let mail = sink.wait_for(1, Duration::from_secs(15)).await;
        assert_eq!(mail[0].to, vec!["admin@acme.example"]);
        assert!(mail[0].data.contains("activations.csv") && mail[0].data.contains("rpt-9"));
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        assert_eq!(
            publisher
                .send_notice(pb::SendNoticeRequest {
                    kind: 1,
                    ..Default::default()
                })
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sink.count(), 1, "sent once");
    }
);

storage_test!(
    publishing_refuses_bad_input_and_unauthorized_callers,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let bad = pb::PublishAdvisoryRequest {
            kind: 0,
            severity: 9,
            title: "two\nlines".into(),
            summary: String::new(),
            cve_ids: vec!["CVE-1".into()],
            target: None,
            ..advisory(accounts(&["a"]), "")
        };
        let status = publisher.publish_advisory(bad).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let mut fields: Vec<String> = violations_of(&status)
            .into_iter()
            .map(|v| v.field)
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            ["cve_ids", "kind", "severity", "summary", "target", "title"]
        );
        let mut internal = app
            .notification(&app.service_token("identity", "internal"))
            .await;
        assert_eq!(
            internal
                .publish_advisory(advisory(accounts(&["a"]), ""))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        let (_, admin, _) = app.account_with_admin("Acme").await;
        let mut user = app.notification(&app.user_token(&admin.user_id)).await;
        assert_eq!(
            user.list_advisories(pb::ListAdvisoriesRequest::default())
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        let missing = publisher
            .get_advisory(pb::GetAdvisoryRequest {
                advisory_id: "ADV-1999-001".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            (missing.code(), reason_of(&missing).as_deref()),
            (Code::NotFound, Some("ADVISORY_NOT_FOUND"))
        );
        let reused = publisher
            .publish_advisory(advisory(accounts(&["a"]), "same"))
            .await
            .unwrap();
        let _ = reused;
        let other = pb::PublishAdvisoryRequest {
            title: "Other".into(),
            ..advisory(accounts(&["a"]), "same")
        };
        assert_eq!(
            reason_of(&publisher.publish_advisory(other).await.unwrap_err()).as_deref(),
            Some("REQUEST_ID_REUSED")
        );
        let listed = publisher
            .list_advisories(pb::ListAdvisoriesRequest::default())
            .await
            .unwrap()
            .into_inner()
            .advisories;
        assert_eq!(listed.len(), 1);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n3_two_replicas_on_one_postgres_database_never_send_a_row_twice() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(Backend::Postgres, &ServiceKind::ALL, |s| {
        fast_mail(s, &url);
        s.smtp.batch_size = 10;
    })
    .await;
    let replica = app
        .spawn_sharing(&[ServiceKind::Notification], |s| {
            s.peers.identity = Some(format!("http://{}", app.address));
            s.peers.licensing = Some(format!("http://{}", app.address));
        })
        .await;
    let mut ids = Vec::new();
    for a in 0..10 {
        let (account, _, _) = app.account_with_admin(&format!("R{a}")).await;
        for u in 0..30 {
            app.new_user(
                &account,
                &format!("sec{u}@r{a}.example"),
                Role::DownloadOnly,
                &[Permission::SecurityPointOfContact],
            )
            .await;
        }
        ids.push(account);
    }
    sink.delay(Duration::from_millis(2));
    let mut publisher = app
        .notification(&app.service_token("secops", "notification.publish"))
        .await;
    let target =
        pb::publish_advisory_request::Target::AccountIds(pb::AccountList { account_ids: ids });
    let published = publisher
        .publish_advisory(advisory(target, ""))
        .await
        .unwrap()
        .into_inner();
    let stats = settle(
        &mut publisher,
        &published.advisory_id,
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(stats.sent, 300);
    let mail = advisory_mail(&sink, &published.advisory_id, 300).await;
    let mut message_ids: Vec<String> = mail
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    message_ids.sort();
    message_ids.dedup();
    assert_eq!(
        (mail.len(), message_ids.len()),
        (300, 300),
        "zero rows sent twice"
    );
    drop(replica);
}

storage_test!(
    n6_user_added_key_assigned_and_report_ready_each_send_one_mail,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let (a, admin, admin_token) = app.account_with_admin("Acme").await;
        let user = app
            .new_user(&a, "newbie@acme.example", Role::DownloadOnly, &[])
            .await;
        let mut issuer = app
            .licensing(&app.service_token("issuer", "licensing.issue"))
            .await;
        let key = issuer
            .issue_keys(lic::IssueKeysRequest {
                account_id: a.clone(),
                family: KeyFamily::Td as i32,
                seats: 1,
                license_type: LicenseType::Term as i32,
                period_end: Some(to_proto(chrono::Utc::now() + chrono::Duration::days(30))),
                maintenance_end: Some(to_proto(chrono::Utc::now() + chrono::Duration::days(30))),
                count: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .keys
            .remove(0);
        let mut licensing = app.licensing(&admin_token).await;
        licensing
            .assign_key(lic::AssignKeyRequest {
                key_id: key.key_id.clone(),
                email: user.email.clone(),
            })
            .await
            .unwrap();
        licensing
            .assign_key(lic::AssignKeyRequest {
                key_id: key.key_id.clone(),
                email: user.email.clone(),
            })
            .await
            .unwrap();
        licensing
            .request_activation_report(lic::RequestActivationReportRequest {
                account_id: a.clone(),
                request_id: String::new(),
            })
            .await
            .unwrap();

        // Two "added" mails (the admin and the user), one "assigned" (the repeat assigns nothing), one report.
        let mail = sink.wait_for(4, Duration::from_secs(20)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mail = if sink.count() > mail.len() {
            sink.received()
        } else {
            mail
        };
        let to = |m: &portal_testkit::smtp::Received| m.to[0].clone();
        let subjects: Vec<(String, String)> = mail
            .iter()
            .map(|m| (to(m), m.header("Subject").unwrap()))
            .collect();
        assert_eq!(mail.len(), 4, "{subjects:?}");
        assert!(
            subjects
                .iter()
                .any(|(t, s)| *t == user.email && s.contains("added")),
            "{subjects:?}"
        );
        assert!(
            subjects
                .iter()
                .any(|(t, s)| *t == admin.email && s.contains("added")),
            "{subjects:?}"
        );
        let last_group = &key.key[key.key.len() - 4..];
        assert!(
            subjects
                .iter()
                .any(|(t, s)| *t == user.email && s.contains(last_group)),
            "{subjects:?}"
        );
        let report = mail
            .iter()
            .find(|m| m.header("Subject").unwrap().contains("report"))
            .unwrap();
        assert_eq!(report.to, vec![admin.email.clone()]);
        assert!(report.data.contains("activation-report.csv"));
        assert!(
            !mail.iter().any(|m| m.data.contains(&key.key)),
            "the whole key is never mailed"
        );
    }
);
