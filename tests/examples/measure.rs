//! Quick local measurement (not a pass/fail test): RPC latency of CheckAccess and GetUser against the
//! health-check round trip as a baseline measured in the same run, and advisory fan-out throughput.
//!
//! `cargo run --release -p portal-e2e --example measure [-- postgres]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use portal_proto::{
    identity::{Action, CheckAccessRequest, GetUserRequest, Permission, Role},
    notification as pb,
};
use portal_testkit::{Backend, ServiceKind, TestApp, smtp::SmtpSink};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const CALLS: usize = 2000;

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1e6
    };
    (at(0.5), at(0.99))
}

async fn time<F, Fut>(mut call: F) -> (f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..100 {
        call().await;
    }
    let mut samples = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        call().await;
        samples.push(started.elapsed());
    }
    percentiles(samples)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let backend = if std::env::args().any(|a| a == "postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
        s.smtp.url = Some(url.clone().into());
        s.smtp.poll_ms = 20;
    })
    .await;
    let (a, admin, _) = app.account_with_admin("Bench").await;
    let member = app
        .new_user(&a, "dl@bench.example", Role::DownloadOnly, &[])
        .await;
    let internal = app.service_token("billing", "internal");
    let identity = app.identity(&internal).await;
    let health = HealthClient::new(app.channel().await);

    let baseline = time(|| {
        let mut h = health.clone();
        async move {
            h.check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap();
        }
    })
    .await;
    let check_admin = time(|| {
        let mut c = identity.clone();
        let r = CheckAccessRequest {
            user_id: admin.user_id.clone(),
            account_id: a.clone(),
            action: Action::ViewInvoices as i32,
        };
        async move {
            c.check_access(r).await.unwrap();
        }
    })
    .await;
    let check_member = time(|| {
        let mut c = identity.clone();
        let r = CheckAccessRequest {
            user_id: member.user_id.clone(),
            account_id: a.clone(),
            action: Action::DownloadProducts as i32,
        };
        async move {
            c.check_access(r).await.unwrap();
        }
    })
    .await;
    let get_member = time(|| {
        let mut c = identity.clone();
        let r = GetUserRequest {
            user_id: member.user_id.clone(),
            without_persona: false,
        };
        async move {
            c.get_user(r).await.unwrap();
        }
    })
    .await;
    println!(
        "backend: {backend:?}, {CALLS} sequential calls each, p50 / p99 in µs and as a multiple of the health-check p50"
    );
    for (name, (p50, p99)) in [
        ("health check (baseline)", baseline),
        ("CheckAccess, Administrator", check_admin),
        (
            "CheckAccess, Download Only (+ licensing GetHoldings)",
            check_member,
        ),
        (
            "GetUser, Download Only (+ licensing GetHoldings)",
            get_member,
        ),
    ] {
        println!(
            "  {name:55} p50 {p50:8.0}  p99 {p99:8.0}  ({:.1}x)",
            p50 / baseline.0
        );
    }

    // Fan-out: 50 accounts × 40 security contacts.
    let mut accounts = Vec::new();
    for i in 0..50 {
        let account = app.new_account(&format!("Fan{i}"), false).await;
        for u in 0..40 {
            app.new_user(
                &account,
                &format!("s{u}@fan{i}.example"),
                Role::DownloadOnly,
                &[Permission::SecurityPointOfContact],
            )
            .await;
        }
        accounts.push(account);
    }
    let recipients = 2000;
    tokio::time::sleep(Duration::from_secs(2)).await; // let the "user added" notices drain first
    let before = sink.count();
    let mut publisher = app
        .notification(&app.service_token("secops", "notification.publish"))
        .await;
    let started = Instant::now();
    let advisory = publisher
        .publish_advisory(pb::PublishAdvisoryRequest {
            kind: pb::AdvisoryKind::Security as i32,
            severity: pb::Severity::High as i32,
            title: "Throughput".into(),
            summary: "Measuring.".into(),
            target: Some(pb::publish_advisory_request::Target::AccountIds(
                pb::AccountList {
                    account_ids: accounts,
                },
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut written = None;
    loop {
        let stats = publisher
            .get_advisory(pb::GetAdvisoryRequest {
                advisory_id: advisory.advisory_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .stats
            .unwrap();
        if written.is_none()
            && stats.total as usize == recipients
            && stats.pending + stats.sent + stats.failed == stats.total
        {
            written = Some(started.elapsed());
        }
        if stats.settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let settled = started.elapsed();
    let sent = sink.count() - before;
    let written = written.unwrap_or(settled);
    println!(
        "fan-out: {recipients} recipients; ledger written in {:.2}s ({:.0} recipients/s); all {sent} mails sent in {:.2}s ({:.0} mails/s)",
        written.as_secs_f64(),
        recipients as f64 / written.as_secs_f64(),
        settled.as_secs_f64(),
        sent as f64 / settled.as_secs_f64()
    );
}
