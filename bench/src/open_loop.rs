//! The open-loop driver: calls start on a fixed schedule (`rate` per second) whether or not earlier ones have
//! been answered, so load beyond what the server can take really arrives, as it does from many independent
//! clients. Every latency is measured from the call's scheduled start, so a generator that falls behind is
//! charged to the figures instead of hiding the queue (no coordinated omission).

use std::{
    future::Future,
    time::{Duration, Instant},
};

use tonic::{Code, transport::Channel};

/// How one call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// `RESOURCE_EXHAUSTED`: refused by the server's load shedding.
    Shed,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Call {
    /// When it was scheduled, from the start of the run.
    scheduled: Duration,
    latency_us: u32,
    outcome: Outcome,
}

/// What one open-loop run measured.
#[derive(Debug, Default)]
pub struct OpenFigures {
    pub rate: f64,
    pub duration: Duration,
    calls: Vec<Call>,
    pub first_other_error: Option<String>,
    /// The most a call started after its scheduled time (the generator's own lag).
    pub max_start_lag: Duration,
}

impl OpenFigures {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.calls.iter().filter(|c| c.outcome == outcome).count()
    }

    pub fn offered(&self) -> usize {
        self.calls.len()
    }

    pub fn per_second(&self, outcome: Outcome) -> f64 {
        self.count(outcome) as f64 / self.duration.as_secs_f64().max(1e-9)
    }

    /// Latencies (ms, sorted) of the calls that ended with `outcome` and were scheduled within `window`.
    pub fn latencies_ms(&self, outcome: Outcome, window: std::ops::Range<Duration>) -> Vec<f64> {
        let mut ms: Vec<f64> = self
            .calls
            .iter()
            .filter(|c| c.outcome == outcome && window.contains(&c.scheduled))
            .map(|c| f64::from(c.latency_us) / 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    }

    /// The `q` quantile (ms) of the calls that ended with `outcome`; NaN when there were none.
    pub fn quantile_ms(&self, outcome: Outcome, q: f64) -> f64 {
        quantile(
            &self.latencies_ms(outcome, Duration::ZERO..Duration::MAX),
            q,
        )
    }
}

/// The `q` quantile of sorted `values`; NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let last = sorted.len() - 1;
    sorted[((sorted.len() as f64 * q) as usize).min(last)]
}

/// Starts `call(channel, n)` at `rate` per second for `duration`, round-robin over `channels`, and waits for every
/// call to end (each is bounded by the channels' own timeout).
pub async fn drive<F, Fut>(
    channels: &[Channel],
    rate: f64,
    duration: Duration,
    call: F,
) -> OpenFigures
where
    F: Fn(Channel, u64) -> Fut,
    Fut: Future<Output = Result<(), tonic::Status>> + Send + 'static,
{
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let started = Instant::now();
    let mut first_other_error = None;
    let mut max_start_lag = Duration::ZERO;
    let mut next = 0u64;
    while next < total {
        let now = Instant::now();
        let due = ((now - started).as_secs_f64() * rate) as u64 + 1;
        while next < due.min(total) {
            let scheduled = Duration::from_secs_f64(next as f64 / rate);
            max_start_lag = max_start_lag.max((now - started).saturating_sub(scheduled));
            let channel = channels[(next as usize) % channels.len()].clone();
            let pending = call(channel, next);
            let tx = tx.clone();
            tokio::spawn(async move {
                let result = pending.await;
                let latency = (started.elapsed()).saturating_sub(scheduled);
                let latency_us = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
                let (outcome, error) = match result {
                    Ok(()) => (Outcome::Ok, None),
                    Err(status) if status.code() == Code::ResourceExhausted => {
                        (Outcome::Shed, None)
                    }
                    Err(status) => (
                        Outcome::Other,
                        Some(format!("{:?}: {}", status.code(), status.message())),
                    ),
                };
                let _ = tx.send((
                    Call {
                        scheduled,
                        latency_us,
                        outcome,
                    },
                    error,
                ));
            });
            next += 1;
        }
        let at = started + Duration::from_secs_f64(next as f64 / rate);
        tokio::time::sleep_until(at.into()).await;
    }
    drop(tx);
    let mut calls = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    while let Some((call, error)) = rx.recv().await {
        calls.push(call);
        if first_other_error.is_none() {
            first_other_error = error;
        }
    }
    OpenFigures {
        rate,
        duration,
        calls,
        first_other_error,
        max_start_lag,
    }
}
