//! Delivery metrics: queue depth, sent/failed/dead counters and send latency, recorded in the process's
//! Prometheus registry (described there, in `portal_runtime::metrics`).

use std::time::Duration;

use portal_runtime::metrics::{counter, gauge, histogram, zero};

/// The delivery counters, exported from the start at 0.
pub fn register() {
    for name in [
        "portal_deliveries_sent_total",
        "portal_deliveries_failed_total",
        "portal_deliveries_dead_total",
    ] {
        zero(name);
    }
}

pub fn queue_depth(depth: u64) {
    gauge("portal_delivery_queue_depth", depth as f64);
}

/// How long the oldest advisory not yet settled has been out (0 when all are settled).
pub fn oldest_unsettled(age: Duration) {
    gauge(
        "portal_advisory_oldest_unsettled_seconds",
        age.as_secs_f64(),
    );
}

pub fn sent(latency: Duration) {
    counter("portal_deliveries_sent_total");
    histogram("portal_delivery_send_seconds", latency.as_secs_f64());
}

pub fn failed() {
    counter("portal_deliveries_failed_total");
}

pub fn dead() {
    counter("portal_deliveries_dead_total");
}
