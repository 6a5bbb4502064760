//! Fault injection against PostgreSQL (issue 14): under a steady load of writes, the connections are killed
//! (`pg_terminate_backend`) and the server is crashed and restarted. The services recover without a restart,
//! answer `UNAVAILABLE` (never `INTERNAL`) while the database is out of reach, and no acknowledged write is lost.
//! The server is a private cluster of the test's own (`portal_testkit::cluster`), never the shared one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use portal_proto::{common::KeyFamily, identity as id, licensing as lic};
use portal_runtime::error::{reason, reason_of};
use portal_testkit::{
    Backend, ServiceKind, TestApp,
    cluster::{PrivateCluster, StopMode},
    fixtures, wait,
};
use tonic::Code;

const WRITERS: usize = 8;

/// One write a writer attempted, by its request id.
#[derive(Debug, Clone)]
enum Write {
    Account { request_id: String },
    Keys { request_id: String },
}

/// What the writers saw: the writes acknowledged (and what they returned), the ones refused as UNAVAILABLE, and
/// anything else (which fails the test).
#[derive(Debug, Default)]
struct Ledger {
    accounts: Vec<(String, id::Account)>,
    keys: Vec<(String, Vec<lic::ProductKey>)>,
    unavailable: Vec<Write>,
    wrong: Vec<String>,
}

impl Ledger {
    fn acknowledged(&self) -> usize {
        self.accounts.len() + self.keys.len()
    }
}

/// When the load's term keys end: one instant for the whole run, so a retried request is the same request.
static PERIOD_END: std::sync::LazyLock<chrono::DateTime<chrono::Utc>> =
    std::sync::LazyLock::new(|| chrono::Utc::now() + chrono::Duration::days(365));

fn issue(account_id: &str, request_id: &str) -> lic::IssueKeysRequest {
    let end = Some(portal_runtime::time::to_proto(*PERIOD_END));
    lic::IssueKeysRequest {
        request_id: request_id.into(),
        period_end: end,
        maintenance_end: end,
        ..fixtures::term_key(account_id, KeyFamily::Td, 1)
    }
}

fn account(request_id: &str) -> id::CreateAccountRequest {
    id::CreateAccountRequest {
        name: format!("Load {request_id}"),
        academic: false,
        request_id: request_id.into(),
    }
}

/// A writer: CreateAccount and IssueKeys in turn, each with a fresh request id, until told to stop.
async fn writer(
    app: Arc<TestApp>,
    n: usize,
    owner: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) {
    let token = app.operator_token();
    let mut identity = app.identity(&token).await;
    let mut licensing = app.licensing(&token).await;
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let request_id = format!("w{n}-{i}");
        let (write, result) = if i % 2 == 0 {
            let r = identity.create_account(account(&request_id)).await;
            let write = Write::Account {
                request_id: request_id.clone(),
            };
            let r = r.map(|ok| {
                ledger
                    .lock()
                    .unwrap()
                    .accounts
                    .push((request_id, ok.into_inner()))
            });
            (write, r)
        } else {
            let r = licensing.issue_keys(issue(&owner, &request_id)).await;
            let write = Write::Keys {
                request_id: request_id.clone(),
            };
            let r = r.map(|ok| {
                ledger
                    .lock()
                    .unwrap()
                    .keys
                    .push((request_id, ok.into_inner().keys))
            });
            (write, r)
        };
        if let Err(status) = result {
            let mut ledger = ledger.lock().unwrap();
            if status.code() == Code::Unavailable
                && reason_of(&status).as_deref() == Some(reason::UNAVAILABLE)
            {
                ledger.unavailable.push(write);
            } else {
                ledger.wrong.push(format!("{write:?}: {status:?}"));
            }
        }
    }
}

/// Waits until `more` writes beyond `from` were acknowledged: the services answer again.
async fn acknowledged_beyond(
    ledger: &Mutex<Ledger>,
    from: usize,
    more: usize,
    what: &str,
) -> usize {
    wait::until(what, Duration::from_secs(60), async || {
        let ledger = ledger.lock().unwrap();
        assert!(ledger.wrong.is_empty(), "{:?}", ledger.wrong);
        let n = ledger.acknowledged();
        if n >= from + more { Ok(n) } else { Err(n) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_connections_and_a_restart_lose_no_acknowledged_write() {
    let cluster = Arc::new(
        tokio::task::spawn_blocking(PrivateCluster::start)
            .await
            .unwrap(),
    );
    let url = cluster.url("portal");
    // The app's database is the private cluster's (the SQLite file it would otherwise make is never opened).
    let app = Arc::new(
        TestApp::spawn_with(
            Backend::Sqlite,
            &[ServiceKind::Identity, ServiceKind::Licensing],
            |s| s.database.url = Some(url.into()),
        )
        .await,
    );
    let owner = app.new_account("Owner", false).await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| {
            tokio::spawn(writer(
                app.clone(),
                n,
                owner.clone(),
                ledger.clone(),
                stop.clone(),
            ))
        })
        .collect();

    // 1. Every connection of the services killed mid-load.
    let before = acknowledged_beyond(&ledger, 0, 100, "100 writes before the fault").await;
    let killed = cluster.sql(
        "postgres",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = 'portal' AND pid <> pg_backend_pid()",
    );
    let killed: usize = killed.parse().unwrap();
    assert!(killed > 0, "the services held connections");
    let after_kill = acknowledged_beyond(
        &ledger,
        before,
        100,
        "100 writes after pg_terminate_backend",
    )
    .await;

    // 2. The server crashes (immediate stop: no checkpoint) and stays down until a caller has been told
    //    UNAVAILABLE, then starts again, recovering from its WAL.
    let unavailable_before = ledger.lock().unwrap().unavailable.len();
    let down = cluster.clone();
    tokio::task::spawn_blocking(move || down.stop(StopMode::Immediate))
        .await
        .unwrap();
    let outage = Instant::now();
    wait::until(
        "a write refused as UNAVAILABLE",
        Duration::from_secs(60),
        async || {
            let ledger = ledger.lock().unwrap();
            assert!(ledger.wrong.is_empty(), "{:?}", ledger.wrong);
            if ledger.unavailable.len() > unavailable_before {
                Ok(())
            } else {
                Err(ledger.unavailable.len())
            }
        },
    )
    .await;
    let up = cluster.clone();
    tokio::task::spawn_blocking(move || up.start_again())
        .await
        .unwrap();
    let outage = outage.elapsed();
    let after_restart =
        acknowledged_beyond(&ledger, after_kill, 100, "100 writes after the restart").await;

    // 3. A clean restart (fast stop) as an operator would do it.
    let bounce = cluster.clone();
    tokio::task::spawn_blocking(move || {
        bounce.stop(StopMode::Fast);
        bounce.start_again();
    })
    .await
    .unwrap();
    acknowledged_beyond(
        &ledger,
        after_restart,
        100,
        "100 writes after a fast restart",
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed();

    let ledger = Arc::try_unwrap(ledger).unwrap().into_inner().unwrap();
    assert!(
        ledger.wrong.is_empty(),
        "only UNAVAILABLE while the database was out of reach: {:?}",
        ledger.wrong
    );
    let token = app.operator_token();
    let mut identity = app.identity(&token).await;
    let mut licensing = app.licensing(&token).await;
    // Every acknowledged write is there, as acknowledged, and its request id still answers with it.
    for (request_id, acked) in &ledger.accounts {
        let stored = identity
            .get_account(id::GetAccountRequest {
                account_id: acked.account_id.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("acknowledged account {request_id} lost: {e:?}"))
            .into_inner();
        assert_eq!(&stored, acked, "{request_id}");
        let replay = identity
            .create_account(account(request_id))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(replay.account_id, acked.account_id, "{request_id}");
    }
    for (request_id, acked) in &ledger.keys {
        for key in acked {
            let stored = licensing
                .get_key(lic::GetKeyRequest {
                    key_id: key.key_id.clone(),
                })
                .await
                .unwrap_or_else(|e| panic!("acknowledged key of {request_id} lost: {e:?}"))
                .into_inner();
            assert_eq!(
                (&stored.key_id, &stored.account_id),
                (&key.key_id, &owner),
                "{request_id}"
            );
        }
        let replay = licensing
            .issue_keys(issue(&owner, request_id))
            .await
            .unwrap()
            .into_inner();
        let ids =
            |keys: &[lic::ProductKey]| keys.iter().map(|k| k.key_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&replay.keys), ids(acked), "{request_id}");
    }
    // A write refused as UNAVAILABLE is safe to retry with its request id: it completes (once) now.
    for write in &ledger.unavailable {
        match write {
            Write::Account { request_id } => {
                identity.create_account(account(request_id)).await.unwrap();
            }
            Write::Keys { request_id } => {
                let keys = licensing
                    .issue_keys(issue(&owner, request_id))
                    .await
                    .unwrap()
                    .into_inner()
                    .keys;
                assert_eq!(keys.len(), 1, "{request_id}");
            }
        }
    }
    println!(
        "database faults: {} writes acknowledged ({} accounts, {} key issues), {} refused UNAVAILABLE and retried, \
         0 lost, 0 INTERNAL; {killed} connections killed; server down {:.1}s; {:.1}s in all",
        ledger.acknowledged(),
        ledger.accounts.len(),
        ledger.keys.len(),
        ledger.unavailable.len(),
        outage.as_secs_f64(),
        elapsed.as_secs_f64()
    );
}

/// One CreateAccount with a client deadline well past any server bound: its status and how long it took.
async fn timed_create(app: &TestApp, request_id: &str) -> (Result<(), tonic::Status>, Duration) {
    let mut identity = app.identity(&app.operator_token()).await;
    let mut request = tonic::Request::new(account(request_id));
    request.set_timeout(Duration::from_secs(30));
    let started = Instant::now();
    let result = identity.create_account(request).await.map(drop);
    (result, started.elapsed())
}

/// Issue 24: a database that does not answer, where the old bound was the pool's 10 s acquire timeout and a
/// statement's wait had none: a frozen server (`database.acquire_timeout_ms`, 2 s) and a statement stuck behind
/// a lock (`database.statement_timeout_ms`, 1 s here) are each `UNAVAILABLE` within seconds, and the service
/// carries on once the database does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_server_that_stops_answering_or_a_stuck_statement_is_unavailable_within_seconds()
{
    let cluster = tokio::task::spawn_blocking(PrivateCluster::start)
        .await
        .unwrap();
    let url = cluster.url("portal");
    let app = TestApp::spawn_with(Backend::Sqlite, &[ServiceKind::Identity], |s| {
        s.database.url = Some(url.into());
        s.database.statement_timeout_ms = 1_000;
    })
    .await;
    // Connections in the pool, as a running service has them.
    for n in 0..4 {
        let (result, _) = timed_create(&app, &format!("warm-{n}")).await;
        result.unwrap();
    }

    // The server stops answering, without refusing anything: every process of it is stopped (SIGSTOP).
    let frozen = cluster.freeze();
    let mut took = Vec::new();
    for n in 0..3 {
        let (result, elapsed) = timed_create(&app, &format!("frozen-{n}")).await;
        let status = result.expect_err("no write while the server is frozen");
        assert_eq!(
            (status.code(), reason_of(&status).as_deref()),
            (Code::Unavailable, Some(reason::UNAVAILABLE)),
            "{status:?}"
        );
        // The machine may be slow; the old bound (the pool's 10 s acquire timeout) is far off either way.
        assert!(
            elapsed < Duration::from_secs(6),
            "UNAVAILABLE only after {elapsed:?}"
        );
        took.push(elapsed);
    }

    // Running again, it is used again without a restart of the service.
    drop(frozen);
    let after = wait::until(
        "a write once the server runs again",
        Duration::from_secs(60),
        async || match timed_create(&app, "thawed").await {
            (Ok(()), elapsed) => Ok(elapsed),
            (Err(status), _) => Err(status),
        },
    )
    .await;

    // A statement stuck behind a lock another session holds is cancelled at the statement timeout.
    let mut holder = cluster.spawn_sql(
        "portal",
        "BEGIN; LOCK TABLE identity.accounts IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);",
    );
    wait::until("the lock held", Duration::from_secs(30), async || {
        let held = cluster.sql(
            "portal",
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = 'accounts' AND l.mode = 'AccessExclusiveLock' AND l.granted",
        );
        if held == "1" { Ok(()) } else { Err(held) }
    })
    .await;
    let (result, stuck) = timed_create(&app, "behind-a-lock").await;
    cluster.sql(
        "postgres",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()",
    );
    let _ = holder.kill();
    let _ = holder.wait();
    let status = result.expect_err("no write while the table is locked");
    assert_eq!(
        (status.code(), reason_of(&status).as_deref()),
        (Code::Unavailable, Some(reason::UNAVAILABLE)),
        "{status:?}"
    );
    assert!(
        stuck < Duration::from_secs(6),
        "UNAVAILABLE only after {stuck:?}"
    );
    let (result, _) = timed_create(&app, "behind-a-lock").await;
    result.expect("the same request again, once the lock is gone");
    println!(
        "frozen PostgreSQL: UNAVAILABLE after {took:?}; the first write after SIGCONT took {after:?}; \
         a statement stuck behind a lock: UNAVAILABLE after {stuck:?}"
    );
}
