//! What comes back (N13, N14): mail leaves signed, marked automatic and with a return path of its own; a
//! relay's DSN that arrives later makes the delivery `DEAD` and escalates (N8); reports in other common shapes,
//! complaints, auto-replies, duplicates and forgeries do what N14 says; the listener is no relay.

use std::{net::SocketAddr, time::Duration};

use portal_proto::{
    identity::{Permission, Role},
    notification::{self as pb, Coverage, DeliveryState},
};
use portal_testkit::{
    Backend, ServiceKind, TestApp,
    clients::Notification,
    dkim,
    postfix::Postfix,
    smtp::{Received, SmtpSink, client},
    storage_test, wait,
};

use super::{accounts, advisory, deliveries, fast_mail};

const BOUNCES: &str = "bounces.portal.example.test";

/// The suite mailing to `smtp_url`, its return paths at [`BOUNCES`], taking reports on `inbound`.
async fn app_with_reports(backend: Backend, smtp_url: &str, inbound: SocketAddr) -> TestApp {
    TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
        fast_mail(s, smtp_url);
        s.smtp.from = "Security Advisories <noreply@portal.example.test>".into();
        s.smtp.bounce_domain = Some(BOUNCES.into());
        s.smtp.inbound.listen = Some(inbound);
    })
    .await
}

/// An address on the loopback nobody listens on yet (the listener must be named before the relay that
/// forwards to it starts).
fn free_address() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap()
}

/// One security contact per address in `contacts`, each in an account of its own; returns the account ids.
async fn accounts_with_contacts(app: &TestApp, contacts: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, contact) in contacts.iter().enumerate() {
        let (account, _, _) = app.account_with_admin(&format!("Customer{i}")).await;
        app.new_user(
            &account,
            contact,
            Role::DownloadOnly,
            &[Permission::SecurityPointOfContact],
        )
        .await;
        ids.push(account);
    }
    ids
}

/// Publishes an advisory to one account per contact in `contacts` and waits until the relay took every mail
/// (SENT); returns the publisher's client, the advisory id and the account ids.
async fn published_to(app: &TestApp, contacts: &[&str]) -> (Notification, String, Vec<String>) {
    let account_ids = accounts_with_contacts(app, contacts).await;
    let ids: Vec<&str> = account_ids.iter().map(String::as_str).collect();
    let mut publisher = app
        .notification(&app.service_token("secops", "notification.publish"))
        .await;
    let id = publisher
        .publish_advisory(advisory(accounts(&ids), ""))
        .await
        .unwrap()
        .into_inner()
        .advisory_id;
    for contact in contacts {
        delivery_in(
            &mut publisher,
            &id,
            contact,
            DeliveryState::Sent,
            Duration::from_secs(30),
        )
        .await;
    }
    (publisher, id, account_ids)
}

/// The delivery to `email` in `ledger`.
fn delivery<'a>(ledger: &'a [pb::Delivery], email: &str) -> &'a pb::Delivery {
    ledger
        .iter()
        .find(|d| d.email == email && !d.escalation)
        .unwrap_or_else(|| panic!("no delivery to {email} in {ledger:?}"))
}

/// Waits until the delivery to `email` is in `state`; returns it.
async fn delivery_in(
    client: &mut Notification,
    advisory_id: &str,
    email: &str,
    state: DeliveryState,
    timeout: Duration,
) -> pb::Delivery {
    wait::until(
        &format!("the delivery to {email} {state:?}"),
        timeout,
        async || {
            let ledger = deliveries(&mut *client, advisory_id, DeliveryState::Unspecified).await;
            match ledger.iter().find(|d| d.email == email && !d.escalation) {
                Some(d) if d.state() == state => Ok(d.clone()),
                found => Err(found.cloned()),
            }
        },
    )
    .await
}

/// The advisory mail the sink received for `email` (its envelope sender is the delivery's return path).
async fn mail_to(sink: &SmtpSink, advisory_id: &str, email: &str) -> Received {
    wait::until(
        &format!("the advisory mail to {email}"),
        Duration::from_secs(30),
        async || {
            sink.received()
                .into_iter()
                .find(|m| {
                    m.to.iter().any(|t| t == email)
                        && m.header("Subject").is_some_and(|s| s.contains(advisory_id))
                })
                .ok_or(sink.count())
        },
    )
    .await
}

/// A fixture of `tests/fixtures/mail` as a report about the mail `original` to `rcpt`.
fn report(name: &str, original: &Received, rcpt: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/mail/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let message_id = original
        .header("Message-ID")
        .unwrap_or_default()
        .trim_matches(['<', '>'])
        .to_string();
    text.replace("{{VERP}}", &original.from)
        .replace("{{RCPT}}", rcpt)
        .replace("{{OTHER}}", "someone.else@elsewhere.example")
        .replace("{{MESSAGE_ID}}", &message_id)
        .into_bytes()
}

async fn coverage(client: &mut Notification, advisory_id: &str) -> Vec<pb::AccountCoverage> {
    client
        .get_advisory_report(pb::GetAdvisoryReportRequest {
            advisory_id: advisory_id.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .accounts
}

storage_test!(
    n14_a_relays_dsn_kills_a_sent_delivery_and_escalates_to_the_administrators_once,
    |backend| async move {
        assert!(
            Postfix::available(),
            "Postfix is not installed: run scripts/prepare.sh (Debian package postfix)"
        );
        let sink = SmtpSink::start().await;
        let inbound = free_address();
        let relay = Postfix::start(sink.address(), BOUNCES, inbound)
            .await
            .unwrap_or_else(|e| panic!("starting Postfix: {e}"));
        let app = app_with_reports(backend, &relay.smtp_url(), inbound).await;
        let (a, _, _) = app.account_with_admin("Alpha").await;
        app.new_user(
            &a,
            "gone@alpha.example",
            Role::DownloadOnly,
            &[Permission::SecurityPointOfContact],
        )
        .await;
        sink.reject("gone@alpha.example", true);
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
        let id = publisher
            .publish_advisory(advisory(accounts(&[&a, &b]), ""))
            .await
            .unwrap()
            .into_inner()
            .advisory_id;

        // The relay takes the mail (SENT), the sink refuses it, and the relay's own DSN comes back to the
        // delivery's return path: the delivery ends DEAD with the remote diagnostic.
        let dead = delivery_in(
            &mut publisher,
            &id,
            "gone@alpha.example",
            DeliveryState::Dead,
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(dead.attempts, 1, "sent once, then bounced: {dead:?}");
        assert!(
            dead.last_error.starts_with("bounced: ") && dead.last_error.contains("550"),
            "the remote diagnostic: {dead:?}"
        );
        // N8: Alpha has no living designated contact: its Administrator gets the advisory, once.
        let escalation = wait::until(
            "the escalation to Alpha's Administrator sent",
            Duration::from_secs(60),
            async || {
                let ledger = deliveries(&mut publisher, &id, DeliveryState::Unspecified).await;
                let escalated: Vec<_> = ledger.iter().filter(|d| d.escalation).cloned().collect();
                match escalated.as_slice() {
                    [one] if one.state() == DeliveryState::Sent => Ok(one.clone()),
                    _ => Err(escalated),
                }
            },
        )
        .await;
        assert_eq!(escalation.email, "admin@alpha.example");
        assert_eq!(escalation.account_id, a);
        // SENT means the relay took it; the relay hands it on to the sink a moment later. The ledger holds one
        // escalation row, sent in one attempt, so one copy is all that can arrive.
        assert_eq!(escalation.attempts, 1, "{escalation:?}");
        wait::until(
            "the escalation mail in the sink, once",
            Duration::from_secs(30),
            async || {
                let to_admin = sink.count_matching(|m| {
                    m.to.iter().any(|t| t == "admin@alpha.example")
                        && m.header("Subject").is_some_and(|s| s.contains(&id))
                });
                if to_admin == 1 { Ok(()) } else { Err(to_admin) }
            },
        )
        .await;
        let stats = publisher
            .get_advisory(pb::GetAdvisoryRequest {
                advisory_id: id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .stats
            .unwrap();
        assert_eq!(stats.escalated_account_ids, vec![a.clone()], "{stats:?}");
        let report = coverage(&mut publisher, &id).await;
        let alpha = report.iter().find(|c| c.account_id == a).unwrap();
        assert_eq!(alpha.coverage(), Coverage::Escalated, "{alpha:?}");
        assert_eq!(alpha.dead, 1);
        let beta = report.iter().find(|c| c.account_id == b).unwrap();
        assert_eq!(beta.coverage(), Coverage::Reached, "{beta:?}");

        // N13: what the sink got through the relay is signed, marked automatic, with a return path of its own.
        let mail = mail_to(&sink, &id, "sec@beta.example").await;
        assert!(
            mail.header("DKIM-Signature")
                .is_some_and(|s| s.contains("d=portal.example.test"))
        );
        assert_eq!(
            mail.header("Auto-Submitted").as_deref(),
            Some("auto-generated")
        );
        let zone = portal_app::mail_dns_records(&app.settings).unwrap();
        let name = "portal._domainkey.portal.example.test.";
        let results = dkim::verify(mail.data.as_bytes(), name, &dkim::txt_value(&zone, name)).await;
        assert!(
            dkim::all_pass(&results),
            "the signature survives the relay: {results:?}"
        );
        assert!(
            mail.from.starts_with("b-") && mail.from.ends_with(&format!("@{BOUNCES}")),
            "{}",
            mail.from
        );
        assert_eq!(
            app.audit_log().await.count_on(&dead.delivery_id).await,
            1,
            "the DSN is audited"
        );
    }
);

storage_test!(
    n14_reports_in_the_common_shapes_complaints_auto_replies_and_duplicates,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_reports(backend, &sink.url(), free_address()).await;
        let inbound = app.inbound.expect("the inbound listener is bound");
        let contacts = [
            "exim@a.example",
            "exchange@b.example",
            "multi@c.example",
            "mixed@d.example",
            "delayed@e.example",
            "annoyed@f.example",
            "away@g.example",
            "disguised@h.example",
        ];
        let (mut publisher, id, account_ids) = published_to(&app, &contacts).await;
        let cases = [
            ("exim@a.example", "exim-failed.eml", DeliveryState::Dead),
            (
                "exchange@b.example",
                "exchange-failed.eml",
                DeliveryState::Dead,
            ),
            ("multi@c.example", "provider-multi.eml", DeliveryState::Dead),
            (
                "mixed@d.example",
                "provider-multi-mixed.eml",
                DeliveryState::Sent,
            ),
            ("delayed@e.example", "delayed.eml", DeliveryState::Sent),
            ("annoyed@f.example", "arf-abuse.eml", DeliveryState::Sent),
            ("away@g.example", "auto-reply.eml", DeliveryState::Sent),
            (
                "disguised@h.example",
                "auto-reply-disguised.eml",
                DeliveryState::Sent,
            ),
        ];
        for (contact, fixture, _) in cases {
            let original = mail_to(&sink, &id, contact).await;
            let raw = report(fixture, &original, contact);
            for _ in 0..2 {
                // The second copy must change nothing.
                let replies = client::send(inbound, "", &[&original.from], &raw).await;
                assert_eq!(
                    (replies.rcpt.as_slice(), replies.message),
                    (&[250][..], 250),
                    "{fixture}: {replies:?}"
                );
            }
        }
        for (contact, fixture, state) in cases {
            let ledger = deliveries(&mut publisher, &id, DeliveryState::Unspecified).await;
            let d = delivery(&ledger, contact);
            assert_eq!(d.state(), state, "{fixture}: {d:?}");
            if state == DeliveryState::Dead {
                assert!(d.last_error.starts_with("bounced: "), "{fixture}: {d:?}");
            }
        }
        let dead_exchange = delivery(
            &deliveries(&mut publisher, &id, DeliveryState::Dead).await,
            "exchange@b.example",
        )
        .clone();
        assert!(
            dead_exchange.last_error.contains("5.1.10"),
            "{dead_exchange:?}"
        );
        // One audit event per report, the duplicates none.
        let audit = app.audit_log().await.count_by("svc:notification").await;
        assert!(
            audit.contains(&("notification", cases.len() as u64)),
            "{audit:?}"
        );
        // The complaint shows in the report, on its account only.
        let report = coverage(&mut publisher, &id).await;
        let complaints: Vec<_> = report
            .iter()
            .filter(|c| c.complaints > 0)
            .map(|c| (c.account_id.clone(), c.complaints))
            .collect();
        assert_eq!(complaints, vec![(account_ids[5].clone(), 1)]);
    }
);

storage_test!(
    n14_forged_reports_change_nothing_and_the_listener_is_no_relay,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_reports(backend, &sink.url(), free_address()).await;
        let inbound = app.inbound.expect("the inbound listener is bound");
        let contacts = ["one@a.example", "two@b.example"];
        let (mut publisher, id, _) = published_to(&app, &contacts).await;
        let one = mail_to(&sink, &id, "one@a.example").await;
        let two = mail_to(&sink, &id, "two@b.example").await;
        let raw = report("forged-failed.eml", &one, "one@a.example");
        let (local, _) = one.from.rsplit_once('@').unwrap();
        let (_, tag) = local.rsplit_once('-').unwrap();
        let (two_local, _) = two.from.rsplit_once('@').unwrap();
        let (two_id, _) = two_local.rsplit_once('-').unwrap();
        let forgeries = [
            // Delivery two's id under delivery one's tag.
            format!("{two_id}-{tag}@{BOUNCES}"),
            // A made-up tag.
            format!("{two_id}-{}@{BOUNCES}", "0".repeat(24)),
            // The right local part at another domain: a relay attempt.
            format!("{local}@example.net"),
            "postmaster@example.net".to_string(),
            format!("postmaster@{BOUNCES}"),
        ];
        for forged in &forgeries {
            let replies = client::send(inbound, "attacker@example.net", &[forged], &raw).await;
            assert_eq!(replies.rcpt, vec![550], "{forged}: {replies:?}");
            assert_eq!(
                replies.data, 554,
                "no valid recipient, no message: {replies:?}"
            );
        }
        let ledger = deliveries(&mut publisher, &id, DeliveryState::Unspecified).await;
        for contact in contacts {
            assert_eq!(
                delivery(&ledger, contact).state(),
                DeliveryState::Sent,
                "{contact}"
            );
        }
        let audit = app.audit_log().await.count_by("svc:notification").await;
        assert!(audit.contains(&("notification", 0)), "{audit:?}");
        assert_eq!(
            sink.count_matching(|m| m.from == "attacker@example.net"),
            0,
            "nothing relayed"
        );
    }
);

/// The listener's bounds, each seen as the client sees it: a reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n14_the_listener_bounds_size_connections_and_silence() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Backend::Sqlite, &ServiceKind::ALL, |s| {
        fast_mail(s, &sink.url());
        s.smtp.bounce_domain = Some(BOUNCES.into());
        s.smtp.inbound.listen = Some("127.0.0.1:0".parse().unwrap());
        s.smtp.inbound.max_message_bytes = 64 * 1024;
        s.smtp.inbound.max_connections = 1;
        s.smtp.inbound.idle_timeout_secs = 1;
    })
    .await;
    let inbound = app.inbound.expect("the inbound listener is bound");
    let (mut publisher, id, _) = published_to(&app, &["big@a.example"]).await;
    let original = mail_to(&sink, &id, "big@a.example").await;

    // Too big: read to its end, refused with 552, nothing recorded.
    let mut raw = report("exim-failed.eml", &original, "big@a.example");
    raw.extend(std::iter::repeat_n(b'x', 80 * 1024).chain(*b"\r\n"));
    let replies = client::send(inbound, "", &[&original.from], &raw).await;
    assert_eq!(
        (replies.rcpt.as_slice(), replies.message),
        (&[250][..], 552),
        "{replies:?}"
    );
    let ledger = deliveries(&mut publisher, &id, DeliveryState::Unspecified).await;
    assert_eq!(
        delivery(&ledger, "big@a.example").state(),
        DeliveryState::Sent
    );

    // One session at a time: a second is told 421 while the first is open; a silent first is cut off with 421.
    let first = tokio::net::TcpStream::connect(inbound).await.unwrap();
    let mut first = BufReader::new(first);
    let mut greeting = String::new();
    first.read_line(&mut greeting).await.unwrap();
    assert!(greeting.starts_with("220 "), "{greeting}");
    let second = tokio::net::TcpStream::connect(inbound).await.unwrap();
    let mut second = BufReader::new(second);
    let mut refused = String::new();
    second.read_line(&mut refused).await.unwrap();
    assert!(refused.starts_with("421 "), "{refused}");
    let mut cut = String::new();
    first.read_line(&mut cut).await.unwrap();
    assert!(
        cut.starts_with("421 4.4.2"),
        "the silent session is cut off: {cut}"
    );
    // Its permit is back: a new session is served.
    let replies = client::send(
        inbound,
        "",
        &[&original.from],
        &report("exim-failed.eml", &original, "big@a.example"),
    )
    .await;
    assert_eq!(replies.message, 250, "{replies:?}");
}
