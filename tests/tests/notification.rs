//! NotificationService end to end (N1–N6, N8–N12, N15, N16) against a real SMTP listener, on SQLite and PostgreSQL: one module per
//! resource, and the fixtures they share.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

// One binary per suite, its modules in `notification/`: a crate root finds them there only through `#[path]`.
#[path = "notification/ack_browser.rs"]
mod ack_browser;
#[path = "notification/ack_page.rs"]
mod ack_page;
#[path = "notification/acknowledgement.rs"]
mod acknowledgement;
#[path = "notification/advisories.rs"]
mod advisories;
#[path = "notification/bounces.rs"]
mod bounces;
#[path = "notification/csaf.rs"]
mod csaf;
#[path = "notification/csaf_provider.rs"]
mod csaf_provider;
#[path = "notification/csaf_validator.rs"]
mod csaf_validator;
#[path = "notification/csaf_vendors.rs"]
mod csaf_vendors;
#[path = "notification/delivery.rs"]
mod delivery;
#[path = "notification/escalation.rs"]
mod escalation;
#[path = "notification/notices.rs"]
mod notices;
#[path = "notification/report.rs"]
mod report;

use std::time::Duration;

use portal_proto::{
    common::Product,
    notification::{self as pb, AdvisoryKind, DeliveryState, Severity},
};
use portal_testkit::{
    Backend, ServiceKind, TestApp,
    clients::Notification,
    smtp::{Received, SmtpSink},
    wait,
};
use tokio_stream::StreamExt;

async fn app_with_mail(backend: Backend, sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    TestApp::spawn_with(backend, &ServiceKind::ALL, |s| fast_mail(s, &url)).await
}

/// Mail to `url`, retried quickly (100–400 ms) and polled often, so outages and retries fit in a test.
fn fast_mail(s: &mut portal_runtime::Settings, url: &str) {
    s.smtp.url = Some(url.to_string().into());
    s.smtp.retry_first_ms = 100;
    s.smtp.retry_max_ms = 400;
    s.smtp.poll_ms = 50;
    s.smtp.max_attempts = 50;
}

/// A critical security advisory for `target`.
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
        ..Default::default()
    }
}

fn accounts(ids: &[&str]) -> pb::publish_advisory_request::Target {
    pb::publish_advisory_request::Target::AccountIds(pb::AccountList {
        account_ids: ids.iter().map(|s| s.to_string()).collect(),
    })
}

/// Follows WatchAdvisory until it ends; returns the last stats.
async fn settle(
    client: &mut Notification,
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

/// The mail of one advisory once no more of it can come: the ledger shows every delivery SENT or DEAD, at least
/// `n` of its mails are in, and no message is half-way into the sink. Notices such as "you were added" go to the
/// same server and are left out.
async fn final_advisory_mail(
    client: &mut Notification,
    sink: &SmtpSink,
    advisory_id: &str,
    n: usize,
) -> Vec<Received> {
    wait::until(
        &format!("advisory {advisory_id}: a final ledger and {n} mails"),
        Duration::from_secs(30),
        async || {
            let ledger = deliveries(&mut *client, advisory_id, DeliveryState::Unspecified).await;
            let open: Vec<(String, DeliveryState)> = ledger
                .iter()
                .filter(|d| !matches!(d.state(), DeliveryState::Sent | DeliveryState::Dead))
                .map(|d| (d.email.clone(), d.state()))
                .collect();
            let mail: Vec<Received> = sink
                .received()
                .into_iter()
                .filter(|m| m.header("Subject").is_some_and(|s| s.contains(advisory_id)))
                .collect();
            let in_flight = sink.in_flight();
            if open.is_empty() && mail.len() >= n && in_flight == 0 {
                Ok(mail)
            } else {
                Err(format!(
                    "not final: {open:?}; {} mails; {in_flight} in flight",
                    mail.len()
                ))
            }
        },
    )
    .await
}

/// Every delivery of the advisory in `state` (all of them for UNSPECIFIED), across pages.
async fn deliveries(
    client: &mut Notification,
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
