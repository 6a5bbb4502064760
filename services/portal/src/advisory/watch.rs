//! `watch`: follows an advisory's delivery live, drawing progress on stderr, until it settles or time runs out.

use std::{
    io::{IsTerminal, Write},
    time::Duration,
};

use portal_proto::notification::{AdvisoryStats, WatchAdvisoryRequest};

use super::{
    Client, Follow,
    report::{coverage, outcome, report},
    table::summary_line,
};
use crate::remote::{Failure, Remote, exit};

/// Streams the stats until they settle (or `within` passes), drawing progress on stderr, then prints the coverage.
pub(super) async fn watch(
    client: &mut Client,
    remote: &Remote,
    advisory_id: &str,
    follow: Follow,
) -> Result<u8, Failure> {
    let mut progress = Progress::new(advisory_id);
    let within = Duration::from_secs(follow.within);
    let deadline = tokio::time::Instant::now() + within;
    let followed = tokio::time::timeout(within, async {
        let mut last: Option<AdvisoryStats> = None;
        // The server ends a watch after its lifetime (N4) with the stats unsettled: watch again.
        loop {
            let mut request = tonic::Request::new(WatchAdvisoryRequest {
                advisory_id: advisory_id.to_string(),
            });
            request.set_timeout(deadline.saturating_duration_since(tokio::time::Instant::now()));
            let mut stream = client.watch_advisory(request).await?.into_inner();
            let mut got_any = false;
            while let Some(stats) = stream.message().await? {
                progress.show(&stats);
                got_any = true;
                last = Some(stats);
            }
            if !got_any || last.as_ref().is_some_and(|s| s.settled) {
                return Ok::<_, tonic::Status>(last);
            }
        }
    })
    .await;
    progress.finish();
    let stats = match followed {
        Ok(Ok(Some(stats))) => stats,
        Ok(Ok(None)) => return Err(Failure::new("the stream ended without any stats")),
        Ok(Err(status)) if status.code() == tonic::Code::DeadlineExceeded => {
            return not_settled(advisory_id, follow);
        }
        Ok(Err(status)) => return Err(status.into()),
        Err(_) => return not_settled(advisory_id, follow),
    };
    let coverage = if stats.settled {
        Some(coverage(client, remote, &stats).await?)
    } else {
        None
    };
    report(remote, advisory_id, &stats, coverage.as_ref());
    Ok(outcome(&stats))
}

fn not_settled(advisory_id: &str, follow: Follow) -> Result<u8, Failure> {
    Err(Failure {
        message: format!(
            "{advisory_id} did not settle within {} s; delivery goes on, `portal advisory watch {advisory_id}` follows it again",
            follow.within
        ),
        code: exit::NOT_SETTLED,
    })
}

/// Live progress on stderr: a redrawn bar on a terminal, one plain line per change otherwise (logs, pipelines).
struct Progress {
    advisory_id: String,
    terminal: bool,
    drawn: bool,
}

impl Progress {
    fn new(advisory_id: &str) -> Self {
        Self {
            advisory_id: advisory_id.to_string(),
            terminal: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    fn show(&mut self, s: &AdvisoryStats) {
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            self.drawn = true;
            write!(err, "\r\x1b[2K{}", bar(&self.advisory_id, s))
        } else {
            writeln!(err, "{}", summary_line(&self.advisory_id, s))
        };
        let _ = err.flush();
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}

/// `ADV-2026-001 [#########...........]  45% sent 45 · pending 50 · failed 5 · dead 0 · accounts 12`
fn bar(advisory_id: &str, s: &AdvisoryStats) -> String {
    const WIDTH: usize = 30;
    let done = (s.sent + s.dead).max(0) as usize;
    let total = (s.total.max(0) as usize).max(1);
    let filled = (done * WIDTH / total).min(WIDTH);
    format!(
        "{advisory_id} [{}{}] {:>3}% sent {} · pending {} · failed {} · dead {} · accounts {}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        done * 100 / total,
        s.sent,
        s.pending,
        s.failed,
        s.dead,
        s.accounts_targeted,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_what_is_finished() {
        let s = AdvisoryStats {
            total: 4,
            sent: 1,
            dead: 1,
            pending: 2,
            ..Default::default()
        };
        let bar = bar("ADV-2026-001", &s);
        assert!(
            bar.contains(&format!("[{}{}]", "#".repeat(15), ".".repeat(15))),
            "{bar}"
        );
        assert!(bar.contains(" 50%"), "{bar}");
    }
}
