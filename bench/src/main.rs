//! `portal-bench`: boots `portal up` on SQLite and on PostgreSQL, seeds it through its RPCs, drives the hot
//! RPCs at fixed concurrency over real channels with real tokens, fans an advisory out into Postfix's
//! `smtp-sink`, and prints every figure next to a bare tonic echo server measured in the same run.
//!
//! `--overload` instead measures one authorized read's capacity and offers it open-loop at 1× and 2× that
//! (issue 14: what is shed, how fast, what the accepted calls wait, what memory does).
//!
//! `bash scripts/bench.sh` builds and runs it (`--smoke` for the short run CI makes).

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod echo;
mod load;
mod open_loop;
mod overload;
mod procs;
mod scenarios;
mod seed;

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "portal-bench",
    about = "Benchmark of the portal suite against a bare tonic echo server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Which storage to run the suite on.
    #[arg(long, value_enum, default_value_t = Backends::All)]
    backend: Backends,
    /// A short run with little data, to prove the benchmark works (what CI runs).
    #[arg(long)]
    smoke: bool,
    /// Seconds each scenario is measured (after a warm-up of a fifth of it).
    #[arg(long)]
    seconds: Option<f64>,
    /// Accounts to seed.
    #[arg(long)]
    accounts: Option<usize>,
    /// Only the scenarios whose name contains this (case-insensitive), e.g. `ListKeys` — for profiling one.
    #[arg(long)]
    only: Option<String>,
    /// The overload run instead of the scenarios: capacity of ListKeys closed-loop, then open-loop at 1× and 2×
    /// of it for twice `--seconds` each; prints shed and accepted figures, RSS, and PASS/FAIL per bound.
    #[arg(long)]
    overload: bool,
    /// Skip the advisory fan-out.
    #[arg(long)]
    no_advisory: bool,
    /// PostgreSQL server to create the run's database on.
    #[arg(
        long,
        env = "TEST_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
}

#[derive(Subcommand)]
enum Command {
    /// The echo baseline (started by the benchmark itself).
    #[command(hide = true)]
    EchoServer {
        #[arg(long)]
        listen: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backends {
    Sqlite,
    Postgres,
    All,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::EchoServer { listen }) = &cli.command {
        // The baseline gets the same runtime shape as the suite: tokio's multi-threaded default.
        let runtime = tokio::runtime::Runtime::new()?;
        return runtime.block_on(echo::serve(procs::parse_address(listen)?));
    }
    let mut plan = if cli.smoke {
        scenarios::Plan::smoke()
    } else {
        scenarios::Plan::full()
    };
    if let Some(seconds) = cli.seconds {
        plan.shape.measure = Duration::from_secs_f64(seconds);
        plan.shape.warmup = Duration::from_secs_f64(seconds / 5.0);
    }
    if let Some(accounts) = cli.accounts {
        plan.size.accounts = accounts;
    }
    plan.only = cli.only.map(|o| o.to_lowercase());
    plan.advisory = !cli.no_advisory;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let machine = scenarios::machine();
        println!(
            "# portal-bench — {machine}; load average at start {}",
            overload::load_average()
        );
        println!(
            "# {} connections × {} streams, {:.1} s measured per scenario after {:.1} s warm-up; seed: {} accounts × {} users ({} security contacts each), {} keys each",
            plan.shape.connections,
            plan.shape.streams_per_connection,
            plan.shape.measure.as_secs_f64(),
            plan.shape.warmup.as_secs_f64(),
            plan.size.accounts,
            plan.size.users_per_account,
            plan.size.contacts_per_account,
            plan.size.keys_per_account,
        );
        let mut failed = false;
        let overload = cli.overload;
        let run = |database_url: Option<String>| {
            let plan = plan.clone();
            async move {
                if overload {
                    overload::run(&plan, database_url.as_deref()).await
                } else {
                    scenarios::run(&plan, database_url.as_deref()).await
                }
            }
        };
        if matches!(cli.backend, Backends::Sqlite | Backends::All) {
            failed |= !run(None).await?;
        }
        if matches!(cli.backend, Backends::Postgres | Backends::All) {
            let database = procs::Database::create(&cli.postgres_url)?;
            failed |= !run(Some(database.url.clone())).await?;
        }
        if failed {
            anyhow::bail!("a correctness check of the benchmark failed (see above)");
        }
        anyhow::Ok(())
    })
}
