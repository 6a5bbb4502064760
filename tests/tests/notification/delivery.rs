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

/// How long the SMTP server refuses in the outage test (issue 14: 30 s).
const SMTP_OUTAGE: Duration = Duration::from_secs(30);

storage_test!(
    n3_smtp_refusing_for_30_s_mid_fan_out_then_back_delivers_everything_once,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let url = sink.url();
        // Backoff capped at 2 s and attempts enough to outlast the outage many times over.
        let app = TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
            fast_mail(s, &url);
            s.smtp.retry_first_ms = 200;
            s.smtp.retry_max_ms = 2_000;
            s.smtp.max_attempts = 100;
        })
        .await;
        let mut ids = Vec::new();
        let mut expected = std::collections::BTreeSet::new();
        for a in 0..4 {
            let (account, _, _) = app.account_with_admin(&format!("Out{a}")).await;
            for u in 0..25 {
                let email = format!("sec{u}@out{a}.example");
                app.new_user(
                    &account,
                    &email,
                    Role::DownloadOnly,
                    &[Permission::SecurityPointOfContact],
                )
                .await;
                expected.insert(email);
            }
            ids.push(account);
        }
        // Slow enough that the outage cuts the fan-out in the middle.
        sink.delay(Duration::from_millis(100));
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
        let advisory_id = published.advisory_id.clone();
        let ours = |sink: &SmtpSink| {
            sink.received()
                .into_iter()
                .filter(|m| {
                    m.header("Subject")
                        .is_some_and(|s| s.contains(&advisory_id))
                })
                .count()
        };
        wait::until(
            "the fan-out to be under way",
            Duration::from_secs(60),
            async || match ours(&sink) {
                n if n >= 10 => Ok(()),
                n => Err(n),
            },
        )
        .await;
        let started = std::time::Instant::now();
        sink.down();
        let before = ours(&sink);
        wait::until(
            "deliveries to fail against the refusing server",
            Duration::from_secs(20),
            async || {
                let failed = deliveries(&mut publisher, &advisory_id, DeliveryState::Failed).await;
                if failed.iter().any(|d| d.attempts >= 2) {
                    Ok(())
                } else {
                    Err(failed.len())
                }
            },
        )
        .await;
        // The outage lasts its full length: this is the fault being injected, not a wait for an outcome.
        tokio::time::sleep(SMTP_OUTAGE.saturating_sub(started.elapsed())).await;
        assert_eq!(
            ours(&sink),
            before,
            "nothing is accepted while the server refuses"
        );
        sink.delay(Duration::ZERO);
        sink.up().await;
        let stats = settle(&mut publisher, &advisory_id, Duration::from_secs(120)).await;
        assert_eq!((stats.sent, stats.dead), (100, 0));
        let mail = final_advisory_mail(&mut publisher, &sink, &advisory_id, 100).await;
        let mut ids_by_recipient: std::collections::BTreeMap<String, Vec<String>> =
            Default::default();
        for m in &mail {
            ids_by_recipient
                .entry(m.to[0].clone())
                .or_default()
                .push(m.header("Message-ID").unwrap());
        }
        assert_eq!(
            ids_by_recipient
                .keys()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>(),
            expected,
            "everybody got it"
        );
        assert!(
            ids_by_recipient.values().all(|ids| ids.len() == 1),
            "exactly one mail, one Message-ID, per recipient: {ids_by_recipient:?}"
        );
        let most_attempts = deliveries(&mut publisher, &advisory_id, DeliveryState::Sent)
            .await
            .iter()
            .map(|d| d.attempts)
            .max()
            .unwrap_or_default();
        println!(
            "smtp outage: {} recipients, {before} delivered before the {}s outage, the rest after; 0 lost, \
             0 duplicates; up to {most_attempts} attempts; {:.1}s from outage to settled",
            expected.len(),
            SMTP_OUTAGE.as_secs(),
            started.elapsed().as_secs_f64()
        );
    }
);
