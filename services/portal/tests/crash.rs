//! N3 across crashes (issue 14): a fan-out on PostgreSQL, the notification process killed with SIGKILL at random
//! moments and started again each time. Every recipient gets the advisory, every copy a recipient gets carries
//! the same Message-ID, and duplicates are bounded by the batch each dead process had claimed.
//!
//! By default 2,000 recipients and 3 kills; `PORTAL_FAULTS_LONG=1` (`scripts/faults.sh`) makes it 10,000
//! recipients and 10 kills. `PORTAL_FAULTS_SEED` replays the kill moments of an earlier run (it prints its seed).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures::StreamExt;
use portal_proto::{
    identity::{Permission, Role},
    notification::{self as pb, AdvisoryKind, Severity},
};
use portal_testkit::{Backend, ServiceKind, TestApp, clients, smtp::SmtpSink};
use secrecy::ExposeSecret;

const PORTAL: &str = env!("CARGO_BIN_EXE_portal");
const PER_ACCOUNT: usize = 20;
const BATCH: usize = 50;

/// How big the run is: (accounts of `PER_ACCOUNT` contacts, SIGKILLs).
fn scale() -> (usize, usize) {
    if std::env::var_os("PORTAL_FAULTS_LONG").is_some_and(|v| v == "1") {
        (500, 10)
    } else {
        (100, 3)
    }
}

/// A small xorshift generator: the kill moments are random, and reproducible from the printed seed.
struct Moments(u64);

impl Moments {
    fn new() -> Self {
        let seed = std::env::var("PORTAL_FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        println!("crash test: PORTAL_FAULTS_SEED={seed}");
        Self(seed.max(1))
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

struct Notifier {
    child: Child,
    address: String,
}

impl Drop for Notifier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_notifier(core: &TestApp, sink: &SmtpSink) -> Notifier {
    let settings = &core.settings;
    let mut child = Command::new(PORTAL)
        .args(["serve", "notification", "--listen", "127.0.0.1:0"])
        .env("PORTAL_NOTIFICATION__PUBLIC__LISTEN", "127.0.0.1:0")
        .env("PORTAL_DATA_DIR", &settings.data_dir)
        .env(
            "PORTAL_DATABASE__URL",
            settings.database.url.as_ref().unwrap().expose_secret(),
        )
        .env("PORTAL_PEERS__IDENTITY", format!("http://{}", core.address))
        .env(
            "PORTAL_PEERS__LICENSING",
            format!("http://{}", core.address),
        )
        .env("PORTAL_SMTP__URL", sink.url())
        .env("PORTAL_SMTP__BATCH_SIZE", BATCH.to_string())
        .env("PORTAL_SMTP__LEASE_SECS", "3")
        .env("PORTAL_SMTP__POLL_MS", "50")
        .env("PORTAL_TELEMETRY__LOG_FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("portal: serving notification on "),
        "{line}"
    );
    Notifier {
        address: line.trim().rsplit(' ').next().unwrap().to_string(),
        child,
    }
}

async fn notification(address: &str, token: &str) -> clients::Notification {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    clients::notification(channel, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n3_sigkills_mid_fan_out_lose_nobody_and_keep_message_ids() {
    let (accounts_n, kills) = scale();
    let recipients_n = accounts_n * PER_ACCOUNT;
    let mut moments = Moments::new();
    let sink = SmtpSink::start().await;
    let core = TestApp::spawn_with(
        Backend::Postgres,
        &[ServiceKind::Identity, ServiceKind::Licensing],
        |_| {},
    )
    .await;

    // 100 accounts × 20 security contacts (plus each account's Administrator, who is not a contact).
    let mut accounts = Vec::new();
    for a in 0..accounts_n {
        accounts.push(core.new_account(&format!("Crash{a}"), false).await);
    }
    let creations = accounts.iter().enumerate().flat_map(|(a, account)| {
        (0..PER_ACCOUNT).map(move |u| (account.clone(), format!("sec{u}@crash{a}.example")))
    });
    let expected: BTreeSet<String> = creations.clone().map(|(_, email)| email).collect();
    futures::stream::iter(creations)
        .for_each_concurrent(16, |(account, email)| {
            let core = &core;
            async move {
                core.new_user(
                    &account,
                    &email,
                    Role::DownloadOnly,
                    &[Permission::SecurityPointOfContact],
                )
                .await;
            }
        })
        .await;
    assert_eq!(expected.len(), recipients_n);

    sink.delay(Duration::from_millis(3));
    let token = core.service_token("secops", "notification.publish");
    let first = start_notifier(&core, &sink);
    let mut publisher = notification(&first.address, &token).await;
    let started = Instant::now();
    let advisory = publisher
        .publish_advisory(pb::PublishAdvisoryRequest {
            kind: AdvisoryKind::Security as i32,
            severity: Severity::High as i32,
            title: "Crash-safe fan-out".into(),
            summary: "Every contact must get this once.".into(),
            target: Some(pb::publish_advisory_request::Target::AccountIds(
                pb::AccountList {
                    account_ids: accounts.clone(),
                },
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ours = |sink: &SmtpSink| {
        sink.count_matching(|m| {
            m.header("Subject")
                .is_some_and(|s| s.contains(&advisory.advisory_id))
        })
    };
    // Each kill at a random point of the fan-out (between 5 % and 90 % of the recipients mailed), in order,
    // after a random extra 0–300 ms.
    let mut kill_at: Vec<usize> = (0..kills)
        .map(|_| recipients_n / 20 + moments.below((recipients_n * 85 / 100) as u64) as usize)
        .collect();
    kill_at.sort();
    let mut notifier = first;
    let mut at_kill = Vec::new();
    for threshold in kill_at {
        let deadline = Instant::now() + Duration::from_secs(300);
        while ours(&sink) < threshold {
            assert!(
                Instant::now() < deadline,
                "the fan-out stalled before {threshold} mails"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(moments.below(300))).await;
        // SIGKILL: no drain, no release of claimed rows.
        drop(notifier);
        at_kill.push(ours(&sink));
        notifier = start_notifier(&core, &sink);
    }

    let mut watcher = notification(&notifier.address, &token).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let stats = watcher
            .get_advisory(pb::GetAdvisoryRequest {
                advisory_id: advisory.advisory_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .stats
            .unwrap();
        if stats.settled {
            assert_eq!((stats.sent, stats.dead), (recipients_n as i32, 0));
            break;
        }
        assert!(Instant::now() < deadline, "not settled: {stats:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();

    let mail: Vec<_> = sink
        .received()
        .into_iter()
        .filter(|m| {
            m.header("Subject")
                .is_some_and(|s| s.contains(&advisory.advisory_id))
        })
        .collect();
    let mut ids_by_recipient: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in &mail {
        ids_by_recipient
            .entry(m.to[0].clone())
            .or_default()
            .insert(m.header("Message-ID").unwrap());
    }
    let recipients: BTreeSet<String> = ids_by_recipient.keys().cloned().collect();
    assert_eq!(recipients, expected, "every recipient got the advisory");
    let split: Vec<_> = ids_by_recipient
        .iter()
        .filter(|(_, ids)| ids.len() != 1)
        .collect();
    assert!(
        split.is_empty(),
        "a recipient got two different Message-IDs: {split:?}"
    );
    let duplicates = mail.len() - expected.len();
    assert!(
        duplicates <= BATCH * kills,
        "duplicates {duplicates} exceed the batch each of the {kills} dead processes had claimed ({BATCH} each)"
    );
    println!(
        "crash test: {} recipients, {kills} SIGKILLs after {at_kill:?} mails, 0 lost, {duplicates} duplicate sends \
         (bound {BATCH} per kill), settled in {:.1}s",
        expected.len(),
        elapsed.as_secs_f64()
    );
}
