//! Escalation (N8): an account whose every designated contact bounces gets the advisory through its
//! Administrators, once; when they bounce too, or when they already were the recipients, it is unreachable.

use std::time::Duration;

use portal_proto::{
    identity::{Permission, Role},
    notification::DeliveryState,
};
use portal_testkit::{smtp::SmtpSink, storage_test};

use super::{accounts, advisory, app_with_mail, deliveries, final_advisory_mail, settle};

storage_test!(
    n8_a_hard_bounce_of_every_security_contact_escalates_to_the_administrators_once,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let (a, _, _) = app.account_with_admin("Alpha").await;
        app.new_user(&a, "admin2@alpha.example", Role::Administrator, &[])
            .await;
        for contact in ["sec1@alpha.example", "sec2@alpha.example"] {
            app.new_user(
                &a,
                contact,
                Role::DownloadOnly,
                &[Permission::SecurityPointOfContact],
            )
            .await;
            sink.reject(contact, true);
        }
        let (b, _, _) = app.account_with_admin("Beta").await;
        app.new_user(
            &b,
            "sec@beta.example",
            Role::DownloadOnly,
            &[Permission::SecurityPointOfContact],
        )
        .await;
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let published = publisher
            .publish_advisory(advisory(accounts(&[&a, &b]), ""))
            .await
            .unwrap()
            .into_inner();
        let id = &published.advisory_id;

        let stats = settle(&mut publisher, id, Duration::from_secs(60)).await;

        assert_eq!(stats.escalated_account_ids, vec![a.clone()]);
        assert!(stats.unreachable_account_ids.is_empty(), "{stats:?}");
        assert_eq!((stats.sent, stats.dead), (3, 2), "{stats:?}");
        let ledger = deliveries(&mut publisher, id, DeliveryState::Unspecified).await;
        let mut escalated: Vec<_> = ledger
            .iter()
            .filter(|d| d.escalation)
            .map(|d| (d.email.as_str(), d.state(), d.account_id.as_str()))
            .collect();
        escalated.sort();
        assert_eq!(
            escalated,
            [
                ("admin2@alpha.example", DeliveryState::Sent, a.as_str()),
                ("admin@alpha.example", DeliveryState::Sent, a.as_str()),
            ],
            "only Alpha's Administrators, marked as escalation"
        );
        let mut message_ids: Vec<_> = ledger.iter().map(|d| d.message_id.clone()).collect();
        message_ids.sort();
        message_ids.dedup();
        assert_eq!(message_ids.len(), ledger.len(), "each its own Message-ID");
        let mail = final_advisory_mail(&mut publisher, &sink, id, 3).await;
        let to_admins: Vec<_> = mail
            .iter()
            .filter(|m| m.to.iter().any(|t| t.ends_with("@alpha.example")))
            .collect();
        assert_eq!(to_admins.len(), 2, "each Administrator once");
        assert!(
            to_admins.iter().all(|m| m
                .data
                .replace("=\r\n", "")
                .contains("could not be delivered")),
            "the mail says why it came"
        );
        assert!(
            !mail
                .iter()
                .any(|m| m.to.iter().any(|t| t == "admin@beta.example")),
            "Beta was reached: nothing to escalate"
        );
    }
);

storage_test!(
    n8_when_the_escalation_bounces_too_the_account_is_unreachable,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let (a, _, _) = app.account_with_admin("Alpha").await;
        app.new_user(
            &a,
            "sec@alpha.example",
            Role::DownloadOnly,
            &[Permission::SecurityPointOfContact],
        )
        .await;
        // Gamma has no Security contact: its Administrator stands in (N2), and there is nobody else after him.
        let (g, _, _) = app.account_with_admin("Gamma").await;
        for address in [
            "sec@alpha.example",
            "admin@alpha.example",
            "admin@gamma.example",
        ] {
            sink.reject(address, true);
        }
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let published = publisher
            .publish_advisory(advisory(accounts(&[&a, &g]), ""))
            .await
            .unwrap()
            .into_inner();
        let id = &published.advisory_id;

        let stats = settle(&mut publisher, id, Duration::from_secs(60)).await;

        assert_eq!(stats.escalated_account_ids, vec![a.clone()]);
        let mut unreachable = stats.unreachable_account_ids.clone();
        unreachable.sort();
        let mut expected = vec![a.clone(), g.clone()];
        expected.sort();
        assert_eq!(unreachable, expected, "{stats:?}");
        assert_eq!((stats.sent, stats.dead), (0, 3), "{stats:?}");
        let ledger = deliveries(&mut publisher, id, DeliveryState::Unspecified).await;
        let escalated: Vec<_> = ledger
            .iter()
            .filter(|d| d.escalation)
            .map(|d| (d.email.as_str(), d.state()))
            .collect();
        assert_eq!(
            escalated,
            [("admin@alpha.example", DeliveryState::Dead)],
            "Gamma's Administrator was its recipient already: no escalation"
        );
    }
);
