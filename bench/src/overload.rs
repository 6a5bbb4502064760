//! The overload run (`--overload`): the capacity C of an authorized read (ListKeys, Administrator, page of 50) is
//! measured closed-loop, then the same call is offered open-loop at 1×C and 2×C. What must hold at 2×C: the
//! excess is shed with `RESOURCE_EXHAUSTED` and fast, the calls accepted keep a latency bounded by the server's
//! concurrency limit (no queue in front of it) and steady over the run, goodput holds, and memory stays bounded.
//! Each is printed as a PASS/FAIL line; it is a benchmark, not a test, so they do not fail the run.

use std::time::Duration;

use portal_proto::licensing::{ListKeysRequest, licensing_service_client::LicensingServiceClient};
use portal_runtime::config::ServerSettings;

use crate::{
    load::{self, authorized},
    open_loop::{self, OpenFigures, Outcome, quantile},
    procs,
    scenarios::{self, Plan, user_tokens},
};

/// Connections the open-loop runs spread over: × 128 streams each (`server.max_streams_per_connection`), well
/// above the server's concurrency limit, so the excess reaches the server instead of queueing in the client.
const CONNECTIONS: usize = 16;
/// Memory the suite may grow by while overloaded.
const RSS_BUDGET_MIB: f64 = 64.0;

/// The server's limits, as `portal up` will read them (defaults, or `PORTAL_SERVER__…` inherited from here).
fn limits() -> (usize, Duration) {
    fn from_env<T: std::str::FromStr>(name: &str) -> Option<T> {
        std::env::var(name).ok().and_then(|v| v.parse().ok())
    }
    let defaults = ServerSettings::default();
    (
        from_env("PORTAL_SERVER__CONCURRENCY_LIMIT").unwrap_or(defaults.concurrency_limit),
        from_env("PORTAL_SERVER__REQUEST_TIMEOUT_MS")
            .map_or(defaults.request_timeout(), Duration::from_millis),
    )
}

/// `/proc/loadavg`'s first three fields: the machine is shared, so every figure says how busy it was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

struct Run {
    factor: f64,
    figures: OpenFigures,
    rss_before: f64,
    rss_peak: f64,
    rss_after: f64,
}

/// Samples the process's `VmRSS` every 20 ms until stopped; answers the highest seen.
fn sample_rss(
    pid: u32,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<f64>,
) {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let sampler = tokio::spawn(async move {
        let mut peak = 0.0f64;
        loop {
            peak = peak.max(procs::status_mib(pid, "VmRSS:").unwrap_or(0.0));
            tokio::select! {
                _ = &mut stopped => return peak,
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
    });
    (stop, sampler)
}

/// Boots a seeded suite and measures it under overload; false if the run itself broke (seed lost, nothing
/// accepted), never because a bound was missed.
pub async fn run(plan: &Plan, database_url: Option<&str>) -> anyhow::Result<bool> {
    let shape = plan.shape;
    let booted = scenarios::boot(plan, database_url, CONNECTIONS.max(shape.connections)).await?;
    let backend = booted.backend;
    let pid = booted.suite.guard.pid();
    let (concurrency_limit, request_timeout) = limits();
    let admins = user_tokens(&booted.minter, &booted.seeded, |a| &a.admin_user_id)?;
    let list_keys = move |channel: tonic::transport::Channel, n: u64| {
        let (token, _, account_id) = admins[(n as usize) % admins.len().max(1)].clone();
        async move {
            LicensingServiceClient::new(channel)
                .list_keys(authorized(
                    ListKeysRequest {
                        account_id,
                        page_size: 50,
                        page_token: String::new(),
                    },
                    &token,
                ))
                .await
                .map(|_| ())
        }
    };

    let capacity = load::drive(
        &booted.channels[..shape.connections],
        shape,
        list_keys.clone(),
    )
    .await;
    let c = capacity.per_second();
    if capacity.ok == 0 {
        println!(
            "{backend}: no ListKeys call succeeded while measuring capacity (first error: {})",
            capacity.first_error.as_deref().unwrap_or("none")
        );
        booted.finish();
        return Ok(false);
    }
    let open_for = shape.measure * 2;
    println!();
    println!("## Overload, {backend}: ListKeys, Administrator, page of 50");
    println!();
    println!(
        "Load average at start: {}. Capacity C = {c:.0} calls/s, closed loop ({} in flight, {:.1} s: p50 {:.2} ms, p99 {:.2} ms, errors {}). server.concurrency_limit = {concurrency_limit}, so a full server holds ≈ {concurrency_limit} / C = {:.0} ms of work. Open loop: {:.1} s per rate over {} connections, latency from each call's scheduled start.",
        load_average(),
        shape.streams(),
        shape.measure.as_secs_f64(),
        capacity.quantile_ms(0.5),
        capacity.quantile_ms(0.99),
        capacity.errors,
        1000.0 * concurrency_limit as f64 / c.max(1e-9),
        open_for.as_secs_f64(),
        booted.channels.len(),
    );

    let mut runs = Vec::new();
    for factor in [1.0, 2.0] {
        let rss_before = procs::status_mib(pid, "VmRSS:").unwrap_or(f64::NAN);
        let (stop, sampler) = sample_rss(pid);
        let figures =
            open_loop::drive(&booted.channels, factor * c, open_for, list_keys.clone()).await;
        let _ = stop.send(());
        let rss_peak = sampler.await.unwrap_or(f64::NAN);
        let rss_after = procs::status_mib(pid, "VmRSS:").unwrap_or(f64::NAN);
        runs.push(Run {
            factor,
            figures,
            rss_before,
            rss_peak,
            rss_after,
        });
    }
    print_runs(&runs);
    println!(
        "Peak RSS of portal up over its life (VmHWM, seeding included): {:.1} MiB; load average at the end: {}",
        procs::status_mib(pid, "VmHWM:").unwrap_or(f64::NAN),
        load_average()
    );
    let healthy = runs.iter().all(|r| r.figures.count(Outcome::Ok) > 0);
    if let Some(double) = runs.iter().find(|r| r.factor == 2.0) {
        judge(
            double,
            c,
            capacity.quantile_ms(0.99),
            concurrency_limit,
            request_timeout,
        );
    }
    let seed_ok = booted.seed_ok;
    booted.finish();
    Ok(seed_ok && healthy)
}

fn print_runs(runs: &[Run]) {
    println!();
    println!(
        "| offered | calls/s offered | OK/s | shed (RESOURCE_EXHAUSTED) | shed/s | other errors | accepted p50 / p99 / max ms | shed p50 / p99 / max ms | RSS before / peak / after MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for run in runs {
        let f = &run.figures;
        let triple = |outcome| {
            if f.count(outcome) == 0 {
                return "—".to_string();
            }
            format!(
                "{:.1} / {:.1} / {:.1}",
                f.quantile_ms(outcome, 0.5),
                f.quantile_ms(outcome, 0.99),
                f.quantile_ms(outcome, 1.0)
            )
        };
        println!(
            "| {}×C | {:.0} | {:.0} | {} of {} ({:.1}%) | {:.0} | {} | {} | {} | {:.1} / {:.1} / {:.1} |",
            run.factor,
            f.rate,
            f.per_second(Outcome::Ok),
            f.count(Outcome::Shed),
            f.offered(),
            100.0 * f.count(Outcome::Shed) as f64 / f.offered().max(1) as f64,
            f.per_second(Outcome::Shed),
            f.count(Outcome::Other),
            triple(Outcome::Ok),
            triple(Outcome::Shed),
            run.rss_before,
            run.rss_peak,
            run.rss_after,
        );
    }
    println!();
    for run in runs {
        let f = &run.figures;
        let seconds = f.duration.as_secs_f64().ceil() as u64;
        let windows: Vec<String> = (0..seconds)
            .map(|s| {
                let window = Duration::from_secs(s)..Duration::from_secs(s + 1);
                format!(
                    "{:.0}",
                    quantile(&f.latencies_ms(Outcome::Ok, window), 0.99)
                )
            })
            .collect();
        println!(
            "{}×C: accepted p99 per second of the run (ms): {}; the generator started calls at most {:.1} ms late{}",
            run.factor,
            windows.join(", "),
            f.max_start_lag.as_secs_f64() * 1000.0,
            f.first_other_error
                .as_ref()
                .map(|e| format!("; first other error: {e}"))
                .unwrap_or_default(),
        );
    }
}

/// The bounds the 2×C run must meet, each printed as PASS or FAIL with the figures it compared.
fn judge(
    run: &Run,
    capacity: f64,
    capacity_p99_ms: f64,
    concurrency_limit: usize,
    request_timeout: Duration,
) {
    let f = &run.figures;
    let accepted_p99 = f.quantile_ms(Outcome::Ok, 0.99);
    let accepted_max = f.quantile_ms(Outcome::Ok, 1.0);
    let shed_p99 = f.quantile_ms(Outcome::Shed, 0.99);
    // A full server holds `concurrency_limit` calls; served at C, the last waits limit / C. Half as much again
    // allows for the run's own noise; anything beyond means calls queue somewhere before the limit.
    let queue_bound_ms =
        1000.0 * concurrency_limit as f64 / capacity.max(1e-9) * 1.5 + capacity_p99_ms;
    let quarter = f.duration / 4;
    let p99_of =
        |from: Duration, to: Duration| quantile(&f.latencies_ms(Outcome::Ok, from..to), 0.99);
    let (second_quarter, last_quarter) = (
        p99_of(quarter, quarter * 2),
        p99_of(quarter * 3, f.duration),
    );
    let verdict = |pass: bool| if pass { "PASS" } else { "FAIL" };
    let checks = [
        (
            f.count(Outcome::Shed) > 0 && f.count(Outcome::Other) == 0,
            format!(
                "every call at 2×C answered OK or RESOURCE_EXHAUSTED: {} OK, {} shed, {} other",
                f.count(Outcome::Ok),
                f.count(Outcome::Shed),
                f.count(Outcome::Other)
            ),
        ),
        (
            shed_p99 <= accepted_p99 / 4.0,
            format!(
                "shed fast: shed p99 {shed_p99:.1} ms ≤ a quarter of accepted p99 {accepted_p99:.1} ms"
            ),
        ),
        (
            f.per_second(Outcome::Ok) >= 0.8 * capacity,
            format!(
                "goodput held: {:.0} OK/s ≥ 80% of C ({:.0}/s)",
                f.per_second(Outcome::Ok),
                0.8 * capacity
            ),
        ),
        (
            accepted_p99 <= queue_bound_ms && accepted_max < request_timeout.as_secs_f64() * 1000.0,
            format!(
                "accepted latency bounded by the limit: p99 {accepted_p99:.1} ms ≤ 1.5 × {concurrency_limit} / C + capacity p99 = {queue_bound_ms:.0} ms, max {accepted_max:.0} ms < request_timeout {} ms",
                request_timeout.as_millis()
            ),
        ),
        (
            last_quarter <= 1.5 * second_quarter + 5.0,
            format!(
                "accepted latency steady: p99 of the last quarter {last_quarter:.1} ms ≤ 1.5 × the second quarter's {second_quarter:.1} ms + 5 ms"
            ),
        ),
        (
            run.rss_peak <= run.rss_before + RSS_BUDGET_MIB,
            format!(
                "memory bounded: peak RSS {:.1} MiB ≤ {:.1} MiB before + {RSS_BUDGET_MIB:.0} MiB (after: {:.1} MiB)",
                run.rss_peak, run.rss_before, run.rss_after
            ),
        ),
    ];
    println!();
    for (pass, line) in checks {
        println!("{}: {line}", verdict(pass));
    }
}
