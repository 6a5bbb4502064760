//! The closed-loop driver: a fixed number of concurrent streams over a few HTTP/2 connections, each calling
//! as fast as its answers come back for a fixed time, and the figures of one run (throughput, percentiles).

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tonic::transport::{Channel, Endpoint};

/// How hard and how long one scenario is driven.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub connections: usize,
    pub streams_per_connection: usize,
    pub warmup: Duration,
    pub measure: Duration,
}

impl Shape {
    pub fn streams(&self) -> usize {
        self.connections * self.streams_per_connection
    }
}

/// What one scenario measured.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub ok: u64,
    /// Successful calls of the warm-up (which also changed state, for writes).
    pub warmup_ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latencies of successful calls, in microseconds, sorted.
    pub latencies_us: Vec<u32>,
}

impl Figures {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let last = self.latencies_us.len() - 1;
        let index = ((self.latencies_us.len() as f64 * q) as usize).min(last);
        f64::from(self.latencies_us[index]) / 1000.0
    }
}

/// `connections` separate HTTP/2 connections to `address`, each with no-delay set.
pub async fn connect(address: &str, connections: usize) -> anyhow::Result<Vec<Channel>> {
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections {
        channels.push(
            Endpoint::from_shared(format!("http://{address}"))?
                .tcp_nodelay(true)
                .timeout(Duration::from_secs(30))
                .connect()
                .await?,
        );
    }
    Ok(channels)
}

/// [`drive`] when `wanted`; else nothing, at once (an empty [`Figures`] with zero elapsed time).
pub async fn drive_if<F, Fut>(wanted: bool, channels: &[Channel], shape: Shape, call: F) -> Figures
where
    F: Fn(Channel, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send,
{
    if wanted {
        drive(channels, shape, call).await
    } else {
        Figures::default()
    }
}

/// Runs `call(channel, n)` on every stream (n counts calls across streams, so callers can make unique
/// requests) for the warm-up, then again for the measured time.
pub async fn drive<F, Fut>(channels: &[Channel], shape: Shape, call: F) -> Figures
where
    F: Fn(Channel, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send,
{
    let counter = Arc::new(AtomicU64::new(0));
    let warmup = run(channels, shape, shape.warmup, counter.clone(), call.clone()).await;
    let mut figures = run(channels, shape, shape.measure, counter, call).await;
    figures.warmup_ok = warmup.ok;
    figures
}

async fn run<F, Fut>(
    channels: &[Channel],
    shape: Shape,
    duration: Duration,
    counter: Arc<AtomicU64>,
    call: F,
) -> Figures
where
    F: Fn(Channel, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(shape.streams());
    for channel in channels {
        for _ in 0..shape.streams_per_connection {
            let channel = channel.clone();
            let call = call.clone();
            let counter = counter.clone();
            tasks.push(tokio::spawn(async move {
                let mut figures = Figures::default();
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let begun = Instant::now();
                    match call(channel.clone(), n).await {
                        Ok(()) => {
                            figures.ok += 1;
                            let us = begun.elapsed().as_micros();
                            figures
                                .latencies_us
                                .push(u32::try_from(us).unwrap_or(u32::MAX));
                        }
                        Err(status) => {
                            figures.errors += 1;
                            if figures.first_error.is_none() {
                                figures.first_error =
                                    Some(format!("{:?}: {}", status.code(), status.message()));
                            }
                        }
                    }
                }
                figures
            }));
        }
    }
    let mut all = Figures::default();
    for task in tasks {
        if let Ok(figures) = task.await {
            all.ok += figures.ok;
            all.errors += figures.errors;
            all.first_error = all.first_error.or(figures.first_error);
            all.latencies_us.extend(figures.latencies_us);
        }
    }
    all.elapsed = started.elapsed();
    all.latencies_us.sort_unstable();
    all
}

/// A request carrying `authorization`.
pub fn authorized<T>(
    message: T,
    authorization: &tonic::metadata::AsciiMetadataValue,
) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", authorization.clone());
    request
}
