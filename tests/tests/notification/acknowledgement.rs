//! Acknowledgement (N9): each advisory mail carries its recipient's token; one contact acknowledging marks the
//! account acknowledged, and the accounts nobody acknowledged are listed with their contacts.

use std::time::Duration;

use portal_proto::{
    identity::{Permission, Role},
    notification::{self as pb, DeliveryState},
};
use portal_testkit::{
    assert::{assert_status, violated_fields},
    smtp::{Received, SmtpSink},
    storage_test,
};
use tonic::Code;

use super::{accounts, advisory, app_with_mail, deliveries, final_advisory_mail, settle};

/// The acknowledgement token in the mail to `to` of delivery `delivery_id`.
fn token_in(mail: &[Received], to: &str, delivery_id: &str) -> String {
    let body = mail
        .iter()
        .find(|m| m.to == [to])
        .unwrap()
        .data
        .replace("=\r\n", "");
    let start = body
        .find(&format!("{delivery_id}."))
        .expect("the mail carries its token");
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect()
}

storage_test!(
    n9_an_acknowledgement_from_one_contact_marks_the_account_acknowledged,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let security = [Permission::SecurityPointOfContact];
        let (a, _, _) = app.account_with_admin("Alpha").await;
        app.new_user(&a, "sec1@alpha.example", Role::DownloadOnly, &security)
            .await;
        app.new_user(&a, "sec2@alpha.example", Role::DownloadOnly, &security)
            .await;
        let (b, _, _) = app.account_with_admin("Beta").await;
        app.new_user(&b, "sec@beta.example", Role::DownloadOnly, &security)
            .await;
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let published = publisher
            .publish_advisory(advisory(accounts(&[&a, &b]), ""))
            .await
            .unwrap()
            .into_inner();
        let id = published.advisory_id.clone();
        settle(&mut publisher, &id, Duration::from_secs(60)).await;
        let mail = final_advisory_mail(&mut publisher, &sink, &id, 3).await;
        let ledger = deliveries(&mut publisher, &id, DeliveryState::Sent).await;
        let sec1 = ledger
            .iter()
            .find(|d| d.email == "sec1@alpha.example")
            .unwrap();
        let token = token_in(&mail, "sec1@alpha.example", &sec1.delivery_id);
        let front_end = app.service_token("portal-web", "internal");
        let mut web = app.notification(&front_end).await;

        let first = web
            .acknowledge_advisory(pb::AcknowledgeAdvisoryRequest {
                token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let again = web
            .acknowledge_advisory(pb::AcknowledgeAdvisoryRequest {
                token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();

        assert_eq!(
            (
                first.advisory_id.as_str(),
                first.account_id.as_str(),
                first.email.as_str()
            ),
            (id.as_str(), a.as_str(), "sec1@alpha.example")
        );
        assert_eq!(first, again, "idempotent: the first acknowledgement stands");
        let stats = publisher
            .get_advisory(pb::GetAdvisoryRequest {
                advisory_id: id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .stats
            .unwrap();
        assert_eq!(stats.acknowledged_account_ids, vec![a.clone()]);
        let open = publisher
            .list_unacknowledged_accounts(pb::ListUnacknowledgedAccountsRequest {
                advisory_id: id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(open.accounts.len(), 1, "{open:?}");
        assert_eq!(open.accounts[0].account_id, b);
        let contacts: Vec<_> = open.accounts[0]
            .contacts
            .iter()
            .map(|d| d.email.as_str())
            .collect();
        assert_eq!(contacts, ["sec@beta.example"]);
        let report = publisher
            .get_advisory_report(pb::GetAdvisoryReportRequest {
                advisory_id: id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let acknowledged: Vec<_> = report
            .accounts
            .iter()
            .map(|l| (l.account_id == a, l.acknowledged))
            .collect();
        assert!(
            acknowledged.iter().all(|(is_a, ack)| is_a == ack) && acknowledged.len() == 2,
            "{report:?}"
        );

        let forged = web
            .acknowledge_advisory(pb::AcknowledgeAdvisoryRequest {
                token: token.replacen(&sec1.delivery_id, "dlv-0", 1),
            })
            .await
            .unwrap_err();
        assert_eq!(forged.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&forged), ["token"]);
        let mut stranger = app
            .notification(&app.service_token("billing", "billing.payments"))
            .await;
        assert_status(
            stranger
                .acknowledge_advisory(pb::AcknowledgeAdvisoryRequest { token })
                .await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );
    }
);

storage_test!(
    n9_a_reminder_reaches_only_unacknowledged_accounts,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let security = [Permission::SecurityPointOfContact];
        let (a, _, _) = app.account_with_admin("Alpha").await;
        app.new_user(&a, "sec@alpha.example", Role::DownloadOnly, &security)
            .await;
        let (b, _, _) = app.account_with_admin("Beta").await;
        app.new_user(&b, "sec1@beta.example", Role::DownloadOnly, &security)
            .await;
        app.new_user(&b, "sec2@beta.example", Role::DownloadOnly, &security)
            .await;
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let published = publisher
            .publish_advisory(advisory(accounts(&[&a, &b]), ""))
            .await
            .unwrap()
            .into_inner();
        let id = published.advisory_id.clone();
        settle(&mut publisher, &id, Duration::from_secs(60)).await;
        let mail = final_advisory_mail(&mut publisher, &sink, &id, 3).await;
        let sent = deliveries(&mut publisher, &id, DeliveryState::Sent).await;
        let alpha = sent.iter().find(|d| d.account_id == a).unwrap();
        let token = token_in(&mail, "sec@alpha.example", &alpha.delivery_id);
        let mut web = app
            .notification(&app.service_token("portal-web", "internal"))
            .await;
        web.acknowledge_advisory(pb::AcknowledgeAdvisoryRequest { token })
            .await
            .unwrap();

        let remind = pb::RemindAdvisoryRequest {
            advisory_id: id.clone(),
            request_id: "remind-1".into(),
        };
        let first = publisher
            .remind_advisory(remind.clone())
            .await
            .unwrap()
            .into_inner();
        let replay = publisher
            .remind_advisory(remind)
            .await
            .unwrap()
            .into_inner();

        assert_eq!((first.reminder, first.queued), (1, 2));
        assert_eq!(first, replay, "idempotent on the request id");
        let mail = final_advisory_mail(&mut publisher, &sink, &id, 5).await;
        let mut reminded: Vec<_> = mail
            .iter()
            .filter(|m| {
                m.header("Subject")
                    .is_some_and(|s| s.starts_with("Reminder:"))
            })
            .flat_map(|m| m.to.clone())
            .collect();
        reminded.sort();
        assert_eq!(reminded, ["sec1@beta.example", "sec2@beta.example"]);
        let ledger = deliveries(&mut publisher, &id, DeliveryState::Unspecified).await;
        let reminders: Vec<_> = ledger.iter().filter(|d| d.reminder == 1).collect();
        assert_eq!(reminders.len(), 2);
        assert!(reminders.iter().all(|d| d.account_id == b));
        let mut message_ids: Vec<_> = ledger.iter().map(|d| d.message_id.clone()).collect();
        message_ids.sort();
        message_ids.dedup();
        assert_eq!(message_ids.len(), 5, "each reminder its own Message-ID");
        let report = publisher
            .get_advisory_report(pb::GetAdvisoryReportRequest {
                advisory_id: id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let beta = report.accounts.iter().find(|l| l.account_id == b).unwrap();
        assert_eq!(
            (beta.coverage(), beta.acknowledged),
            (pb::Coverage::Reached, false)
        );
        let mut stranger = app
            .notification(&app.service_token("portal-web", "internal"))
            .await;
        assert_status(
            stranger
                .remind_advisory(pb::RemindAdvisoryRequest {
                    advisory_id: id.clone(),
                    request_id: "remind-2".into(),
                })
                .await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );
    }
);
