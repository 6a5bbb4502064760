//! `portal`: run the suite (`up`), one service (`serve`), migrations (`migrate`), or mint a token (`token`); and the
//! operator's commands against a running suite (`advisory`, `users`).

mod advisory;
mod remote;
mod users;

use std::{io::Write, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};
use portal_app::{App, ServiceKind};
use portal_runtime::{
    Settings,
    auth::Minter,
    config::{Overrides, TelemetrySettings},
    server::shutdown_signal,
    telemetry,
};

#[derive(Parser)]
#[command(
    name = "portal",
    version,
    about = "Customer portal suite: identity, licensing, billing, notification"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// Configuration file (TOML); `PORTAL_*` environment variables and flags override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory: SQLite files, signing key, mail files (default ./portal-data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// gRPC listen address (default 127.0.0.1:50051).
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    /// sqlite://… or postgres://… (default: SQLite files in the data directory).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// smtp://host:port or smtps://… (default: mail is written to files in the data directory).
    #[arg(long, global = true, value_name = "URL")]
    smtp_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run all four services in one process on one address.
    Up,
    /// Run one service (as Kubernetes does).
    Serve {
        #[arg(value_enum)]
        service: ServiceKind,
    },
    /// Apply every service's migrations and exit.
    Migrate,
    /// Mint a bearer token with the data directory's signing key.
    Token(TokenArgs),
    /// Publish and follow advisories on a running suite (over gRPC; --endpoint, --token or PORTAL_TOKEN).
    #[command(subcommand)]
    Advisory(advisory::Command),
    /// The suite's mail set-up (N13).
    #[command(subcommand)]
    Mail(MailCommand),
    /// List, add and remove an account's users on a running suite (over gRPC).
    #[command(subcommand)]
    Users(users::Command),
}

#[derive(Subcommand)]
enum MailCommand {
    /// Print the DNS records to publish: the DKIM key (created in the data directory if none is configured),
    /// SPF and MX for the bounce domain, DMARC for the From domain.
    Dns,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["user", "service"])))]
struct TokenArgs {
    /// Act as this portal user id.
    #[arg(long, value_name = "ID")]
    user: Option<String>,
    /// Act as service principal svc:<NAME>.
    #[arg(long, value_name = "NAME", requires = "scope")]
    service: Option<String>,
    /// Space-separated scopes for --service, e.g. "identity.admin licensing.issue".
    #[arg(long, value_name = "SCOPES")]
    scope: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    ttl_secs: u64,
    /// `text`: the token on stdout, the signing key's `kid` on stderr; `json`: `{"token", "kid", "expires_in"}`
    /// on stdout.
    #[arg(long, value_enum, default_value_t = remote::Output::Text)]
    output: remote::Output,
}

/// Exit code for bad flags or configuration, as clap uses for usage errors.
const USAGE: u8 = remote::exit::USAGE;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Advisory(command) => return operator(advisory::run(command)),
        Command::Users(command) => return operator(users::run(command)),
        _ => {}
    }
    let overrides = Overrides {
        data_dir: cli.common.data_dir.clone(),
        listen: cli.common.listen.clone(),
        database_url: cli.common.database_url.clone(),
        smtp_url: cli.common.smtp_url.clone(),
    };
    let settings = match Settings::load(cli.common.config.as_deref(), &overrides) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("portal: {e}");
            return ExitCode::from(USAGE);
        }
    };
    // The CSAF product mapping names the suite's products, which only the notification service knows.
    if let Err(e) =
        portal_notification::domain::csaf::CsafConfig::from_settings(&settings.notification)
    {
        eprintln!("portal: configuration key {e}");
        return ExitCode::from(USAGE);
    }
    // Everything the suite writes (databases, signing keys, mail files) is for its own user only: licensing's
    // database holds every full product key.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    if let Command::Token(args) = &cli.command {
        return token(&settings, args);
    }
    if let Command::Mail(MailCommand::Dns) = &cli.command {
        return match portal_app::mail_dns_records(&settings) {
            Ok(records) => {
                print!("{records}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("portal: {e}");
                ExitCode::from(2)
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("portal: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(settings, cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portal: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings, command: Command) -> Result<(), Box<dyn std::error::Error>> {
    let (services, label) = match command {
        Command::Up => (ServiceKind::ALL.to_vec(), "portal".to_string()),
        Command::Serve { service } => (vec![service], format!("portal-{}", service.name())),
        Command::Migrate => {
            let _telemetry = telemetry::init(&quiet(&settings.telemetry), "portal-migrate")?;
            portal_app::migrate(&settings, &ServiceKind::ALL).await?;
            println!("portal: migrations applied for identity, licensing, billing, notification");
            return Ok(());
        }
        Command::Token(_) | Command::Advisory(_) | Command::Users(_) | Command::Mail(_) => {
            unreachable!("handled before the suite's runtime starts")
        }
    };
    let _telemetry = telemetry::init(&settings.telemetry, &label)?;
    let app = App::build(&settings, &services).await?;
    let names: Vec<&str> = app.services().iter().map(|s| s.name()).collect();
    println!("portal: serving {} on {}", names.join(", "), app.address());
    if let Some(public) = app.public_address() {
        // Not println!: a supervisor that read the first line and closed the pipe must not take the suite down.
        let _ = writeln!(
            std::io::stdout(),
            "portal: acknowledgement page (N9) on http://{public}/ack/\n\
             portal: CSAF provider (N15) at http://{public}/.well-known/csaf/provider-metadata.json"
        );
    }
    app.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Runs an operator command (a gRPC client of a running suite) and exits with its code.
fn operator(command: impl Future<Output = Result<u8, remote::Failure>>) -> ExitCode {
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
    match runtime.block_on(command) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("portal: {failure}");
            ExitCode::from(failure.code)
        }
    }
}

/// `migrate` logs warnings only, so its output stays readable.
fn quiet(settings: &TelemetrySettings) -> TelemetrySettings {
    TelemetrySettings {
        log_filter: "warn".into(),
        ..settings.clone()
    }
}

fn token(settings: &Settings, args: &TokenArgs) -> ExitCode {
    let ttl = Duration::from_secs(args.ttl_secs);
    let path = settings.signing_key_file();
    let minter = match Minter::from_file(&path, &settings.auth.issuer, &settings.auth.audience) {
        Ok(minter) => minter,
        Err(e) => {
            eprintln!("portal: {e} (run `portal up` once to create the key, or pass --data-dir)");
            return ExitCode::from(USAGE);
        }
    };
    let token = match (&args.user, &args.service) {
        (Some(user), _) => minter.user(user, ttl),
        (None, Some(service)) => {
            minter.service(service, args.scope.as_deref().unwrap_or_default(), ttl)
        }
        (None, None) => unreachable!("clap requires --user or --service"),
    };
    match args.output {
        remote::Output::Json => remote::print_json(&serde_json::json!({
            "token": token,
            "kid": minter.kid(),
            "expires_in": args.ttl_secs,
        })),
        remote::Output::Text => {
            println!("{token}");
            // The key's name in the suite's JWKS (/.well-known/jwks.json), as the token's header carries it.
            eprintln!("portal: signed with kid {}", minter.kid());
        }
    }
    ExitCode::SUCCESS
}
