//! What operators rely on: the Prometheus endpoint, one trace across services, and a restart that a retrying
//! client does not notice.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::{net::SocketAddr, time::Duration};

use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use portal_proto::{identity::Role, licensing as lic};
use portal_runtime::config::LogFormat;
use portal_testkit::{Backend, ServiceKind, TestApp, storage_test, wait};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::watch,
};
use tonic::Code;

async fn scrape(admin: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(admin).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: portal\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

storage_test!(
    metrics_are_scraped_and_parse_as_prometheus_exposition,
    |backend| async move {
        let app = TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
            s.admin_listen = Some("127.0.0.1:0".parse().unwrap())
        })
        .await;
        let (a, _, token) = app.account_with_admin("Acme").await;
        let mut identity = app.identity(&token).await;
        identity
            .list_users(portal_proto::identity::ListUsersRequest {
                account_id: a,
                ..Default::default()
            })
            .await
            .unwrap();
        let denied = identity
            .create_account(portal_proto::identity::CreateAccountRequest {
                name: "X".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        // The delivery worker sets the queue-depth gauge when it finds nothing to do.
        let admin = app.admin.unwrap();
        let body = wait::until(
            "the delivery worker to report the queue depth",
            Duration::from_secs(10),
            async || {
                let body = scrape(admin).await;
                if body
                    .lines()
                    .any(|l| l.starts_with("portal_delivery_queue_depth"))
                {
                    Ok(body)
                } else {
                    Err("no portal_delivery_queue_depth sample")
                }
            },
        )
        .await;
        let lines = body.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition format");
        let find = |name: &str| {
            scrape
                .samples
                .iter()
                .filter(|s| s.metric == name)
                .collect::<Vec<_>>()
        };
        let ok = find("portal_rpc_requests_total");
        assert!(
            ok.iter().any(|s| s.labels.get("method")
                == Some("/portal.identity.v1.IdentityService/ListUsers")
                && s.labels.get("code") == Some("0")),
            "{body}"
        );
        assert!(ok.iter().any(|s| s.labels.get("method")
            == Some("/portal.identity.v1.IdentityService/CreateAccount")
            && s.labels.get("code") == Some("7")));
        assert!(
            !find("portal_rpc_duration_seconds").is_empty()
                || !find("portal_rpc_duration_seconds_count").is_empty(),
            "latency histogram: {body}"
        );
        let pools = find("portal_db_pool_connections");
        for service in ["identity", "licensing", "billing", "notification"] {
            assert!(
                pools
                    .iter()
                    .any(|s| s.labels.get("service") == Some(service)),
                "pool gauge for {service}"
            );
        }
        assert!(!find("portal_delivery_queue_depth").is_empty(), "{body}");
    }
);

/// Set in the child process the tracing test runs its app in.
const TRACED_CHILD: &str = "PORTAL_TEST_TRACED_CHILD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_spans_get_user_and_the_licensing_call_it_makes() {
    // The global tracer can be installed once per process, and under `cargo test` the other tests of this
    // binary share the process (and install a subscriber of their own first). So the traced app runs in a
    // process of its own: this test binary again, asked for this one test.
    if std::env::var_os(TRACED_CHILD).is_none() {
        let output = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "one_trace_spans_get_user_and_the_licensing_call_it_makes",
                "--exact",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(TRACED_CHILD, "1")
            .output()
            .await
            .unwrap();
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "the traced child failed:\n{report}"
        );
        assert!(
            report.contains("1 passed"),
            "the child ran no test:\n{report}"
        );
        return;
    }
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    portal_runtime::telemetry::install(provider.clone(), "info", LogFormat::Text, false).unwrap();

    let app = TestApp::spawn(Backend::Sqlite).await;
    let (a, _, token) = app.account_with_admin("Acme").await;
    let member = app
        .new_user(&a, "dl@acme.example", Role::DownloadOnly, &[])
        .await;
    exporter.reset();
    let mut identity = app.identity(&token).await;
    let user = identity
        .get_user(portal_proto::identity::GetUserRequest {
            user_id: member.user_id.clone(),
            without_persona: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(user.persona(), portal_proto::identity::Persona::SupportOnly);
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let named = |name: &str| {
        spans
            .iter()
            .filter(|s| s.name == name && s.span_kind == SpanKind::Server)
            .collect::<Vec<_>>()
    };
    let get_user = named("/portal.identity.v1.IdentityService/GetUser");
    let holdings = named("/portal.licensing.v1.LicensingService/GetHoldings");
    assert_eq!(
        (get_user.len(), holdings.len()),
        (1, 1),
        "{:?}",
        spans.iter().map(|s| s.name.to_string()).collect::<Vec<_>>()
    );
    let trace = get_user[0].span_context.trace_id();
    assert_ne!(trace, TraceId::INVALID);
    assert_eq!(
        holdings[0].span_context.trace_id(),
        trace,
        "licensing's span is in the caller's trace"
    );
    assert_eq!(
        holdings[0].parent_span_id,
        get_user[0].span_context.span_id(),
        "and its parent is the GetUser span"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retrying_client_sees_no_failure_while_a_service_restarts() {
    let core = TestApp::spawn(Backend::Postgres).await;
    let (a, _, _) = core.account_with_admin("Acme").await;
    // Licensing alone on a fixed port, so a restart comes back at the same address.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let peers = |s: &mut portal_runtime::Settings| {
        s.listen = port;
        s.peers.identity = Some(format!("http://{}", core.address));
        s.server.drain_timeout_secs = 5;
    };
    let mut licensing = core.spawn_sharing(&[ServiceKind::Licensing], peers).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{port}"))
        .unwrap()
        .connect_lazy();
    let client =
        portal_testkit::clients::licensing(channel, &core.service_token("ops", "internal"));

    // The client publishes its progress, so the test restarts licensing while calls are being made and only once
    // the client has met the outage.
    let (progress, mut seen) = watch::channel((0u32, 0u32));
    let calls = tokio::spawn({
        let a = a.clone();
        async move {
            let (mut ok, mut retries) = (0u32, 0u32);
            for _ in 0..200 {
                let mut attempt = 0;
                loop {
                    let result = client
                        .clone()
                        .list_deployments(lic::ListDeploymentsRequest {
                            account_id: a.clone(),
                        })
                        .await;
                    match result {
                        Ok(_) => break,
                        Err(s) if s.code() == Code::Unavailable && attempt < 100 => {
                            attempt += 1;
                            retries += 1;
                            progress.send_replace((ok, retries));
                            // The retrying client's backoff.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(s) => panic!("call failed after {attempt} retries: {s:?}"),
                    }
                }
                ok += 1;
                progress.send_replace((ok, retries));
                // Paces the load, so the restart falls in the middle of it.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (ok, retries)
        }
    });
    let bound = Duration::from_secs(30);
    tokio::time::timeout(bound, seen.wait_for(|&(ok, _)| ok >= 20))
        .await
        .expect("20 calls succeed before the restart")
        .expect("the client is still calling");
    licensing.shutdown().await;
    tokio::time::timeout(bound, seen.wait_for(|&(_, retries)| retries > 0))
        .await
        .expect("the client meets the outage")
        .expect("the client is still calling");
    let _restarted = core.spawn_sharing(&[ServiceKind::Licensing], peers).await;
    let (ok, retries) = tokio::time::timeout(Duration::from_secs(60), calls)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok, 200, "every call eventually succeeded");
    assert!(
        retries > 0,
        "the restart was noticed (and retried), so the test exercised it"
    );
}

/// Every `portal_*` metric named in `deploy/observability/` (dashboard and alerting rules), histogram series
/// mapped to the histogram's name.
fn metrics_used_by_the_dashboards() -> std::collections::BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/observability");
    let mut used = std::collections::BTreeSet::new();
    for file in ["dashboard.json", "alerts.yaml"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        for (start, _) in text.match_indices("portal_") {
            let name: String = text[start..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if name.len() > "portal_".len() {
                let name = name.strip_suffix("_bucket").unwrap_or(&name).to_string();
                used.insert(name);
            }
        }
    }
    used
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_dashboards_and_alerts_use_is_exported() {
    let used = metrics_used_by_the_dashboards();
    assert!(used.len() >= 8, "{used:?}");
    let app = TestApp::spawn_with(Backend::Sqlite, &ServiceKind::ALL, |s| {
        s.admin_listen = Some("127.0.0.1:0".parse().unwrap())
    })
    .await;
    // Something of everything: RPCs, and an advisory mailed (to files) to the account's Administrator.
    let (account, _, _) = app.account_with_admin("Acme").await;
    let mut notification = app
        .notification(&app.service_token("psirt", "notification.publish"))
        .await;
    use portal_proto::notification as n;
    let advisory = notification
        .publish_advisory(n::PublishAdvisoryRequest {
            kind: n::AdvisoryKind::Security as i32,
            severity: n::Severity::High as i32,
            title: "Metrics".into(),
            summary: "s".into(),
            impact: "i".into(),
            conditions: "c".into(),
            resolution: "r".into(),
            affected_products: vec![n::AffectedProduct {
                product: portal_proto::common::Product::Server as i32,
                versions: vec!["1".into()],
                fixed_versions: vec!["2".into()],
            }],
            target: Some(n::publish_advisory_request::Target::AccountIds(
                n::AccountList {
                    account_ids: vec![account],
                },
            )),
            request_id: "metrics-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let admin = app.admin.unwrap();
    let exported = wait::until(
        "every metric of the dashboards in a scrape",
        Duration::from_secs(20),
        async || {
            let body = scrape(admin).await;
            let scrape =
                prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap();
            let names: std::collections::BTreeSet<String> = scrape
                .samples
                .iter()
                .map(|s| {
                    let name = s.metric.as_str();
                    for suffix in ["_bucket", "_count", "_sum"] {
                        if let Some(base) = name.strip_suffix(suffix) {
                            return base.to_string();
                        }
                    }
                    name.to_string()
                })
                .collect();
            let missing: Vec<&String> = used.iter().filter(|m| !names.contains(*m)).collect();
            if missing.is_empty() {
                Ok(names)
            } else {
                Err(format!(
                    "missing {missing:?} (advisory {})",
                    advisory.advisory_id
                ))
            }
        },
    )
    .await;
    assert!(exported.contains("portal_delivery_send_seconds"));
}
