//! Transactional notices (N6) through the same ledger: sent once per request id, with attachments, for a user
//! added, a key assigned and an activation report ready.

use std::time::Duration;

use portal_proto::{
    common::KeyFamily,
    identity::Role,
    licensing as lic,
    notification::{self as pb, NoticeKind},
};
use portal_testkit::{
    smtp::{Received, SmtpSink},
    storage_test, wait,
};
use tonic::Code;

use super::app_with_mail;

storage_test!(
    n6_notices_go_through_the_same_ledger,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let mut app = app_with_mail(backend, &sink).await;
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
                .send_notice(request.clone())
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
        // A caller cannot read a notice's ledger row, so the end is made observable: a later notice, which the
        // workers take after any row the replay could have added (the oldest due first), and then the app's stop,
        // whose drain lets them finish every send they hold. Nothing is sent after it.
        let later = pb::SendNoticeRequest {
            email: "later@acme.example".into(),
            request_id: "notice-2".into(),
            ..request
        };
        internal.send_notice(later).await.unwrap();
        wait::until("the later notice", Duration::from_secs(15), async || {
            let mail = sink.received();
            if mail.iter().any(|m| m.to == ["later@acme.example"]) {
                Ok(())
            } else {
                Err(mail.len())
            }
        })
        .await;
        app.shutdown().await;
        let to_admin = sink
            .received()
            .iter()
            .filter(|m| m.to == ["admin@acme.example"])
            .count();
        assert_eq!((to_admin, sink.count()), (1, 2), "sent once");
    }
);

storage_test!(
    n6_user_added_key_assigned_and_report_ready_each_send_one_mail,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let mut app = app_with_mail(backend, &sink).await;
        let (a, admin, admin_token) = app.account_with_admin("Acme").await;
        let user = app
            .new_user(&a, "newbie@acme.example", Role::DownloadOnly, &[])
            .await;
        let key = app.issue_key(&a, KeyFamily::Td, 1).await;
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

        // Two "added" mails (the admin and the user), one "assigned" (the repeat assigns nothing), one report. The
        // report is the last notice the test causes; once it is in with the others, stopping the app lets the
        // delivery workers finish every send they hold, so the mail counted below is all there is.
        let to = |m: &Received| m.to[0].clone();
        let subject = |m: &Received| m.header("Subject").unwrap_or_default();
        wait::until(
            "four notices, the report among them",
            Duration::from_secs(20),
            async || {
                let mail = sink.received();
                if mail.len() >= 4 && mail.iter().any(|m| subject(m).contains("report")) {
                    Ok(())
                } else {
                    Err(mail.iter().map(|m| (to(m), subject(m))).collect::<Vec<_>>())
                }
            },
        )
        .await;
        app.shutdown().await;
        let mail = sink.received();
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
