//! The fan-out: a security advisory to every seeded account, timed from publishing to the last mail the
//! sink accepts, next to the sink's own ceiling; checked: exactly one mail per recipient.

use std::time::{Duration, Instant};

use portal_proto::notification::{
    AdvisoryKind, GetAdvisoryRequest, PublishAdvisoryRequest, Severity,
    notification_service_client::NotificationServiceClient, publish_advisory_request::Target,
};
use portal_runtime::auth::Minter;

use super::Plan;
use crate::{
    load::authorized,
    procs::Sink,
    seed::{Seeded, bearer},
};

/// Publishes a security advisory to every seeded account and times the ledger and the mail; whether the checks
/// held, and the advisory's id.
pub(super) async fn advisory(
    channel: &tonic::transport::Channel,
    minter: &Minter,
    seeded: &Seeded,
    plan: &Plan,
    sink: &Sink,
) -> anyhow::Result<(bool, String)> {
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
    Ok((exact, advisory.advisory_id))
}
