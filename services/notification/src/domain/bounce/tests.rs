#![allow(clippy::unwrap_used)]
use super::*;

const DOMAIN: &str = "bounces.example.test";

/// A fixture of `tests/fixtures/mail`, its placeholders filled in for delivery `dlv-1` to `rcpt`.
fn fixture(text: &str, rcpt: &str) -> Vec<u8> {
    text.replace("{{VERP}}", &n13_return_path("dlv-1", DOMAIN))
        .replace("{{RCPT}}", rcpt)
        .replace("{{OTHER}}", "someone.else@example.net")
        .replace("{{MESSAGE_ID}}", "dlv-1@portal.example.test")
        .into_bytes()
}

#[test]
fn n13_a_return_path_names_its_delivery_and_fits_a_local_part() {
    let id = portal_runtime::new_id("dlv");
    for reminder in [id.clone(), format!("{id}-r1"), format!("{id}-r999")] {
        let address = n13_return_path(&reminder, DOMAIN);
        assert!(address.parse::<lettre::Address>().is_ok(), "{address}");
        assert_eq!(n14_read_return_path(&address, DOMAIN), Some(reminder));
    }
    let address = n13_return_path(&id, DOMAIN);
    let (local, domain) = address.rsplit_once('@').unwrap();
    assert!(local.len() <= 64, "{local}");
    assert_eq!(domain, DOMAIN);
    assert_eq!(n14_read_return_path(&address, DOMAIN), Some(id.clone()));
    assert_eq!(
        n14_read_return_path(&format!("<{}>", address.to_uppercase()), DOMAIN),
        Some(id),
        "a mail system that changes case still brings it home"
    );
}

#[test]
fn n13_return_paths_cannot_be_forged_or_moved() {
    let address = n13_return_path("dlv-1", DOMAIN);
    let other = address.replacen("b-1-", "b-2-", 1);
    assert_eq!(
        n14_read_return_path(&other, DOMAIN),
        None,
        "another delivery"
    );
    assert_eq!(
        n14_read_return_path(&address.replace(DOMAIN, "example.net"), DOMAIN),
        None,
        "another domain"
    );
    assert_eq!(
        n14_read_return_path("postmaster@bounces.example.test", DOMAIN),
        None
    );
    assert_eq!(
        n14_read_return_path("b-dlv-1-00@bounces.example.test", DOMAIN),
        None
    );
    assert_eq!(n14_read_return_path("", DOMAIN), None);
    let tag = portal_runtime::seal::short_tag("page", "dlv-1");
    assert_eq!(
        n14_read_return_path(&format!("b-1-{tag}@{DOMAIN}"), DOMAIN),
        None,
        "a tag sealed for another purpose"
    );
}

#[test]
fn n13_the_same_delivery_always_gets_the_same_return_path() {
    assert_eq!(
        n13_return_path("dlv-1", DOMAIN),
        n13_return_path("dlv-1", DOMAIN)
    );
}

#[test]
fn n14_exim_hard_bounce_is_failed_with_the_remote_diagnostic() {
    let raw = fixture(
        include_str!("../../../../../tests/fixtures/mail/exim-failed.eml"),
        "gone@customer.example",
    );
    let report = n14_read_report(&raw, "dlv-1", "gone@customer.example");
    assert_eq!(report.kind, ReportKind::Failed);
    assert!(report.status.starts_with('5'), "{report:?}");
    assert!(report.diagnostic.contains("550"), "{report:?}");
    assert!(report.n14_last_error().starts_with("bounced: "));
}

#[test]
fn n14_exchange_ndr_is_failed() {
    let raw = fixture(
        include_str!("../../../../../tests/fixtures/mail/exchange-failed.eml"),
        "gone@customer.example",
    );
    let report = n14_read_report(&raw, "dlv-1", "gone@customer.example");
    assert_eq!(report.kind, ReportKind::Failed);
    assert_eq!(report.status, "5.1.10");
    assert!(
        report.diagnostic.contains("RecipientNotFound"),
        "{report:?}"
    );
}

#[test]
fn n14_a_provider_report_for_several_recipients_is_read_for_ours() {
    let raw = fixture(
        include_str!("../../../../../tests/fixtures/mail/provider-multi.eml"),
        "gone@customer.example",
    );
    let report = n14_read_report(&raw, "dlv-1", "gone@customer.example");
    assert_eq!(report.kind, ReportKind::Failed);
    assert_eq!(
        report.status, "5.1.1",
        "our recipient's block, not the other's"
    );
    let mixed = fixture(
        include_str!("../../../../../tests/fixtures/mail/provider-multi-mixed.eml"),
        "gone@customer.example",
    );
    let report = n14_read_report(&mixed, "dlv-1", "gone@customer.example");
    assert_eq!(report.kind, ReportKind::Delivered, "our recipient got it");
}

#[test]
fn n14_a_delay_is_not_a_failure() {
    let raw = fixture(
        include_str!("../../../../../tests/fixtures/mail/delayed.eml"),
        "slow@customer.example",
    );
    let report = n14_read_report(&raw, "dlv-1", "slow@customer.example");
    assert_eq!(report.kind, ReportKind::Delayed);
    assert!(!report.kind.n14_kills_delivery());
}

#[test]
fn n14_an_abuse_report_is_a_complaint() {
    let raw = fixture(
        include_str!("../../../../../tests/fixtures/mail/arf-abuse.eml"),
        "annoyed@customer.example",
    );
    let report = n14_read_report(&raw, "dlv-1", "annoyed@customer.example");
    assert_eq!(report.kind, ReportKind::Complaint);
    assert_eq!(report.status, "abuse");
    assert!(!report.kind.n14_kills_delivery());
}

#[test]
fn n14_auto_replies_are_never_bounces() {
    for text in [
        include_str!("../../../../../tests/fixtures/mail/auto-reply.eml"),
        include_str!("../../../../../tests/fixtures/mail/auto-reply-disguised.eml"),
    ] {
        let raw = fixture(text, "away@customer.example");
        let report = n14_read_report(&raw, "dlv-1", "away@customer.example");
        assert!(
            matches!(
                report.kind,
                ReportKind::AutoReply | ReportKind::Unrecognised
            ),
            "{report:?}"
        );
        assert!(!report.kind.n14_kills_delivery());
    }
    let plain = b"From: someone@example.net\r\nSubject: hello\r\n\r\nhi\r\n";
    assert_eq!(
        n14_read_report(plain, "dlv-1", "x@example.net").kind,
        ReportKind::Unrecognised
    );
    assert_eq!(
        n14_read_report(b"", "dlv-1", "x@example.net").kind,
        ReportKind::Unrecognised
    );
}

#[test]
fn n14_the_same_report_has_the_same_key_and_another_delivery_another() {
    let raw = fixture(
        include_str!("../../../../../tests/fixtures/mail/exim-failed.eml"),
        "gone@customer.example",
    );
    let a = n14_read_report(&raw, "dlv-1", "gone@customer.example");
    let b = n14_read_report(&raw, "dlv-1", "gone@customer.example");
    let c = n14_read_report(&raw, "dlv-2", "gone@customer.example");
    assert_eq!(a.key, b.key);
    assert_ne!(a.key, c.key);
}

#[test]
fn n14_without_an_action_the_status_class_decides() {
    let raw = b"From: MAILER-DAEMON@mx.example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; gone@customer.example\r\nStatus: 5.2.1\r\n\r\n--b--\r\n";
    let report = n14_read_report(raw, "dlv-1", "gone@customer.example");
    assert_eq!(report.kind, ReportKind::Failed);
    assert_eq!(report.n14_last_error(), "bounced: status 5.2.1");
}

#[test]
fn n14_a_dsn_postfix_wrote_is_failed() {
    // Captured off the wire from a private Postfix relay whose next hop refused the mailbox with 550.
    let raw = include_bytes!("../../../../../tests/fixtures/mail/postfix-dsn.eml");
    let report = n14_read_report(raw, "dlv-1", "gone@customer.example");
    assert_eq!(report.kind, ReportKind::Failed);
    assert_eq!(report.status, "5.1.1");
    assert_eq!(report.diagnostic, "smtp; 550 5.1.1 mailbox unavailable");
}
