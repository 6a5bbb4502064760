//! Publishing advisories (N1, N2, N5, N7): who receives them — security contacts, the Administrator standing in, the
//! accounts holding a product — the mail they get, and what publishing refuses.

use std::{collections::HashMap, time::Duration};

use portal_proto::{
    common::{KeyFamily, Product},
    identity::{Permission, Role},
    notification::{self as pb, DeliveryState},
};
use portal_runtime::error::reason_of;
use portal_testkit::{
    assert::{assert_status, violated_fields},
    smtp::SmtpSink,
    storage_test,
};
use tonic::Code;

use super::{accounts, advisory, app_with_mail, deliveries, final_advisory_mail, settle};

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

        let mail = final_advisory_mail(&mut publisher, &sink, &published.advisory_id, 3).await;
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
        app.issue_key(&server_account, KeyFamily::Ts, 1).await;
        app.issue_key(&desktop_account, KeyFamily::Td, 1).await;
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
        let mail = final_advisory_mail(&mut publisher, &sink, &published.advisory_id, 1).await;
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].to, vec![server_admin.email.clone()]);
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
        let mut fields = violated_fields(&status);
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
        assert_status(
            publisher
                .get_advisory(pb::GetAdvisoryRequest {
                    advisory_id: "ADV-1999-001".into(),
                })
                .await,
            Code::NotFound,
            "ADVISORY_NOT_FOUND",
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

storage_test!(
    n7_all_accounts_reports_the_accounts_with_nobody_to_tell,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let (alpha, alpha_admin, _) = app.account_with_admin("Alpha").await;
        let nobody = app.new_account("Nobody", false).await;
        // Users, but none designated and no Administrator to stand in: nobody to tell either.
        let bystanders = app.new_account("Bystanders", false).await;
        app.new_user(&bystanders, "viewer@by.example", Role::DownloadOnly, &[])
            .await;
        let _academic = app.new_account("Uni", true).await;
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let published = publisher
            .publish_advisory(advisory(
                pb::publish_advisory_request::Target::AllAccounts(true),
                "",
            ))
            .await
            .unwrap()
            .into_inner();
        let stats = settle(
            &mut publisher,
            &published.advisory_id,
            Duration::from_secs(30),
        )
        .await;
        let mut unreachable = stats.unreachable_account_ids.clone();
        unreachable.sort();
        let mut expected = vec![nobody.clone(), bystanders.clone()];
        expected.sort();
        assert_eq!(unreachable, expected, "{stats:?}");
        assert_eq!(
            (stats.sent, stats.accounts_targeted),
            (1, 3),
            "the academic account is not targeted"
        );
        assert_eq!(stats.fallback_account_ids, vec![alpha.clone()]);
        let mail = final_advisory_mail(&mut publisher, &sink, &published.advisory_id, 1).await;
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].to, vec![alpha_admin.email.clone()]);
    }
);
