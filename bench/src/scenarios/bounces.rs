//! What comes back (N14), after the fan-out: every advisory mail bounces. First one account's contacts alone —
//! the time from the last DSN's `250` to the escalation mail (N8) in the sink; then all the others' DSNs over 8
//! SMTP sessions at once into the inbound listener — reports recorded per second — and the time until every
//! escalation mail is in. Checked: every delivery ends DEAD, and each escalation mail arrives once.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::future::try_join_all;
use portal_notification::domain::bounce::n13_return_path;
use portal_proto::notification::{
    DeliveryState, GetAdvisoryRequest, ListDeliveriesRequest,
    notification_service_client::NotificationServiceClient,
};
use portal_runtime::auth::Minter;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

use crate::{
    load::authorized,
    procs::{Sink, Suite},
    seed::bearer,
};

/// The delivery report each bounce is: Exim's, as the fixture has it.
const DSN: &str = include_str!("../../../tests/fixtures/mail/exim-failed.eml");
/// Concurrent sessions of the throughput run.
const SESSIONS: usize = 8;

/// One advisory delivery to bounce.
#[derive(Debug, Clone)]
struct Bounce {
    account_id: String,
    email: String,
    return_path: String,
}

/// Bounces every delivery of `advisory_id` (all to distinct accounts' contacts) into the suite's listener.
pub(super) async fn bounces(
    channel: &tonic::transport::Channel,
    minter: &Minter,
    suite: &Suite,
    sink: &Sink,
    advisory_id: &str,
) -> anyhow::Result<bool> {
    // The return paths are sealed with the deployment's key, which the benchmark holds (it mints tokens too).
    let key = std::fs::read(suite.data_dir.join("signing-key.pem"))?;
    portal_runtime::seal::set_secret(&key);
    let token =
        bearer(&minter.service("secops", "notification.publish", Duration::from_secs(3600)))?;
    let mut client = NotificationServiceClient::new(channel.clone());
    let mut bounces = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_deliveries(authorized(
                ListDeliveriesRequest {
                    advisory_id: advisory_id.into(),
                    state: DeliveryState::Sent as i32,
                    page_size: 1000,
                    page_token,
                },
                &token,
            ))
            .await?
            .into_inner();
        bounces.extend(page.deliveries.into_iter().map(|d| Bounce {
            return_path: n13_return_path(&d.delivery_id, &suite.bounce_domain),
            account_id: d.account_id,
            email: d.email,
        }));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let Some(first_account) = bounces.first().map(|b| b.account_id.clone()) else {
        bail!("the advisory has no sent deliveries to bounce");
    };
    let (probe, rest): (Vec<Bounce>, Vec<Bounce>) = bounces
        .into_iter()
        .partition(|b| b.account_id == first_account);
    let accounts = 1 + {
        let mut ids: Vec<&str> = rest.iter().map(|b| b.account_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };

    // One account: from its last DSN accepted to its Administrator's escalation mail in the sink.
    let before = sink.count();
    let mut session = Session::open(&suite.inbound).await?;
    for bounce in &probe {
        session.report(bounce).await?;
    }
    let reported = Instant::now();
    let escalated = sink.wait_for(before + 1, Duration::from_secs(60)).await;
    let latency = reported.elapsed();

    // The rest, SESSIONS at a time.
    let started = Instant::now();
    let chunk = rest.len().div_ceil(SESSIONS).max(1);
    try_join_all(rest.chunks(chunk).map(|part| {
        let address = suite.inbound.clone();
        async move {
            let mut session = Session::open(&address).await?;
            for bounce in part {
                session.report(bounce).await?;
            }
            anyhow::Ok(())
        }
    }))
    .await?;
    let took = started.elapsed();
    let all_escalated = sink
        .wait_for(before + accounts as u64, Duration::from_secs(600))
        .await;
    let escalations_in = started.elapsed();
    let stats = client
        .get_advisory(authorized(
            GetAdvisoryRequest {
                advisory_id: advisory_id.into(),
            },
            &token,
        ))
        .await?
        .into_inner()
        .stats
        .unwrap_or_default();
    let total = probe.len() + rest.len();
    println!(
        "Bounces (N14): one account's {} DSNs, last one recorded → its escalation mail in smtp-sink {:.0} ms; {} more DSNs over {SESSIONS} SMTP sessions recorded in {:.2} s = {:.0} reports/s; all {accounts} escalation mails in smtp-sink {:.2} s after the first of those; ledger: dead {} of {total}, {} accounts escalated",
        probe.len(),
        latency.as_secs_f64() * 1000.0,
        rest.len(),
        took.as_secs_f64(),
        rest.len() as f64 / took.as_secs_f64(),
        escalations_in.as_secs_f64(),
        stats.dead,
        stats.escalated_account_ids.len(),
    );
    // Each account's escalation goes to its one Administrator, once: the sink sees exactly one mail each.
    let extra_wait = Instant::now();
    while extra_wait.elapsed() < Duration::from_millis(500)
        && sink.count() <= before + accounts as u64
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mailed = sink.count() - before;
    let exact = escalated
        && all_escalated
        && usize::try_from(stats.dead).unwrap_or(0) == total
        && mailed == accounts as u64;
    if !exact {
        println!(
            "CHECK FAILED: expected {total} dead and {accounts} escalation mails; ledger dead {}, sink counted {mailed}",
            stats.dead
        );
    }
    Ok(exact)
}

/// One SMTP session to the inbound listener, a report at a time.
struct Session {
    read: BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl Session {
    async fn open(address: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(address)
            .await
            .with_context(|| format!("connecting to the inbound listener {address}"))?;
        stream.set_nodelay(true)?;
        let (read, write) = stream.into_split();
        let mut session = Self {
            read: BufReader::new(read),
            write,
        };
        session.expect(220).await?;
        session.command("EHLO bench.example", 250).await?;
        Ok(session)
    }

    async fn report(&mut self, bounce: &Bounce) -> anyhow::Result<()> {
        self.command("MAIL FROM:<>", 250).await?;
        self.command(&format!("RCPT TO:<{}>", bounce.return_path), 250)
            .await?;
        self.command("DATA", 354).await?;
        let message = DSN
            .replace("{{VERP}}", &bounce.return_path)
            .replace("{{RCPT}}", &bounce.email)
            .replace("{{MESSAGE_ID}}", "bench@portal.example.test");
        let mut body = message.replace("\r\n.", "\r\n..");
        body.push_str(".\r\n");
        self.write.write_all(body.as_bytes()).await?;
        self.expect(250).await
    }

    async fn command(&mut self, line: &str, code: u16) -> anyhow::Result<()> {
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .await?;
        self.expect(code).await
    }

    async fn expect(&mut self, code: u16) -> anyhow::Result<()> {
        loop {
            let mut line = String::new();
            if self.read.read_line(&mut line).await? == 0 {
                bail!("the inbound listener closed the session");
            }
            if line.as_bytes().get(3) == Some(&b'-') {
                continue;
            }
            if !line.starts_with(&code.to_string()) {
                bail!("expected {code}, the inbound listener said {}", line.trim());
            }
            return Ok(());
        }
    }
}
