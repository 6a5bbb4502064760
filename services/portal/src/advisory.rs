//! `portal advisory publish|status|watch|export`: an operator (or a pipeline) publishes an advisory — described in
//! a TOML/JSON file, or a PSIRT's CSAF 2.0 document (N11) — follows its delivery live, and ends with who was
//! reached, as a table or JSON, with an exit code a script can branch on (see [`exit`]); `export` prints any
//! advisory as CSAF 2.0 (N12).

mod file;
mod publish;
mod report;
mod table;
mod watch;

use std::{io::Write, path::PathBuf};

use clap::{ArgGroup, Args, Subcommand};
use portal_proto::notification::{
    GetAdvisoryCsafRequest, GetAdvisoryRequest,
    notification_service_client::NotificationServiceClient,
};

use crate::remote::{Authorized, Failure, Output, Remote, exit, print_json};
use publish::{Publish, print_published};
use report::{coverage, outcome, report, stats_json};
use watch::watch;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Publish the advisory a TOML or JSON file describes (see README), or a CSAF 2.0 document with a target.
    Publish {
        #[command(flatten)]
        source: Source,
        /// Follow delivery until it settles, as `watch` does, and exit as `watch` does.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        follow: Follow,
        #[command(flatten)]
        remote: Remote,
    },
    /// Print an advisory as a CSAF 2.0 document (N12), e.g. `portal advisory export ADV-2026-001 > a.json`.
    Export {
        /// The advisory id, `ADV-YYYY-NNN`.
        advisory_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Print an advisory's delivery stats once; exit 0 only when it settled and reached everyone.
    Status {
        /// The advisory id, `ADV-YYYY-NNN`.
        advisory_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Follow an advisory's delivery live until it settles, then print who was reached.
    Watch {
        /// The advisory id, `ADV-YYYY-NNN`.
        advisory_id: String,
        #[command(flatten)]
        follow: Follow,
        #[command(flatten)]
        remote: Remote,
    },
}

/// What to publish: an advisory file (its target inside), or a CSAF document and a target given by flags.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("source").required(true).args(["file", "csaf"])))]
pub struct Source {
    /// The advisory and its target (`.toml` or `.json`).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// A CSAF 2.0 `csaf_security_advisory` document (JSON, N11); the target comes from the flags below.
    #[arg(long, value_name = "FILE")]
    csaf: Option<PathBuf>,
    /// With --csaf: every account that is not academic.
    #[arg(long, requires = "csaf")]
    all_accounts: bool,
    /// With --csaf: the accounts holding this product (desktop, prep-builder, server, elearning); repeatable.
    #[arg(long, value_name = "PRODUCT", requires = "csaf")]
    product: Vec<String>,
    /// With --csaf: the accounts holding the products the document names as affected.
    #[arg(long, requires = "csaf")]
    affected_products: bool,
    /// With --csaf: this account; repeatable.
    #[arg(long, value_name = "ACCOUNT_ID", requires = "csaf")]
    account: Vec<String>,
    /// With --csaf: the idempotency key (default: derived from the document and the target, so a rerun
    /// publishes nothing new).
    #[arg(long, value_name = "ID", requires = "csaf")]
    request_id: Option<String>,
}

#[derive(Args, Debug, Clone, Copy)]
pub struct Follow {
    /// Give up following after this many seconds (exit 4; delivery goes on in the suite).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    within: u64,
}

pub async fn run(command: Command) -> Result<u8, Failure> {
    match command {
        Command::Publish {
            source,
            wait,
            follow,
            remote,
        } => {
            let publish = Publish::read(&source)?;
            let mut client = client(&remote).await?;
            let advisory = match publish {
                Publish::File(request) => client.publish_advisory(remote.request(request)).await,
                Publish::Csaf(request) => {
                    client.publish_csaf_advisory(remote.request(request)).await
                }
            }?
            .into_inner();
            if wait {
                if remote.output == Output::Text {
                    print_published(&advisory);
                }
                return watch(&mut client, &remote, &advisory.advisory_id, follow).await;
            }
            match remote.output {
                Output::Json => print_json(&stats_json(
                    &advisory.advisory_id,
                    &advisory.stats.clone().unwrap_or_default(),
                )),
                Output::Text => print_published(&advisory),
            }
            Ok(exit::OK)
        }
        Command::Status {
            advisory_id,
            remote,
        } => {
            let mut client = client(&remote).await?;
            let advisory = client
                .get_advisory(remote.request(GetAdvisoryRequest {
                    advisory_id: advisory_id.clone(),
                }))
                .await?
                .into_inner();
            let stats = advisory.stats.unwrap_or_default();
            let coverage = if stats.settled {
                Some(coverage(&mut client, &remote, &stats).await?)
            } else {
                None
            };
            report(&remote, &advisory_id, &stats, coverage.as_ref());
            Ok(outcome(&stats))
        }
        Command::Watch {
            advisory_id,
            follow,
            remote,
        } => {
            let mut client = client(&remote).await?;
            watch(&mut client, &remote, &advisory_id, follow).await
        }
        Command::Export {
            advisory_id,
            remote,
        } => {
            let mut client = client(&remote).await?;
            let document = client
                .get_advisory_csaf(remote.request(GetAdvisoryCsafRequest { advisory_id }))
                .await?
                .into_inner()
                .document;
            let mut out = std::io::stdout().lock();
            out.write_all(&document)
                .and_then(|()| writeln!(out))
                .map_err(|e| Failure::new(format!("writing the document: {e}")))?;
            Ok(exit::OK)
        }
    }
}

type Client = NotificationServiceClient<Authorized>;

async fn client(remote: &Remote) -> Result<Client, Failure> {
    let (channel, bearer) = remote.connect().await?;
    Ok(NotificationServiceClient::with_interceptor(channel, bearer))
}
