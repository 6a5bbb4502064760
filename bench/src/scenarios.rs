//! One run of the benchmark against one storage backend: start the echo baseline, the sink and the suite,
//! seed, drive each scenario, check what must hold (nothing lost, nothing oversubscribed, one mail per
//! recipient), fan an advisory out, and print the table.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use portal_runtime::auth::Minter;
use tonic::{metadata::AsciiMetadataValue, transport::Channel};

mod advisory;
mod bounces;
mod neighbours;
mod reads;
mod writes;

use crate::{
    echo::pb::{EchoRequest, echo_service_client::EchoServiceClient},
    load::{self, Figures, Shape},
    procs::{self, Sink, Suite},
    seed::{self, Seeded, Size, bearer},
};

/// What a run does.
#[derive(Debug, Clone)]
pub struct Plan {
    pub shape: Shape,
    pub size: Size,
    /// Only scenarios whose name contains this (lower case).
    pub only: Option<String>,
    pub advisory: bool,
}

impl Plan {
    fn wants(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| name.to_lowercase().contains(only))
    }
}

impl Plan {
    pub fn full() -> Self {
        Self {
            shape: Shape {
                connections: 4,
                streams_per_connection: 8,
                warmup: Duration::from_secs(1),
                measure: Duration::from_secs(5),
            },
            size: Size {
                accounts: 1000,
                users_per_account: 20,
                contacts_per_account: 10,
                keys_per_account: 50,
            },
            only: None,
            advisory: true,
        }
    }

    pub fn smoke() -> Self {
        Self {
            shape: Shape {
                connections: 2,
                streams_per_connection: 4,
                warmup: Duration::from_millis(100),
                measure: Duration::from_millis(500),
            },
            size: Size {
                accounts: 10,
                users_per_account: 4,
                contacts_per_account: 2,
                keys_per_account: 5,
            },
            only: None,
            advisory: true,
        }
    }
}

/// The machine, for the report's header.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

struct Row {
    name: &'static str,
    figures: Figures,
}

fn print_table(backend: &str, echo: &Figures, rows: &[Row]) {
    println!();
    println!("## {backend}");
    println!();
    println!("| scenario | calls/s | vs echo | p50 ms | p99 ms | p99.9 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let base = echo.per_second();
    let line = |name: &str, f: &Figures| {
        println!(
            "| {name} | {:.0} | {:.1}% | {:.2} | {:.2} | {:.2} | {} |",
            f.per_second(),
            100.0 * f.per_second() / base,
            f.quantile_ms(0.5),
            f.quantile_ms(0.99),
            f.quantile_ms(0.999),
            f.errors
        );
    };
    line("bare tonic echo (baseline)", echo);
    for row in rows.iter().filter(|r| !r.figures.elapsed.is_zero()) {
        line(row.name, &row.figures);
        if let Some(error) = &row.figures.first_error {
            println!("|   first error: {error} | | | | | | |");
        }
    }
}

/// A suite started on a fresh database and seeded, with its sink; [`Booted::finish`] stops it and removes its data.
pub struct Booted {
    pub backend: &'static str,
    pub sink: Sink,
    pub suite: Suite,
    pub minter: Arc<Minter>,
    pub channels: Vec<Channel>,
    pub seeded: Seeded,
    /// Whether the sink accepted every notice of the seed (a correctness check).
    pub seed_ok: bool,
}

impl Booted {
    pub fn finish(self) {
        let data_dir = self.suite.data_dir.clone();
        drop(self);
        let _ = std::fs::remove_dir_all(&data_dir);
    }
}

/// Starts the sink and `portal up` (on PostgreSQL when `database_url` is given), seeds it through its RPCs over
/// `connections` channels and waits until the sink has accepted every notice the seed queued, so what is measured
/// next does not share the machine with the outbox draining.
pub async fn boot(
    plan: &Plan,
    database_url: Option<&str>,
    connections: usize,
) -> anyhow::Result<Booted> {
    let backend = if database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let sink = Sink::start()?;
    let data_dir =
        std::env::temp_dir().join(format!("portal-bench-{}-{backend}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let suite = Suite::start(&procs::portal_binary()?, &data_dir, database_url, sink.port)?;
    let minter = Arc::new(
        Minter::from_file(&suite.data_dir.join("signing-key.pem"), "portal", "portal")
            .context("reading the suite's signing key")?,
    );
    let channels = load::connect(&suite.address, connections).await?;
    let seeded = seed::seed(channels[0].clone(), minter.clone(), plan.size).await?;
    println!();
    println!(
        "{backend}: seeded {} accounts, {} users, {} keys in {:.1} s",
        seeded.accounts.len(),
        seeded.users,
        seeded.keys,
        seeded.took.as_secs_f64()
    );
    let drained_from = Instant::now();
    let seed_ok = sink
        .wait_for(seeded.notices as u64, Duration::from_secs(600))
        .await;
    if seed_ok {
        println!(
            "{backend}: all {} notices of the seed (user added, key assigned) accepted by smtp-sink {:.1} s after seeding ended",
            seeded.notices,
            drained_from.elapsed().as_secs_f64()
        );
    } else {
        println!(
            "{backend}: CHECK FAILED: smtp-sink accepted {} of {} seed notices within 600 s",
            sink.count(),
            seeded.notices
        );
    }
    Ok(Booted {
        backend,
        sink,
        suite,
        minter,
        channels,
        seeded,
        seed_ok,
    })
}

/// Runs every scenario against a fresh suite; false if a correctness check failed.
pub async fn run(plan: &Plan, database_url: Option<&str>) -> anyhow::Result<bool> {
    let shape = plan.shape;
    let (echo_process, echo_address) = procs::start_echo()?;
    let booted = boot(plan, database_url, shape.connections).await?;
    let Booted {
        backend,
        ref sink,
        ref suite,
        ref minter,
        ref channels,
        ref seeded,
        seed_ok,
    } = booted;
    let mut ok = seed_ok;

    let echo_channels = load::connect(&echo_address, shape.connections).await?;
    let echo = load::drive(&echo_channels, shape, |channel, _| async move {
        EchoServiceClient::new(channel)
            .echo(EchoRequest {
                message: "ping".into(),
            })
            .await
            .map(|_| ())
    })
    .await;

    // Idle round trips: one call at a time, on a quiet server.
    let idle = reads::idle_round_trips(&channels[0], minter, seeded).await?;
    let mut rows = reads::reads(channels, plan, minter, seeded).await?;
    rows.extend(neighbours::under_attack(channels, &suite.address, plan, minter, seeded).await?);
    let (writes, checks_ok) = writes::writes(channels, plan, minter, seeded).await?;
    ok &= checks_ok;
    rows.extend(writes);
    print_table(backend, &echo, &rows);
    println!();
    println!(
        "Idle server, one call at a time (20 each, median / slowest): {}",
        idle.iter()
            .map(|(name, median, slowest)| format!("{name} {median:.2} / {slowest:.2} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    if plan.advisory {
        let (exact, advisory_id) =
            advisory::advisory(&channels[0], minter, seeded, plan, sink).await?;
        ok &= exact;
        // N14: then every one of its mails bounces.
        ok &= bounces::bounces(&channels[0], minter, suite, sink, &advisory_id).await?;
    }
    let mib = |field: &str| suite.guard.status_mib(field).unwrap_or(f64::NAN);
    println!(
        "Peak RSS: portal up (all four services) {:.1} MiB (at the end: {:.1} MiB, of which anonymous {:.1}, file {:.1}); echo server {:.1} MiB",
        suite.guard.peak_rss_mib().unwrap_or(f64::NAN),
        mib("VmRSS:"),
        mib("RssAnon:"),
        mib("RssFile:"),
        echo_process.peak_rss_mib().unwrap_or(f64::NAN)
    );
    booted.finish();
    Ok(ok)
}

pub(crate) fn user_tokens(
    minter: &Minter,
    seeded: &Seeded,
    pick: impl Fn(&seed::SeededAccount) -> &str,
) -> anyhow::Result<Arc<Vec<(AsciiMetadataValue, String, String)>>> {
    let ttl = Duration::from_secs(4 * 3600);
    Ok(Arc::new(
        seeded
            .accounts
            .iter()
            .map(|a| {
                Ok((
                    bearer(&minter.user(pick(a), ttl))?,
                    pick(a).to_string(),
                    a.account_id.clone(),
                ))
            })
            .collect::<anyhow::Result<_>>()?,
    ))
}
