//! Prometheus metrics: one process-wide registry (the `metrics` facade with the Prometheus exporter), helpers
//! the services record through, collectors that refresh gauges at scrape time (database pools), and the plain
//! HTTP admin listener that serves `/metrics`, and the suite's public keys at `/.well-known/jwks.json`.

use std::{
    convert::Infallible,
    sync::{Mutex, OnceLock},
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Request, Response, StatusCode, body::Incoming, server::conn::http1, service::service_fn,
};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::auth::PublishedKeys;

type Collector = Box<dyn Fn() + Send + Sync>;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static COLLECTORS: Mutex<Vec<Collector>> = Mutex::new(Vec::new());

/// Seconds buckets for RPC and send latencies.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the Prometheus recorder once per process (later calls return the same handle).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// Exports counter `name` at 0 before anything has happened, so a scrape shows it and an alert on its
/// `increase()` sees the first event.
pub fn zero(name: &'static str) {
    metrics::counter!(name).increment(0);
}

/// Runs `collector` before every scrape (e.g. to read a connection pool's size into a gauge).
pub fn register_collector(collector: impl Fn() + Send + Sync + 'static) {
    if let Ok(mut collectors) = COLLECTORS.lock() {
        collectors.push(Box::new(collector));
    }
}

/// The exposition text of every metric.
pub fn render() -> String {
    if let Ok(collectors) = COLLECTORS.lock() {
        for collect in collectors.iter() {
            collect();
        }
    }
    install().map(PrometheusHandle::render).unwrap_or_default()
}

/// Every metric the suite records, with its help text, described once when the recorder is installed.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "portal_rpc_requests_total",
        "RPCs served, by method and gRPC status code"
    );
    describe_histogram!(
        "portal_rpc_duration_seconds",
        "RPC latency until the response headers, by method"
    );
    describe_gauge!(
        "portal_db_pool_connections",
        "Database pool connections, by service and state"
    );
    describe_gauge!(
        "portal_delivery_queue_depth",
        "Deliveries waiting to be sent (PENDING or FAILED)"
    );
    describe_counter!("portal_deliveries_sent_total", "Deliveries sent");
    describe_gauge!(
        "portal_advisory_oldest_unsettled_seconds",
        "Age of the oldest advisory with recipients to resolve or deliveries to make (0 when all are settled)"
    );
    describe_counter!(
        "portal_deliveries_failed_total",
        "Delivery attempts that failed and will be retried"
    );
    describe_counter!(
        "portal_deliveries_dead_total",
        "Deliveries that gave up (DEAD)"
    );
    describe_counter!(
        "portal_delivery_reports_total",
        "Delivery reports (DSNs, complaints, auto-replies) the inbound listener took, by kind"
    );
    describe_histogram!(
        "portal_delivery_send_seconds",
        "Time to render and send one delivery"
    );
}

/// N14: one delivery report taken by the inbound listener, by what it was (`failed`, `delayed`, `complaint`,
/// `auto_reply`, `unrecognised`, `duplicate`, `refused`).
pub fn delivery_report(kind: &'static str) {
    metrics::counter!("portal_delivery_reports_total", "kind" => kind).increment(1);
}

pub fn counter(name: &'static str) {
    metrics::counter!(name).increment(1);
}

pub fn gauge(name: &'static str, value: f64) {
    metrics::gauge!(name).set(value);
}

pub fn histogram(name: &'static str, value: f64) {
    metrics::histogram!(name).record(value);
}

/// One finished RPC: rate, errors (by gRPC status code) and latency per method.
pub fn rpc(method: &str, code: &str, seconds: f64) {
    metrics::counter!("portal_rpc_requests_total", "method" => method.to_string(), "code" => code.to_string()).increment(1);
    metrics::histogram!("portal_rpc_duration_seconds", "method" => method.to_string())
        .record(seconds);
}

/// Database pool gauges of one service.
pub fn pool(service: &'static str, size: u32, idle: usize) {
    let idle = idle as f64;
    metrics::gauge!("portal_db_pool_connections", "service" => service, "state" => "idle")
        .set(idle);
    metrics::gauge!("portal_db_pool_connections", "service" => service, "state" => "in_use")
        .set((f64::from(size) - idle).max(0.0));
}

/// Serves `GET /metrics`, `/healthz` and the JWKS of `keys` ([`PublishedKeys::PATH`]) on `listener` until the
/// task is dropped.
pub async fn serve_admin(listener: TcpListener, keys: PublishedKeys) {
    install();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // A scrape answered in two writes would otherwise wait for the scraper's delayed ACK.
        let _ = stream.set_nodelay(true);
        let keys = keys.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let keys = keys.clone();
                async move {
                    if request.uri().path() == PublishedKeys::PATH {
                        return Ok::<_, Infallible>(keys.response());
                    }
                    let (status, body) = match request.uri().path() {
                        "/metrics" => (StatusCode::OK, render()),
                        "/healthz" => (StatusCode::OK, "ok\n".to_string()),
                        _ => (StatusCode::NOT_FOUND, "not found\n".to_string()),
                    };
                    let mut response = Response::new(Full::new(Bytes::from(body)));
                    *response.status_mut() = status;
                    if status == StatusCode::OK {
                        response.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("text/plain; version=0.0.4"),
                        );
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
