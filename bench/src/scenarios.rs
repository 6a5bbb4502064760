//! One run of the benchmark against one storage backend: start the echo baseline, the sink and the suite,
//! seed, drive each scenario, check what must hold (nothing lost, nothing oversubscribed, one mail per
//! recipient), fan an advisory out, and print the table.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use portal_proto::{
    billing::{CreatePurchaseRequest, PurchaseItem, billing_service_client::BillingServiceClient},
    common::{KeyFamily, LicenseType, Product},
    identity::{
        Action, CheckAccessRequest, CreateUserRequest, GetUserRequest, Role,
        identity_service_client::IdentityServiceClient,
    },
    licensing::{
        ActivateKeyRequest, GetKeyRequest, IssueKeysRequest, ListKeysRequest,
        licensing_service_client::LicensingServiceClient,
    },
    notification::{
        AdvisoryKind, GetAdvisoryRequest, PublishAdvisoryRequest, Severity,
        notification_service_client::NotificationServiceClient, publish_advisory_request::Target,
    },
};
use portal_runtime::auth::Minter;
use tonic::metadata::AsciiMetadataValue;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::{
    echo::pb::{EchoRequest, echo_service_client::EchoServiceClient},
    load::{self, Figures, Shape, authorized},
    procs::{self, Sink, Suite},
    seed::{self, Seeded, Size, bearer, timestamp_in},
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

/// Runs every scenario against a fresh suite; false if a correctness check failed.
pub async fn run(plan: &Plan, database_url: Option<&str>) -> anyhow::Result<bool> {
    let backend = if database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let mut ok = true;
    let (echo_process, echo_address) = procs::start_echo()?;
    let sink = Sink::start()?;
    let data_dir =
        std::env::temp_dir().join(format!("portal-bench-{}-{backend}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let suite = Suite::start(&procs::portal_binary()?, &data_dir, database_url, sink.port)?;
    let minter = Arc::new(
        Minter::from_file(&suite.data_dir.join("signing-key.pem"), "portal", "portal")
            .context("reading the suite's signing key")?,
    );
    let shape = plan.shape;

    // Idle round trips: one call at a time, on a quiet server.
    let channels = load::connect(&suite.address, shape.connections).await?;
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
    if sink
        .wait_for(seeded.notices as u64, Duration::from_secs(600))
        .await
    {
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
        ok = false;
    }

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

    let idle = idle_round_trips(&channels[0], &minter, &seeded).await?;
    let mut rows = reads(&channels, plan, &minter, &seeded).await?;
    let (writes, checks_ok) = writes(&channels, plan, &minter, &seeded).await?;
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
        ok &= advisory(&channels[0], &minter, &seeded, plan, &sink).await?;
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
    drop(suite);
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(ok)
}

fn user_tokens(
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

/// 20 sequential calls of each kind on an otherwise idle server: (name, median ms, slowest ms).
async fn idle_round_trips(
    channel: &tonic::transport::Channel,
    minter: &Minter,
    seeded: &Seeded,
) -> anyhow::Result<Vec<(&'static str, f64, f64)>> {
    let admins = user_tokens(minter, seeded, |a| &a.admin_user_id)?;
    let (token, user_id, account_id) = admins[0].clone();
    let mut licensing = LicensingServiceClient::new(channel.clone());
    let mut identity = IdentityServiceClient::new(channel.clone());
    let (mut list_keys, mut get_user) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let started = Instant::now();
        licensing
            .list_keys(authorized(
                ListKeysRequest {
                    account_id: account_id.clone(),
                    page_size: 50,
                    page_token: String::new(),
                },
                &token,
            ))
            .await?;
        list_keys.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        identity
            .get_user(authorized(
                GetUserRequest {
                    user_id: user_id.clone(),
                    without_persona: false,
                },
                &token,
            ))
            .await?;
        get_user.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let summary = |mut ms: Vec<f64>| {
        ms.sort_by(f64::total_cmp);
        (ms[ms.len() / 2], ms[ms.len() - 1])
    };
    let (lk, gu) = (summary(list_keys), summary(get_user));
    Ok(vec![
        ("ListKeys (page of 50)", lk.0, lk.1),
        ("GetUser", gu.0, gu.1),
    ])
}

async fn reads(
    channels: &[tonic::transport::Channel],
    plan: &Plan,
    minter: &Minter,
    seeded: &Seeded,
) -> anyhow::Result<Vec<Row>> {
    let shape = plan.shape;
    let admins = user_tokens(minter, seeded, |a| &a.admin_user_id)?;
    let holders = user_tokens(minter, seeded, |a| &a.holder_user_id)?;
    let pick = |n: u64, of: usize| (n as usize) % of.max(1);
    let mut rows = Vec::new();

    let health = load::drive_if(
        plan.wants("grpc.health Check (the suite, no auth)"),
        channels,
        shape,
        |channel, _| async move {
            HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map(|_| ())
        },
    )
    .await;
    rows.push(Row {
        name: "grpc.health Check (the suite, no auth)",
        figures: health,
    });

    for (name, tokens, action) in [
        (
            "CheckAccess, Administrator",
            admins.clone(),
            Action::ViewInvoices,
        ),
        (
            "CheckAccess, Download Only (key holder)",
            holders.clone(),
            Action::DownloadProducts,
        ),
    ] {
        let figures = load::drive_if(plan.wants(name), channels, shape, move |channel, n| {
            let (token, user_id, account_id) = tokens[pick(n, tokens.len())].clone();
            async move {
                IdentityServiceClient::new(channel)
                    .check_access(authorized(
                        CheckAccessRequest {
                            user_id,
                            account_id,
                            action: action as i32,
                        },
                        &token,
                    ))
                    .await
                    .and_then(|r| {
                        if r.get_ref().allowed {
                            Ok(())
                        } else {
                            Err(tonic::Status::internal(format!(
                                "denied: {}",
                                r.get_ref().reason
                            )))
                        }
                    })
            }
        })
        .await;
        rows.push(Row { name, figures });
    }

    let tokens = holders.clone();
    let figures = load::drive_if(
        plan.wants("GetUser, Download Only (with persona)"),
        channels,
        shape,
        move |channel, n| {
            let (token, user_id, _) = tokens[pick(n, tokens.len())].clone();
            async move {
                IdentityServiceClient::new(channel)
                    .get_user(authorized(
                        GetUserRequest {
                            user_id,
                            without_persona: false,
                        },
                        &token,
                    ))
                    .await
                    .map(|_| ())
            }
        },
    )
    .await;
    rows.push(Row {
        name: "GetUser, Download Only (with persona)",
        figures,
    });

    let tokens = admins.clone();
    let figures = load::drive_if(
        plan.wants("ListKeys, Administrator, page of 50"),
        channels,
        shape,
        move |channel, n| {
            let (token, _, account_id) = tokens[pick(n, tokens.len())].clone();
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
        },
    )
    .await;
    rows.push(Row {
        name: "ListKeys, Administrator, page of 50",
        figures,
    });
    Ok(rows)
}

async fn writes(
    channels: &[tonic::transport::Channel],
    plan: &Plan,
    minter: &Minter,
    seeded: &Seeded,
) -> anyhow::Result<(Vec<Row>, bool)> {
    let shape = plan.shape;
    let ttl = Duration::from_secs(4 * 3600);
    let mut ok = true;
    let mut rows = Vec::new();
    let pick = |n: u64, of: usize| (n as usize) % of.max(1);
    let run = std::process::id();

    // ActivateKey: every stream activates new machines on one key, so every call contends for its pool.
    let activator = bearer(&minter.service("activation-backend", "licensing.activate", ttl))?;
    let issuer = bearer(&minter.service("bench", "licensing.issue", ttl))?;
    let first = &seeded.accounts[0];
    let key = LicensingServiceClient::new(channels[0].clone())
        .issue_keys(authorized(
            IssueKeysRequest {
                account_id: first.account_id.clone(),
                family: KeyFamily::Tc as i32,
                seats: 1_000_000,
                license_type: LicenseType::Term as i32,
                period_end: Some(timestamp_in(365)),
                maintenance_end: Some(timestamp_in(365)),
                count: 1,
                request_id: format!("bench-{run}-contended"),
                ..Default::default()
            },
            &issuer,
        ))
        .await?
        .into_inner()
        .keys
        .pop()
        .context("no contended key issued")?;
    let key_string = key.key.clone();
    let token = activator.clone();
    let figures = load::drive_if(
        plan.wants("ActivateKey, one contended pool"),
        channels,
        shape,
        move |channel, n| {
            let (key, token) = (key_string.clone(), token.clone());
            async move {
                LicensingServiceClient::new(channel)
                    .activate_key(authorized(
                        ActivateKeyRequest {
                            key,
                            product: Product::Desktop as i32,
                            machine_fingerprint: format!("machine-{n}"),
                            hostname: format!("host-{n}"),
                            version: "2026.3".into(),
                            user_email: String::new(),
                        },
                        &token,
                    ))
                    .await
                    .map(|_| ())
            }
        },
    )
    .await;
    let used = LicensingServiceClient::new(channels[0].clone())
        .get_key(authorized(
            GetKeyRequest {
                key_id: key.key_id.clone(),
            },
            &issuer,
        ))
        .await?
        .into_inner()
        .activations_used;
    // Warm-up and measured calls both activated new machines: each success is in the pool exactly once.
    let succeeded = figures.ok + figures.warmup_ok;
    if u64::try_from(used).unwrap_or(0) == succeeded {
        println!("ActivateKey check: {succeeded} activations succeeded, the pool counts {used}");
    } else {
        println!(
            "CHECK FAILED: ActivateKey: {succeeded} activations succeeded but the pool counts {used}"
        );
        ok = false;
    }
    rows.push(Row {
        name: "ActivateKey, one contended pool",
        figures,
    });

    // CreateUser: new users spread over the seeded accounts, by the vendor's account team.
    let admin = bearer(&minter.service("bench", "identity.admin", ttl))?;
    let accounts: Arc<Vec<String>> = Arc::new(
        seeded
            .accounts
            .iter()
            .map(|a| a.account_id.clone())
            .collect(),
    );
    let ids = accounts.clone();
    let figures = load::drive_if(
        plan.wants("CreateUser"),
        channels,
        shape,
        move |channel, n| {
            let account_id = ids[pick(n, ids.len())].clone();
            let token = admin.clone();
            async move {
                IdentityServiceClient::new(channel)
                    .create_user(authorized(
                        CreateUserRequest {
                            account_id,
                            email: format!("new{n}-{run}@bench.example"),
                            display_name: format!("New user {n}"),
                            role: Role::DownloadOnly as i32,
                            additional_permissions: vec![],
                            request_id: format!("bench-{run}-new-{n}"),
                        },
                        &token,
                    ))
                    .await
                    .map(|_| ())
            }
        },
    )
    .await;
    rows.push(Row {
        name: "CreateUser",
        figures,
    });

    // CreatePurchase: an Administrator buys one Desktop seat; billing has licensing issue the key.
    let admins = user_tokens(minter, seeded, |a| &a.admin_user_id)?;
    let figures = load::drive_if(
        plan.wants("CreatePurchase (one Desktop seat)"),
        channels,
        shape,
        move |channel, n| {
            let (token, _, account_id) = admins[pick(n, admins.len())].clone();
            async move {
                BillingServiceClient::new(channel)
                    .create_purchase(authorized(
                        CreatePurchaseRequest {
                            account_id,
                            items: vec![PurchaseItem {
                                sku: "DESKTOP-TERM-1Y".into(),
                                quantity: 1,
                            }],
                            request_id: format!("bench-{run}-buy-{n}"),
                        },
                        &token,
                    ))
                    .await
                    .map(|_| ())
            }
        },
    )
    .await;
    rows.push(Row {
        name: "CreatePurchase (one Desktop seat)",
        figures,
    });
    Ok((rows, ok))
}

/// Publishes a security advisory to every seeded account and times the ledger and the mail.
async fn advisory(
    channel: &tonic::transport::Channel,
    minter: &Minter,
    seeded: &Seeded,
    plan: &Plan,
    sink: &Sink,
) -> anyhow::Result<bool> {
    let recipients = (seeded.accounts.len() * plan.size.contacts_per_account) as u64;
    // Wait for the notices the write scenarios queued to be sent, so the advisory has the sink to itself.
    let mut quiet_for = 0;
    let mut last = sink.count();
    while quiet_for < 10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = sink.count();
        quiet_for = if now == last { quiet_for + 1 } else { 0 };
        last = now;
    }
    let ceiling = sink.ceiling(recipients.max(1000))?;
    let before = sink.count();
    let token =
        bearer(&minter.service("secops", "notification.publish", Duration::from_secs(3600)))?;
    let mut client = NotificationServiceClient::new(channel.clone());
    let started = Instant::now();
    let advisory = client
        .publish_advisory(authorized(
            PublishAdvisoryRequest {
                kind: AdvisoryKind::Security as i32,
                severity: Severity::Critical as i32,
                title: "Benchmark advisory".into(),
                summary: "A remote code execution in the benchmark.".into(),
                impact: "None; this is a measurement.".into(),
                resolution: "Upgrade to 2026.4.".into(),
                target: Some(Target::AllAccounts(true)),
                request_id: format!("bench-{}-advisory", std::process::id()),
                ..Default::default()
            },
            &token,
        ))
        .await?
        .into_inner();
    // The ledger is watched every 50 ms until it is complete; after that only the sink's own counter is
    // watched (in this process, free), so that polling the suite does not slow what it measures.
    let stats_of = |mut client: NotificationServiceClient<tonic::transport::Channel>| {
        let (advisory_id, token) = (advisory.advisory_id.clone(), token.clone());
        async move {
            anyhow::Ok(
                client
                    .get_advisory(authorized(GetAdvisoryRequest { advisory_id }, &token))
                    .await?
                    .into_inner()
                    .stats
                    .unwrap_or_default(),
            )
        }
    };
    let ledger = loop {
        let stats = stats_of(client.clone()).await?;
        if u64::try_from(stats.total).unwrap_or(0) == recipients
            && stats.pending + stats.sent + stats.failed + stats.dead == stats.total
        {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("advisory ledger not ready within 600 s: {stats:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let all_in = loop {
        if sink.count() >= before + recipients {
            break true;
        }
        if started.elapsed() > Duration::from_secs(600) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let mailed = started.elapsed();
    let settled = loop {
        let stats = stats_of(client.clone()).await?;
        if stats.settled || started.elapsed() > Duration::from_secs(660) {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let extra_wait = Instant::now();
    // Anything beyond one mail per recipient would arrive right behind the last one.
    while extra_wait.elapsed() < Duration::from_millis(500) && sink.count() <= before + recipients {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let accepted = sink.count() - before;
    println!(
        "Advisory {} to {recipients} recipients: ledger ready in {:.2} s; every mail accepted by smtp-sink in {:.2} s = {:.0} mails/s; smtp-sink's own ceiling (smtp-source, 16 sessions, 4 KB) {:.0} mails/s ({:.0}% of it); sent {}, dead {}, sink counted {accepted}",
        advisory.advisory_id,
        ledger.as_secs_f64(),
        mailed.as_secs_f64(),
        recipients as f64 / mailed.as_secs_f64(),
        ceiling,
        100.0 * recipients as f64 / mailed.as_secs_f64() / ceiling,
        settled.sent,
        settled.dead,
    );
    let exact =
        all_in && accepted == recipients && u64::try_from(settled.sent).unwrap_or(0) == recipients;
    if !exact {
        println!(
            "CHECK FAILED: expected exactly {recipients} mails, sink counted {accepted}, ledger says sent {}",
            settled.sent
        );
    }
    Ok(exact)
}
