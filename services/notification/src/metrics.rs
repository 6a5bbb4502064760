//! Delivery metrics: queue depth, sent/failed/dead counters and send latency, exported through the process's
//! Prometheus registry.

use std::time::Duration;

/// Handles to this service's instruments; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Metrics;

impl Metrics {
    pub fn queue_depth(&self, depth: u64) {
        portal_runtime::metrics::gauge(
            "portal_delivery_queue_depth",
            "Deliveries waiting to be sent (PENDING or FAILED)",
            depth as f64,
        );
    }

    pub fn sent(&self, latency: Duration) {
        portal_runtime::metrics::counter("portal_deliveries_sent_total", "Deliveries sent");
        portal_runtime::metrics::histogram(
            "portal_delivery_send_seconds",
            "Time to render and send one delivery",
            latency.as_secs_f64(),
        );
    }

    pub fn failed(&self) {
        portal_runtime::metrics::counter(
            "portal_deliveries_failed_total",
            "Delivery attempts that failed and will be retried",
        );
    }

    pub fn dead(&self) {
        portal_runtime::metrics::counter(
            "portal_deliveries_dead_total",
            "Deliveries that gave up (DEAD)",
        );
    }
}
