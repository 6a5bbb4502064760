//! The instance against the testkit's own sinks: a refusal comes back as Postfix's DSN to the VERP sender, an
//! unreachable relay as a delay DSN, and instances run side by side and leave nothing behind.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::smtp::{Received, SmtpSink};

const BOUNCE_DOMAIN: &str = "bounces.example.test";

fn address(sink: &SmtpSink) -> SocketAddr {
    sink.url()
        .trim_start_matches("smtp://")
        .parse()
        .unwrap_or_else(|e| panic!("sink url {}: {e}", sink.url()))
}

/// Fails (rather than skips) without Postfix: CI installs it with scripts/prepare.sh.
async fn postfix(relay: &SmtpSink, inbound: &SmtpSink) -> Postfix {
    assert!(
        Postfix::available(),
        "postfix is not installed ({POSTFIX} is missing): run scripts/prepare.sh"
    );
    Postfix::start(address(relay), BOUNCE_DOMAIN, address(inbound))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One message by a plain SMTP dialogue, each reply checked.
async fn send(postfix: &Postfix, from: &str, to: &str, subject: &str) {
    let stream = TcpStream::connect(("127.0.0.1", postfix.port))
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut expect = async |code: &str, after: &str| {
        let mut line = String::new();
        loop {
            line.clear();
            read.read_line(&mut line).await.unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        assert!(line.starts_with(code), "after {after}: {line:?}");
    };
    expect("220", "connecting").await;
    let message = format!(
        "From: Customer Portal <noreply@portal.example.test>\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@portal.example.test>\r\n\r\nHello.\r\n."
    );
    for (command, code) in [
        ("EHLO portal.example.test".to_string(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".into(), "354"),
        (message, "250"),
        ("QUIT".into(), "221"),
    ] {
        write
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
        expect(code, &command).await;
    }
}

/// The `message/delivery-status` part's field `name` for the (only) recipient.
fn report_field(dsn: &Received, name: &str) -> String {
    let report = dsn
        .data
        .split("Content-Type: message/delivery-status")
        .nth(1)
        .unwrap_or_else(|| panic!("no message/delivery-status part in:\n{}", dsn.data));
    report
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in the delivery report:\n{report}"))
        .trim()
        .to_string()
}

fn assert_is_dsn_to(dsn: &Received, verp: &str) {
    assert_eq!(dsn.from, "", "a DSN has the null sender");
    assert_eq!(dsn.to, [verp]);
    let content_type = dsn.header("Content-Type").unwrap_or_default();
    assert!(
        content_type.starts_with("multipart/report;")
            && content_type.contains("report-type=delivery-status"),
        "{content_type}"
    );
}

fn assert_status_class(status: &str, class: char) {
    let parts: Vec<&str> = status.split('.').collect();
    assert!(
        parts.len() == 3
            && parts[0] == class.to_string()
            && parts.iter().all(|p| p.parse::<u16>().is_ok()),
        "status {status:?} is not {class}.x.x"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_comes_back_as_a_dsn_to_the_verp_sender() {
    let relay = SmtpSink::start().await;
    relay.reject("gone@customer.example", true);
    let inbound = SmtpSink::start().await;
    let postfix = postfix(&relay, &inbound).await;
    assert_eq!(
        postfix.smtp_url(),
        format!("smtp://127.0.0.1:{}", postfix.port)
    );

    let sent = Instant::now();
    send(
        &postfix,
        "b-x@bounces.example.test",
        "gone@customer.example",
        "refused",
    )
    .await;
    let dsn = inbound.wait_for(1, Duration::from_secs(10)).await.remove(0);
    eprintln!("DSN {:?} after the message was accepted", sent.elapsed());

    assert_is_dsn_to(&dsn, "b-x@bounces.example.test");
    assert_eq!(
        report_field(&dsn, "Final-Recipient"),
        "rfc822; gone@customer.example"
    );
    assert_eq!(report_field(&dsn, "Action"), "failed");
    assert_status_class(&report_field(&dsn, "Status"), '5');
    assert_eq!(
        report_field(&dsn, "Diagnostic-Code"),
        "smtp; 550 5.1.1 mailbox unavailable"
    );
    assert!(
        dsn.data
            .contains("Message-ID: <refused@portal.example.test>"),
        "the returned message is attached"
    );
    assert_eq!(relay.count(), 0, "the only recipient was refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_relay_is_reported_as_a_delay() {
    let relay = SmtpSink::start().await;
    relay.down();
    let inbound = SmtpSink::start().await;
    let postfix = postfix(&relay, &inbound).await;

    send(
        &postfix,
        "b-y@bounces.example.test",
        "later@customer.example",
        "delayed",
    )
    .await;
    let dsn = inbound.wait_for(1, Duration::from_secs(10)).await.remove(0);

    assert_is_dsn_to(&dsn, "b-y@bounces.example.test");
    assert_eq!(
        report_field(&dsn, "Final-Recipient"),
        "rfc822; later@customer.example"
    );
    assert_eq!(report_field(&dsn, "Action"), "delayed");
    assert_status_class(&report_field(&dsn, "Status"), '4');

    // Retried within seconds once the relay is back.
    relay.up().await;
    let delivered = relay.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(delivered[0].to, ["later@customer.example"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_run_side_by_side_and_leave_nothing_behind() {
    let relay = SmtpSink::start().await;
    let inbound = SmtpSink::start().await;
    let (first, second) = tokio::join!(postfix(&relay, &inbound), postfix(&relay, &inbound));
    assert_ne!(first.port, second.port);
    assert_ne!(first.dir.path(), second.dir.path());

    send(
        &first,
        "b-1@bounces.example.test",
        "one@customer.example",
        "first",
    )
    .await;
    send(
        &second,
        "b-2@bounces.example.test",
        "two@customer.example",
        "second",
    )
    .await;
    let mut to: Vec<_> = relay
        .wait_for(2, Duration::from_secs(10))
        .await
        .into_iter()
        .flat_map(|m| m.to)
        .collect();
    to.sort();
    assert_eq!(to, ["one@customer.example", "two@customer.example"]);

    let (port, dir) = (first.port, first.dir.path().to_path_buf());
    drop(first);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "port {port} still answers"
    );
    greeting(second.port).await.unwrap();
}
