//! Delivering through the ledger (N3): an SMTP outage delays but loses nothing, permanent failures go dead and
//! can be retried by hand, and two replicas on one database never send a row twice.

use std::time::Duration;

use portal_proto::{
    identity::{Permission, Role},
    notification::{self as pb, DeliveryState},
};
use portal_testkit::{Backend, ServiceKind, TestApp, smtp::SmtpSink, storage_test, wait};

use super::{
    accounts, advisory, app_with_mail, deliveries, fast_mail, final_advisory_mail, settle,
};

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
        wait::until(
            "every delivery to have failed at least twice",
            Duration::from_secs(20),
            async || {
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
                    Ok(())
                } else {
                    Err(failed)
                }
            },
        )
        .await;
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
        let mail = final_advisory_mail(&mut publisher, &sink, &published.advisory_id, 5).await;
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
        // A bounded list: the probe's 33,000 ids were INTERNAL ("too many SQL variables").
        let too_many = publisher
            .retry_deliveries(pb::RetryDeliveriesRequest {
                advisory_id: published.advisory_id.clone(),
                delivery_ids: (0..33_000).map(|i| format!("dlv-{i}")).collect(),
            })
            .await
            .unwrap_err();
        assert_eq!(too_many.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            portal_testkit::assert::violated_fields(&too_many),
            ["delivery_ids"]
        );
        let stats = settle(
            &mut publisher,
            &published.advisory_id,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!((stats.sent, stats.dead), (2, 0));
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
    let mail = final_advisory_mail(&mut publisher, &sink, &published.advisory_id, 300).await;
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
