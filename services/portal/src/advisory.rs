//! `portal advisory publish|status|watch|export`: an operator (or a pipeline) publishes an advisory — described in
//! a TOML/JSON file, or a PSIRT's CSAF 2.0 document (N11) — follows its delivery live, and ends with who was
//! reached, as a table or JSON, with an exit code a script can branch on (see [`exit`]); `export` prints any
//! advisory as CSAF 2.0 (N12).

use std::{
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use clap::{ArgGroup, Args, Subcommand};
use portal_proto::{
    common::Product,
    notification::{
        AccountCoverage, AccountList, Advisory, AdvisoryKind, AdvisoryStats, AffectedProduct,
        Coverage, GetAdvisoryCsafRequest, GetAdvisoryReportRequest, GetAdvisoryRequest,
        ProductList, PublishAdvisoryRequest, PublishCsafAdvisoryRequest, Severity, Tlp,
        WatchAdvisoryRequest, notification_service_client::NotificationServiceClient,
        publish_advisory_request::Target, publish_csaf_advisory_request::Target as CsafTarget,
    },
};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::remote::{Authorized, Failure, Output, Remote, enum_name, enum_value, exit, print_json};

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

/// A publish request, read from the command line and its file.
enum Publish {
    File(PublishAdvisoryRequest),
    Csaf(PublishCsafAdvisoryRequest),
}

impl Publish {
    fn read(source: &Source) -> Result<Self, Failure> {
        let usage = |message: String| Failure {
            message,
            code: exit::USAGE,
        };
        if let Some(file) = &source.file {
            return read_advisory(file).map(Publish::File);
        }
        let Some(path) = &source.csaf else {
            return Err(usage("--file or --csaf".into()));
        };
        let document = std::fs::read(path)
            .map_err(|e| Failure::new(format!("reading {}: {e}", path.display())))?;
        let target = csaf_target(source).map_err(usage)?;
        let request_id = source.request_id.clone().unwrap_or_else(|| {
            let mut seed = document.clone();
            seed.extend_from_slice(format!("{target:?}").as_bytes());
            format!("csaf-{}", &hex(&Sha256::digest(&seed))[..32])
        });
        Ok(Publish::Csaf(PublishCsafAdvisoryRequest {
            document,
            target: Some(target),
            request_id,
        }))
    }
}

/// The target of a CSAF import: exactly one of the target flags.
fn csaf_target(source: &Source) -> Result<CsafTarget, String> {
    let given = [
        source.all_accounts,
        !source.product.is_empty(),
        source.affected_products,
        !source.account.is_empty(),
    ];
    if given.iter().filter(|&&g| g).count() != 1 {
        return Err(
            "with --csaf, exactly one of --all-accounts, --product, --affected-products, --account"
                .into(),
        );
    }
    Ok(if source.all_accounts {
        CsafTarget::AllAccounts(true)
    } else if !source.account.is_empty() {
        CsafTarget::AccountIds(AccountList {
            account_ids: source.account.clone(),
        })
    } else {
        // --affected-products is an empty list: the service reads it as the document's affected products.
        CsafTarget::Products(ProductList {
            products: source
                .product
                .iter()
                .map(|p| product(p).map(|p| p as i32))
                .collect::<Result<_, _>>()?,
        })
    })
}

type Client = NotificationServiceClient<Authorized>;

/// What was published, for people: id, severity and title; the CSAF tracking of an imported one; CVEs; affected
/// products; how many recipients.
fn print_published(advisory: &Advisory) {
    let severity = Severity::try_from(advisory.severity)
        .map(|s| enum_name(s.as_str_name(), "SEVERITY_").to_ascii_uppercase())
        .unwrap_or_default();
    println!(
        "published {} [{severity}] {}",
        advisory.advisory_id, advisory.title
    );
    if !advisory.csaf_tracking_id.is_empty() {
        println!(
            "csaf: {} version {}",
            advisory.csaf_tracking_id, advisory.csaf_tracking_version
        );
    }
    if !advisory.cve_ids.is_empty() {
        println!("cves: {}", advisory.cve_ids.join(", "));
    }
    for affected in &advisory.affected_products {
        let product = Product::try_from(affected.product)
            .map(|p| enum_name(p.as_str_name(), "PRODUCT_").to_ascii_uppercase())
            .unwrap_or_default();
        let fixed = if affected.fixed_versions.is_empty() {
            String::new()
        } else {
            format!(" (fixed in {})", affected.fixed_versions.join(", "))
        };
        println!(
            "affected: {product} {}{fixed}",
            affected.versions.join(", ")
        );
    }
    let stats = advisory.stats.clone().unwrap_or_default();
    println!(
        "recipients: {} in {} accounts",
        stats.total, stats.accounts_targeted
    );
}

async fn client(remote: &Remote) -> Result<Client, Failure> {
    let (channel, bearer) = remote.connect().await?;
    Ok(NotificationServiceClient::with_interceptor(channel, bearer))
}

/// Streams the stats until they settle (or `within` passes), drawing progress on stderr, then prints the coverage.
async fn watch(
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

/// 0 when settled and everyone reached; 3 when settled with dead recipients or unreachable accounts; 4 otherwise.
fn outcome(stats: &AdvisoryStats) -> u8 {
    if !stats.settled {
        exit::NOT_SETTLED
    } else if stats.dead > 0 || !stats.unreachable_account_ids.is_empty() {
        exit::NOT_EVERYONE_REACHED
    } else {
        exit::OK
    }
}

/// Every targeted account with its coverage (N8), mails and acknowledgement, from the suite's own report (N10).
async fn coverage(
    client: &mut Client,
    remote: &Remote,
    stats: &AdvisoryStats,
) -> Result<Vec<AccountCoverage>, Failure> {
    let mut accounts = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .get_advisory_report(remote.request(GetAdvisoryReportRequest {
                advisory_id: stats.advisory_id.clone(),
                page_size: 1000,
                page_token,
            }))
            .await?
            .into_inner();
        accounts.extend(page.accounts);
        if page.next_page_token.is_empty() {
            return Ok(accounts);
        }
        page_token = page.next_page_token;
    }
}

/// `REACHED`, `FALLBACK`, … as people read them: `reached`, `fallback`, ….
fn verdict(account: &AccountCoverage) -> String {
    Coverage::try_from(account.coverage)
        .map(|c| enum_name(c.as_str_name(), "COVERAGE_"))
        .unwrap_or_default()
}

fn stats_json(advisory_id: &str, stats: &AdvisoryStats) -> serde_json::Value {
    json!({
        "advisory_id": advisory_id,
        "settled": stats.settled,
        "total": stats.total,
        "pending": stats.pending,
        "sent": stats.sent,
        "failed": stats.failed,
        "dead": stats.dead,
        "accounts_targeted": stats.accounts_targeted,
        "fallback_account_ids": stats.fallback_account_ids,
        "unreachable_account_ids": stats.unreachable_account_ids,
    })
}

/// The final answer: stats, and (once settled) one row per targeted account.
fn report(
    remote: &Remote,
    advisory_id: &str,
    stats: &AdvisoryStats,
    coverage: Option<&Vec<AccountCoverage>>,
) {
    match remote.output {
        Output::Json => {
            let mut value = stats_json(advisory_id, stats);
            if let Some(coverage) = coverage {
                value["accounts"] = coverage
                    .iter()
                    .map(|c| {
                        json!({
                            "account_id": c.account_id,
                            "account_name": c.account_name,
                            "coverage": verdict(c),
                            "sent": c.sent,
                            "dead": c.dead,
                            "pending": c.pending,
                            "acknowledged": c.acknowledged,
                            "complaints": c.complaints,
                        })
                    })
                    .collect();
            }
            print_json(&value);
        }
        Output::Text => {
            println!("{}", summary_line(advisory_id, stats));
            if let Some(coverage) = coverage {
                let width = coverage
                    .iter()
                    .map(|c| c.account_id.len())
                    .max()
                    .unwrap_or(0)
                    .max(7);
                println!(
                    "{:width$}  {:>6}  {:>6}  {:>7}  {:>5}  {:>10}  COVERAGE",
                    "ACCOUNT", "SENT", "DEAD", "PENDING", "ACK", "COMPLAINTS"
                );
                for c in coverage {
                    println!(
                        "{:width$}  {:>6}  {:>6}  {:>7}  {:>5}  {:>10}  {}",
                        c.account_id,
                        c.sent,
                        c.dead,
                        c.pending,
                        if c.acknowledged { "yes" } else { "no" },
                        c.complaints,
                        verdict(c)
                    );
                }
            }
        }
    }
}

fn summary_line(advisory_id: &str, s: &AdvisoryStats) -> String {
    format!(
        "{advisory_id}: {} — sent {}/{}, pending {}, failed {}, dead {}; accounts {} ({} through fallback, {} unreachable)",
        if s.settled { "settled" } else { "in progress" },
        s.sent,
        s.total,
        s.pending,
        s.failed,
        s.dead,
        s.accounts_targeted,
        s.fallback_account_ids.len(),
        s.unreachable_account_ids.len(),
    )
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

/// An advisory as an operator writes it (TOML or JSON): the PublishAdvisory fields with readable enum values.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct AdvisoryFile {
    kind: String,
    severity: String,
    title: String,
    summary: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    conditions: String,
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    cve_ids: Vec<String>,
    #[serde(default)]
    affected_products: Vec<AffectedFile>,
    /// N1: `clear`, `green`, `amber`, `amber+strict` or `red`; by default the server's `notification.default_tlp`.
    tlp: Option<String>,
    /// N16: a CVSS v3 vector, e.g. `CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H`.
    #[serde(default)]
    cvss_vector: String,
    target: TargetFile,
    /// The idempotency key; by default derived from the file's content, so publishing the same file twice (a
    /// retried pipeline step) publishes once.
    request_id: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct AffectedFile {
    product: String,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    fixed_versions: Vec<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    #[serde(default)]
    all_accounts: bool,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
}

fn read_advisory(path: &Path) -> Result<PublishAdvisoryRequest, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::new(format!("reading {}: {e}", path.display())))?;
    parse_advisory(path, &bytes).map_err(|e| Failure::new(format!("{}: {e}", path.display())))
}

fn parse_advisory(path: &Path, bytes: &[u8]) -> Result<PublishAdvisoryRequest, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let json = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => true,
        Some("toml") => false,
        _ => text.trim_start().starts_with('{'),
    };
    let file: AdvisoryFile = if json {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        toml::from_str(text).map_err(|e| e.to_string())?
    };
    let target = match (
        file.target.all_accounts,
        file.target.products.is_empty(),
        file.target.accounts.is_empty(),
    ) {
        (true, true, true) => Target::AllAccounts(true),
        (false, false, true) => Target::Products(ProductList {
            products: file
                .target
                .products
                .iter()
                .map(|p| product(p).map(|p| p as i32))
                .collect::<Result<_, _>>()?,
        }),
        (false, true, false) => Target::AccountIds(AccountList {
            account_ids: file.target.accounts.clone(),
        }),
        _ => {
            return Err(
                "target: exactly one of all_accounts = true, products = [...] or accounts = [...]"
                    .into(),
            );
        }
    };
    let request_id = file
        .request_id
        .clone()
        .unwrap_or_else(|| format!("advisory-file-{}", &hex(&Sha256::digest(bytes))[..32]));
    Ok(PublishAdvisoryRequest {
        kind: enum_value(
            "kind",
            "ADVISORY_KIND_",
            &file.kind,
            AdvisoryKind::from_str_name,
        )? as i32,
        severity: enum_value(
            "severity",
            "SEVERITY_",
            &file.severity,
            Severity::from_str_name,
        )? as i32,
        title: file.title,
        summary: file.summary,
        impact: file.impact,
        affected_products: file
            .affected_products
            .into_iter()
            .map(|a| {
                Ok(AffectedProduct {
                    product: product(&a.product)? as i32,
                    versions: a.versions,
                    fixed_versions: a.fixed_versions,
                })
            })
            .collect::<Result<_, String>>()?,
        conditions: file.conditions,
        resolution: file.resolution,
        cve_ids: file.cve_ids,
        target: Some(target),
        request_id,
        tlp: match &file.tlp {
            Some(tlp) => {
                enum_value("tlp", "TLP_", &tlp.replace('+', "_"), Tlp::from_str_name)? as i32
            }
            None => Tlp::Unspecified as i32,
        },
        cvss_vector: file.cvss_vector,
    })
}

fn product(text: &str) -> Result<Product, String> {
    enum_value("product", "PRODUCT_", text, Product::from_str_name)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const TOML: &str = r#"
kind = "security"
severity = "critical"
title = "Remote code execution in the server's extension host"
summary = "A crafted extension can run code."
cve_ids = ["CVE-2026-12345"]

[[affected_products]]
product = "server"
versions = ["2026.1"]
fixed_versions = ["2026.1.3"]

[target]
products = ["server", "prep-builder"]
"#;

    #[test]
    fn a_toml_file_becomes_a_publish_request_with_a_content_derived_request_id() {
        let request = parse_advisory(Path::new("a.toml"), TOML.as_bytes()).unwrap();
        assert_eq!(request.kind, AdvisoryKind::Security as i32);
        assert_eq!(request.severity, Severity::Critical as i32);
        assert_eq!(request.affected_products[0].product, Product::Server as i32);
        assert_eq!(
            request.target,
            Some(Target::Products(ProductList {
                products: vec![Product::Server as i32, Product::PrepBuilder as i32]
            }))
        );
        let again = parse_advisory(Path::new("a.toml"), TOML.as_bytes()).unwrap();
        assert_eq!(request.request_id, again.request_id);
        let other = parse_advisory(
            Path::new("a.toml"),
            TOML.replace("critical", "high").as_bytes(),
        )
        .unwrap();
        assert_ne!(request.request_id, other.request_id);
    }

    #[test]
    fn a_json_file_reads_the_same_fields() {
        let json = r#"{"kind": "technical", "severity": "low", "title": "t", "summary": "s",
                       "target": {"accounts": ["ACC-1"]}, "request_id": "r-1"}"#;
        let request = parse_advisory(Path::new("a.json"), json.as_bytes()).unwrap();
        assert_eq!(request.kind, AdvisoryKind::Technical as i32);
        assert_eq!(request.request_id, "r-1");
        assert_eq!(request.tlp, Tlp::Unspecified as i32);
        let labelled = json.replace(
            r#""request_id""#,
            r#""tlp": "Amber+Strict", "cvss_vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", "request_id""#,
        );
        let request = parse_advisory(Path::new("a.json"), labelled.as_bytes()).unwrap();
        assert_eq!(request.tlp, Tlp::AmberStrict as i32);
        assert!(request.cvss_vector.starts_with("CVSS:3.1/"));
        let unknown = json.replace(r#""request_id""#, r#""tlp": "blue", "request_id""#);
        assert!(parse_advisory(Path::new("a.json"), unknown.as_bytes()).is_err());
        assert_eq!(
            request.target,
            Some(Target::AccountIds(AccountList {
                account_ids: vec!["ACC-1".into()]
            }))
        );
    }

    #[test]
    fn a_file_with_two_targets_an_unknown_field_or_an_unknown_product_is_refused() {
        let two = TOML.replace("[target]", "[target]\nall_accounts = true");
        assert!(
            parse_advisory(Path::new("a.toml"), two.as_bytes())
                .unwrap_err()
                .contains("exactly one")
        );
        let unknown = format!("colour = \"red\"\n{TOML}");
        assert!(parse_advisory(Path::new("a.toml"), unknown.as_bytes()).is_err());
        let toaster = TOML.replace("product = \"server\"", "product = \"toaster\"");
        assert!(
            parse_advisory(Path::new("a.toml"), toaster.as_bytes())
                .unwrap_err()
                .contains("toaster")
        );
    }

    #[test]
    fn the_exit_code_says_whether_everyone_was_reached() {
        let settled = AdvisoryStats {
            settled: true,
            total: 2,
            sent: 2,
            ..Default::default()
        };
        assert_eq!(outcome(&settled), exit::OK);
        let dead = AdvisoryStats {
            dead: 1,
            ..settled.clone()
        };
        assert_eq!(outcome(&dead), exit::NOT_EVERYONE_REACHED);
        let unreachable = AdvisoryStats {
            unreachable_account_ids: vec!["ACC-9".into()],
            ..settled.clone()
        };
        assert_eq!(outcome(&unreachable), exit::NOT_EVERYONE_REACHED);
        let running = AdvisoryStats {
            settled: false,
            ..settled
        };
        assert_eq!(outcome(&running), exit::NOT_SETTLED);
    }

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
