//! `portal advisory …`: the advisory pipeline's client of a running suite. A gRPC client of NotificationService
//! at `--endpoint`, acting with the bearer token from `--token` or `PORTAL_TOKEN` (a service principal with
//! scope `notification.publish`, e.g. from `portal token --service psirt --scope notification.publish`).
//!
//! `publish --csaf FILE` imports a CSAF 2.0 document (N11); `export ADV-…` prints an advisory as CSAF (N12).
//! New subcommands go in [`AdvisoryCommand`], each with its own `*Args` and a function below.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{ArgGroup, Args, Subcommand};
use portal_proto::{
    common,
    notification::{self as pb, notification_service_client::NotificationServiceClient},
};
use tonic::{Request, Status, metadata::MetadataValue, transport::Channel};

/// Exit code when the suite refused the request or could not be reached.
const REFUSED: u8 = 1;
/// Exit code for bad flags, a missing token or an unreadable file, as clap uses for usage errors.
const USAGE: u8 = 2;

#[derive(Args)]
pub struct AdvisoryArgs {
    /// The suite's gRPC endpoint.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = "http://127.0.0.1:50051"
    )]
    endpoint: String,
    /// Bearer token of a service principal with scope notification.publish.
    #[arg(long, global = true, env = "PORTAL_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Deadline of each call, in seconds.
    #[arg(long, global = true, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout_secs: u64,
    #[command(subcommand)]
    command: AdvisoryCommand,
}

#[derive(Subcommand)]
enum AdvisoryCommand {
    /// Publish a security advisory from a CSAF 2.0 document (PublishCsafAdvisory).
    Publish(PublishArgs),
    /// Print an advisory as a CSAF 2.0 document (GetAdvisoryCsaf), e.g. `portal advisory export ADV-2026-001 > a.json`.
    Export {
        /// The advisory, e.g. ADV-2026-001.
        advisory_id: String,
    },
}

#[derive(Args)]
#[command(group(
    ArgGroup::new("target")
        .required(true)
        .args(["all_accounts", "product", "affected_products", "account"])
))]
struct PublishArgs {
    /// The CSAF 2.0 csaf_security_advisory document (JSON).
    #[arg(long, value_name = "FILE")]
    csaf: PathBuf,
    /// Send to every account that is not academic.
    #[arg(long)]
    all_accounts: bool,
    /// Send to the accounts holding this product (DESKTOP, PREP_BUILDER, SERVER, ELEARNING); repeatable.
    #[arg(long, value_name = "PRODUCT")]
    product: Vec<String>,
    /// Send to the accounts holding the products the document names as affected.
    #[arg(long)]
    affected_products: bool,
    /// Send to this account; repeatable.
    #[arg(long, value_name = "ACCOUNT_ID")]
    account: Vec<String>,
    /// Idempotency key (default: derived from the document and the target, so a rerun publishes nothing new).
    #[arg(long, value_name = "ID")]
    request_id: Option<String>,
}

/// Runs one `portal advisory` command; what it prints and its exit code are the interface.
pub fn run(args: AdvisoryArgs) -> ExitCode {
    let Some(token) = args.token.clone().filter(|t| !t.trim().is_empty()) else {
        eprintln!(
            "portal: no token: pass --token or set PORTAL_TOKEN (see `portal token --service`)"
        );
        return ExitCode::from(USAGE);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("portal: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let client = match Client::connect(&args, token.trim()).await {
            Ok(client) => client,
            Err(e) => {
                eprintln!("portal: {}: {e}", args.endpoint);
                return ExitCode::from(REFUSED);
            }
        };
        match args.command {
            AdvisoryCommand::Publish(publish_args) => publish(client, publish_args).await,
            AdvisoryCommand::Export { advisory_id } => export(client, advisory_id).await,
        }
    })
}

struct Client {
    inner: NotificationServiceClient<Channel>,
    authorization: MetadataValue<tonic::metadata::Ascii>,
    timeout: Duration,
}

impl Client {
    async fn connect(args: &AdvisoryArgs, token: &str) -> Result<Self, String> {
        let authorization = format!("Bearer {token}")
            .parse()
            .map_err(|_| "the token is not a valid header value".to_string())?;
        let timeout = Duration::from_secs(args.timeout_secs);
        let channel = Channel::from_shared(args.endpoint.clone())
            .map_err(|e| e.to_string())?
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            inner: NotificationServiceClient::new(channel),
            authorization,
            timeout,
        })
    }

    /// A request with the bearer token and a deadline.
    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", self.authorization.clone());
        request.set_timeout(self.timeout);
        request
    }
}

/// Prints a refusal: the status, then each field violation (for CSAF, the failing JSON paths) on its own line.
fn refused(status: &Status) -> ExitCode {
    eprintln!("portal: {:?}: {}", status.code(), status.message());
    for v in portal_runtime::error::violations_of(status) {
        eprintln!("  {}: {}", v.field, v.description);
    }
    ExitCode::from(REFUSED)
}

fn target(args: &PublishArgs) -> Result<pb::publish_csaf_advisory_request::Target, String> {
    use pb::publish_csaf_advisory_request::Target;
    if args.all_accounts {
        return Ok(Target::AllAccounts(true));
    }
    if !args.account.is_empty() {
        return Ok(Target::AccountIds(pb::AccountList {
            account_ids: args.account.clone(),
        }));
    }
    // --affected-products: an empty list, which the service reads as the document's affected products.
    let mut products = Vec::new();
    for name in &args.product {
        let wire = format!("PRODUCT_{}", name.trim().to_ascii_uppercase());
        let product = common::Product::from_str_name(&wire)
            .filter(|p| *p != common::Product::Unspecified)
            .ok_or_else(|| {
                format!("--product {name}: not DESKTOP, PREP_BUILDER, SERVER or ELEARNING")
            })?;
        products.push(product as i32);
    }
    Ok(Target::Products(pb::ProductList { products }))
}

async fn publish(mut client: Client, args: PublishArgs) -> ExitCode {
    let document = match std::fs::read(&args.csaf) {
        Ok(document) => document,
        Err(e) => {
            eprintln!("portal: {}: {e}", args.csaf.display());
            return ExitCode::from(USAGE);
        }
    };
    let target = match target(&args) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("portal: {e}");
            return ExitCode::from(USAGE);
        }
    };
    let request_id = args.request_id.clone().unwrap_or_else(|| {
        let mut seed = document.clone();
        seed.extend_from_slice(format!("{target:?}").as_bytes());
        format!("csaf-{}", portal_runtime::idempotency::fingerprint(&seed))
    });
    let request = client.request(pb::PublishCsafAdvisoryRequest {
        document,
        target: Some(target),
        request_id,
    });
    let advisory = match client.inner.publish_csaf_advisory(request).await {
        Ok(response) => response.into_inner(),
        Err(status) => return refused(&status),
    };
    let severity = pb::Severity::try_from(advisory.severity)
        .map(|s| s.as_str_name().trim_start_matches("SEVERITY_").to_string())
        .unwrap_or_default();
    println!(
        "published {} [{severity}] {}",
        advisory.advisory_id, advisory.title
    );
    println!(
        "csaf: {} version {}",
        advisory.csaf_tracking_id, advisory.csaf_tracking_version
    );
    if !advisory.cve_ids.is_empty() {
        println!("cves: {}", advisory.cve_ids.join(", "));
    }
    for a in &advisory.affected_products {
        let product = common::Product::try_from(a.product)
            .map(|p| p.as_str_name().trim_start_matches("PRODUCT_").to_string())
            .unwrap_or_default();
        let fixed = if a.fixed_versions.is_empty() {
            String::new()
        } else {
            format!(" (fixed in {})", a.fixed_versions.join(", "))
        };
        println!("affected: {product} {}{fixed}", a.versions.join(", "));
    }
    ExitCode::SUCCESS
}

async fn export(mut client: Client, advisory_id: String) -> ExitCode {
    let request = client.request(pb::GetAdvisoryCsafRequest { advisory_id });
    match client.inner.get_advisory_csaf(request).await {
        Ok(response) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let document = response.into_inner().document;
            match out.write_all(&document).and_then(|()| writeln!(out)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("portal: writing the document: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(status) => refused(&status),
    }
}
