//! Layered configuration: built-in defaults, then an optional file, then `PORTAL_*` environment variables
//! (`__` nests: `PORTAL_DATABASE__URL`), then command-line flags. Parsed into typed structs and validated once.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use config::{Environment, File};

mod notification;
pub use notification::{
    CsafProductSettings, CsafPublisherSettings, NotificationSettings, PublicSettings,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Everything a portal process needs to know about its surroundings.
/// Unknown top-level keys are tolerated because Kubernetes injects `PORTAL_*_SERVICE_HOST`-style variables;
/// unknown keys inside a section are errors.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where the embedded default keeps its SQLite files, signing key and mail.
    pub data_dir: PathBuf,
    /// The gRPC address every service of this process answers on.
    pub listen: SocketAddr,
    /// Plain-HTTP admin address (`/metrics`); off when unset.
    pub admin_listen: Option<SocketAddr>,
    pub database: DatabaseSettings,
    pub smtp: SmtpSettings,
    pub auth: AuthSettings,
    pub server: ServerSettings,
    pub peers: PeerSettings,
    pub telemetry: TelemetrySettings,
    pub licensing: LicensingSettings,
    pub notification: NotificationSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("portal-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            admin_listen: None,
            database: DatabaseSettings::default(),
            smtp: SmtpSettings::default(),
            auth: AuthSettings::default(),
            server: ServerSettings::default(),
            peers: PeerSettings::default(),
            telemetry: TelemetrySettings::default(),
            licensing: LicensingSettings::default(),
            notification: NotificationSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LicensingSettings {
    /// How often term keys past their period end are marked EXPIRED (L7).
    pub expiry_sweep_secs: u64,
    /// PEM Ed25519 private key that signs authorizations to run (L9); default
    /// `<data_dir>/grant-signing-key.pem`, created on first start.
    pub grant_signing_key_file: Option<PathBuf>,
    /// PEM public keys of grant-signing keys rotated out, still published in the suite's JWKS until the grants
    /// they signed have expired.
    pub previous_grant_public_key_files: Vec<PathBuf>,
    /// How long an authorization to run is valid before the desktop app must check in again.
    pub grant_ttl_hours: u64,
}

impl Default for LicensingSettings {
    fn default() -> Self {
        Self {
            expiry_sweep_secs: 60,
            grant_signing_key_file: None,
            previous_grant_public_key_files: Vec::new(),
            grant_ttl_hours: 72,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://…` or `postgres://…`; unset means one SQLite file per service in the data directory.
    pub url: Option<SecretString>,
    /// Pool size per service; unset: 4 on SQLite (one writer at a time, and each connection is a thread with
    /// its own page cache), 16 on PostgreSQL.
    pub max_connections: Option<u32>,
    /// Apply pending migrations when a service starts (the Kubernetes overlays run `portal migrate` instead).
    pub auto_migrate: bool,
    /// PostgreSQL: how long a statement waits for a connection — a free one from the pool, pinged, or a new one
    /// — before the call is `UNAVAILABLE`. A server that stops answering without refusing is found out this
    /// fast. (A SQLite file cannot stop answering: there a connection is only busy, and waits as long as the
    /// file's lock, its busy timeout.)
    pub acquire_timeout_ms: u64,
    /// PostgreSQL: the longest one statement runs before the server cancels it (`statement_timeout`) and the
    /// call is `UNAVAILABLE`, so that a statement stuck behind a lock gives its connection back. Migrations run
    /// without it.
    pub statement_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: None,
            auto_migrate: true,
            acquire_timeout_ms: 2_000,
            statement_timeout_ms: 5_000,
        }
    }
}

impl DatabaseSettings {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }

    pub fn statement_timeout(&self) -> Duration {
        Duration::from_millis(self.statement_timeout_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// `smtp://[user:pass@]host:port` (add `?tls=required` for STARTTLS), `smtps://…` (implicit TLS); unset
    /// writes `.eml` files to `<data_dir>/mail`.
    pub url: Option<SecretString>,
    /// The sender of every mail; its domain also names Message-IDs.
    pub from: String,
    /// SMTP connections kept in the pool.
    pub pool_size: u32,
    /// Deliveries claimed per batch, and sent concurrently within it.
    pub batch_size: u64,
    /// How long a claimed batch is reserved for its worker; a crashed worker's rows are picked up after it.
    pub lease_secs: u64,
    /// Attempts before a delivery is DEAD (N3).
    pub max_attempts: u32,
    /// Delay before the first retry; it doubles (with jitter) per attempt.
    pub retry_first_ms: u64,
    /// Bound on the delay between retries.
    pub retry_max_ms: u64,
    /// How often an idle worker looks for due deliveries.
    pub poll_ms: u64,
    /// N13: the domain of every mail's envelope sender, one address per delivery (VERP), where delivery
    /// reports come back; route it to `inbound.listen`. Default: the `from` address's domain.
    pub bounce_domain: Option<String>,
    /// N13: how every mail is DKIM-signed.
    pub dkim: DkimSettings,
    /// N14: the listener delivery reports come back to.
    pub inbound: InboundSettings,
}

/// N13: DKIM signing (RFC 6376) of every mail the suite sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DkimSettings {
    /// The signing domain (`d=`); default: the `from` address's domain.
    pub domain: Option<String>,
    /// The selector (`s=`): the key is published at `<selector>._domainkey.<domain>`; default `portal`.
    pub selector: Option<String>,
    /// A PEM private key: Ed25519 (RFC 8463; PKCS#8) or RSA (PKCS#1 or PKCS#8, at least 1024 bits). Default
    /// `<data_dir>/dkim-key.pem`, an Ed25519 key created on first start.
    pub key_file: Option<PathBuf>,
}

/// N14: the inbound SMTP listener that takes delivery reports (DSNs, complaints) for the bounce domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InboundSettings {
    /// Where it listens (e.g. `0.0.0.0:2525`); off when unset.
    pub listen: Option<SocketAddr>,
    /// The largest message accepted (DSNs often return the whole original message).
    pub max_message_bytes: usize,
    /// Sessions served at once; more are answered `421` and closed.
    pub max_connections: usize,
    /// How long a session may wait for the client's next command or DATA bytes.
    pub idle_timeout_secs: u64,
    /// How long one session may last in all.
    pub session_timeout_secs: u64,
}

impl Default for InboundSettings {
    fn default() -> Self {
        Self {
            listen: None,
            max_message_bytes: 10 * 1024 * 1024,
            max_connections: 64,
            idle_timeout_secs: 30,
            session_timeout_secs: 300,
        }
    }
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            url: None,
            from: "Customer Portal <noreply@portal.invalid>".into(),
            pool_size: 16,
            batch_size: 100,
            lease_secs: 60,
            max_attempts: 8,
            retry_first_ms: 2_000,
            retry_max_ms: 600_000,
            poll_ms: 500,
            bounce_domain: None,
            dkim: DkimSettings::default(),
            inbound: InboundSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    /// Allowed clock skew when checking `exp`/`nbf`.
    pub leeway_secs: u64,
    /// PEM public keys (Ed25519 or RSA) that verify bearer tokens; empty means the data directory's own key.
    pub public_key_files: Vec<PathBuf>,
    /// PEM Ed25519 private key used to mint this process's service tokens; default `<data_dir>/signing-key.pem`.
    pub signing_key_file: Option<PathBuf>,
    /// PEM public keys of token-signing keys rotated out: still accepted, and published in the suite's JWKS, until
    /// the tokens they signed have expired.
    pub previous_public_key_files: Vec<PathBuf>,
    /// Lifetime of the service tokens this process mints for its own outbound calls.
    pub service_token_ttl_secs: u64,
    /// The longest lifetime (`exp - iat`) an accepted token may claim.
    pub max_token_lifetime_secs: u64,
    /// JSON Web Key Set URLs (one, or a list) of identity providers whose tokens are accepted besides the PEM
    /// keys; a token's `kid` selects the key.
    #[serde(deserialize_with = "one_or_many")]
    pub jwks_url: Vec<String>,
    /// Time between periodic refreshes of the key sets.
    pub jwks_refresh_secs: u64,
    /// The least time between two fetches: a token naming an unknown `kid` fetches at most this often, and a
    /// provider that is down is retried this often.
    pub jwks_min_refresh_secs: u64,
    /// Deadline on one key set fetch.
    pub jwks_timeout_ms: u64,
    /// The claim holding a portal user's id.
    pub user_id_claim: String,
    /// A claim whose presence makes a token a service principal named by its value; unset: only
    /// `sub = svc:<name>` does.
    pub service_name_claim: Option<String>,
    /// Claims holding a service's scopes (each a space-separated string or a list).
    pub scope_claims: Vec<String>,
}

impl AuthSettings {
    /// The key sets to fetch, if any URL is configured.
    pub fn jwks(&self) -> Option<crate::auth::JwksSettings> {
        (!self.jwks_url.is_empty()).then(|| crate::auth::JwksSettings {
            urls: self.jwks_url.clone(),
            refresh: Duration::from_secs(self.jwks_refresh_secs),
            min_refresh: Duration::from_secs(self.jwks_min_refresh_secs),
            timeout: Duration::from_millis(self.jwks_timeout_ms),
        })
    }

    /// Which claims name the principal.
    pub fn claims(&self) -> crate::auth::ClaimMapping {
        crate::auth::ClaimMapping {
            user_id: self.user_id_claim.clone(),
            service_name: self.service_name_claim.clone(),
            scopes: self.scope_claims.clone(),
        }
    }
}

/// A list that may also be written as a single string (`jwks_url = "https://…"`).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "portal".into(),
            audience: "portal".into(),
            leeway_secs: 30,
            public_key_files: Vec::new(),
            signing_key_file: None,
            previous_public_key_files: Vec::new(),
            service_token_ttl_secs: 300,
            max_token_lifetime_secs: crate::auth::MAX_TOKEN_LIFETIME.as_secs(),
            jwks_url: Vec::new(),
            jwks_refresh_secs: 300,
            jwks_min_refresh_secs: 10,
            jwks_timeout_ms: 5_000,
            user_id_claim: "sub".into(),
            service_name_claim: None,
            scope_claims: vec!["scope".into(), "scp".into()],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Upper bound on one RPC (a shorter `grpc-timeout` from the client wins).
    pub request_timeout_ms: u64,
    /// RPCs served at once; beyond it callers get `RESOURCE_EXHAUSTED` at once.
    pub concurrency_limit: usize,
    /// Responses open at once in this process, server streams included (a stream stays open until it ends);
    /// beyond it callers get `RESOURCE_EXHAUSTED` at once.
    pub stream_limit: usize,
    /// Concurrent HTTP/2 streams one client connection may open (SETTINGS_MAX_CONCURRENT_STREAMS); clients
    /// queue the rest.
    pub max_streams_per_connection: u32,
    /// Time between reporting NOT_SERVING and closing the listener, so load balancers notice.
    pub shutdown_delay_ms: u64,
    /// How long in-flight RPCs may run after shutdown starts.
    pub drain_timeout_secs: u64,
    /// Deadline on every call this process makes to another service.
    pub client_timeout_ms: u64,
    /// Origins (`https://portal.example.com`) whose browser pages may call the services with gRPC-Web; `*`
    /// allows any page. None by default.
    pub cors_allowed_origins: Vec<String>,
    /// Calls one principal (a token's subject) may have open at once, server streams included, so that no
    /// caller can take the whole concurrency or open-stream limit; beyond it `RESOURCE_EXHAUSTED` at once.
    pub principal_share: usize,
    /// How long a call's request message may take to arrive once its headers have; a slower one is cut
    /// (`DEADLINE_EXCEEDED`) and gives back what it held.
    pub request_read_timeout_ms: u64,
    /// A connection nothing has been read from for this long is closed (one that sent nothing, or stalled
    /// half-way through a frame); must exceed the keepalive interval, whose answered pings keep live ones open.
    pub idle_timeout_secs: u64,
    /// HTTP/2 keepalive: a PING after this long without traffic; a peer that does not answer within the
    /// keepalive timeout is disconnected.
    pub keepalive_interval_secs: u64,
    pub keepalive_timeout_secs: u64,
    /// The largest header block an HTTP/2 request may carry; anything under it gets a gRPC status, above it the
    /// stream is reset.
    pub max_header_list_bytes: u32,
    /// The longest bearer token accepted; a longer one is `UNAUTHENTICATED` (`TOKEN_TOO_LARGE`).
    pub max_token_bytes: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            request_timeout_ms: 30_000,
            concurrency_limit: 512,
            stream_limit: 1024,
            max_streams_per_connection: 128,
            shutdown_delay_ms: 0,
            drain_timeout_secs: 20,
            client_timeout_ms: 5_000,
            cors_allowed_origins: Vec::new(),
            principal_share: 128,
            request_read_timeout_ms: 5_000,
            idle_timeout_secs: 60,
            keepalive_interval_secs: 20,
            keepalive_timeout_secs: 10,
            max_header_list_bytes: 256 * 1024,
            max_token_bytes: 16 * 1024,
        }
    }
}

impl ServerSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
    pub fn shutdown_delay(&self) -> Duration {
        Duration::from_millis(self.shutdown_delay_ms)
    }
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }
    pub fn client_timeout(&self) -> Duration {
        Duration::from_millis(self.client_timeout_ms)
    }
    pub fn request_read_timeout(&self) -> Duration {
        Duration::from_millis(self.request_read_timeout_ms)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }
    pub fn keepalive_interval(&self) -> Duration {
        Duration::from_secs(self.keepalive_interval_secs)
    }
    pub fn keepalive_timeout(&self) -> Duration {
        Duration::from_secs(self.keepalive_timeout_secs)
    }
}

/// Where the other services are; unset means "in this process" (the address this process listens on).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeerSettings {
    pub identity: Option<String>,
    pub licensing: Option<String>,
    pub billing: Option<String>,
    pub notification: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `tracing_subscriber::EnvFilter` directives; `RUST_LOG` wins when set.
    pub log_filter: String,
    /// `json` (default) or `text`.
    pub log_format: LogFormat,
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`; traces are not exported when unset.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_filter: "info".into(),
            log_format: LogFormat::Json,
            otlp_endpoint: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// Values given on the command line; they override every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub smtp_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl Settings {
    /// Reads every layer (the process environment included) and validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_from(file, overrides, None)
    }

    /// Like [`Settings::load`], with the environment given explicitly (tests pass a map, never `set_var`).
    pub fn load_from(
        file: Option<&Path>,
        overrides: &Overrides,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            builder = builder.add_source(File::from(file).required(true));
        }
        let environment = Environment::with_prefix("PORTAL")
            .prefix_separator("_")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("auth.public_key_files")
            .with_list_parse_key("auth.previous_public_key_files")
            .with_list_parse_key("licensing.previous_grant_public_key_files")
            .with_list_parse_key("auth.jwks_url")
            .with_list_parse_key("auth.scope_claims")
            .with_list_parse_key("server.cors_allowed_origins")
            .try_parsing(true)
            .source(env);
        builder = builder
            .add_source(environment)
            .set_override_option(
                "data_dir",
                overrides.data_dir.as_ref().map(|p| p.display().to_string()),
            )?
            .set_override_option("listen", overrides.listen.clone())?
            .set_override_option("database.url", overrides.database_url.clone())?
            .set_override_option("smtp.url", overrides.smtp_url.clone())?;
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if let Some(url) = &self.database.url {
            let url = url.expose_secret();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return invalid("database.url", "must start with sqlite: or postgres://");
            }
        }
        if let Some(url) = &self.smtp.url {
            let url = url.expose_secret();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return invalid("smtp.url", "must start with smtp:// or smtps://");
            }
        }
        if self.database.max_connections == Some(0) {
            return invalid("database.max_connections", "must be at least 1");
        }
        if self.database.acquire_timeout_ms == 0 {
            return invalid("database.acquire_timeout_ms", "must be positive");
        }
        if self.database.statement_timeout_ms == 0 {
            return invalid("database.statement_timeout_ms", "must be positive");
        }
        if self.server.concurrency_limit == 0 {
            return invalid("server.concurrency_limit", "must be at least 1");
        }
        if self.server.request_timeout_ms == 0 || self.server.client_timeout_ms == 0 {
            return invalid("server.request_timeout_ms", "timeouts must be positive");
        }
        if self.server.principal_share == 0 {
            return invalid("server.principal_share", "must be at least 1");
        }
        if self.server.request_read_timeout_ms == 0 {
            return invalid("server.request_read_timeout_ms", "must be positive");
        }
        if self.server.keepalive_interval_secs == 0
            || self.server.keepalive_timeout_secs == 0
            || self.server.idle_timeout_secs <= self.server.keepalive_interval_secs
        {
            return invalid(
                "server.idle_timeout_secs",
                "keepalive_interval_secs and keepalive_timeout_secs must be positive, and idle_timeout_secs longer than the keepalive interval (answered pings keep live connections open)",
            );
        }
        if self.server.max_header_list_bytes < 16 * 1024
            || self.server.max_token_bytes == 0
            || self.server.max_token_bytes >= self.server.max_header_list_bytes as usize
        {
            return invalid(
                "server.max_token_bytes",
                "max_header_list_bytes must be at least 16384 and max_token_bytes positive and below it",
            );
        }
        if self.auth.issuer.is_empty() {
            return invalid("auth.issuer", "must not be empty");
        }
        if self.auth.audience.is_empty() {
            return invalid("auth.audience", "must not be empty");
        }
        if self.smtp.batch_size == 0 || self.smtp.batch_size > 10_000 {
            return invalid("smtp.batch_size", "must be between 1 and 10000");
        }
        if self.smtp.pool_size == 0
            || self.smtp.max_attempts == 0
            || self.smtp.lease_secs == 0
            || self.smtp.poll_ms == 0
        {
            return invalid(
                "smtp",
                "pool_size, max_attempts, lease_secs and poll_ms must be positive",
            );
        }
        if let Some(domain) = &self.smtp.bounce_domain
            && !is_domain(domain)
        {
            return invalid(
                "smtp.bounce_domain",
                "must be a domain name like bounces.example.com",
            );
        }
        if let Some(domain) = &self.smtp.dkim.domain
            && !is_domain(domain)
        {
            return invalid("smtp.dkim.domain", "must be a domain name like example.com");
        }
        if let Some(selector) = &self.smtp.dkim.selector
            && !is_domain(selector)
        {
            return invalid(
                "smtp.dkim.selector",
                "must be letters, digits, hyphens and dots, like portal or 2026a",
            );
        }
        let inbound = &self.smtp.inbound;
        if !(64 * 1024..=100 * 1024 * 1024).contains(&inbound.max_message_bytes) {
            return invalid(
                "smtp.inbound.max_message_bytes",
                "must be between 65536 and 104857600",
            );
        }
        if inbound.max_connections == 0
            || inbound.idle_timeout_secs == 0
            || inbound.session_timeout_secs == 0
        {
            return invalid(
                "smtp.inbound",
                "max_connections, idle_timeout_secs and session_timeout_secs must be positive",
            );
        }
        if self.notification.watch_max_secs == 0 {
            return invalid("notification.watch_max_secs", "must be at least 1");
        }
        if let Err((key, reason)) = self.notification.public.check() {
            return invalid(key, reason);
        }
        if self.licensing.grant_ttl_hours == 0 || self.licensing.grant_ttl_hours > 24 * 90 {
            return invalid("licensing.grant_ttl_hours", "must be between 1 and 2160");
        }
        if self.licensing.expiry_sweep_secs == 0 {
            return invalid("licensing.expiry_sweep_secs", "must be at least 1");
        }
        for url in &self.auth.jwks_url {
            let parsed = url::Url::parse(url).ok();
            if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
                return invalid("auth.jwks_url", "each must be an http:// or https:// URL");
            }
        }
        if self.auth.jwks_refresh_secs == 0
            || self.auth.jwks_min_refresh_secs == 0
            || self.auth.jwks_timeout_ms == 0
        {
            return invalid(
                "auth.jwks_refresh_secs",
                "jwks_refresh_secs, jwks_min_refresh_secs and jwks_timeout_ms must be positive",
            );
        }
        if self.auth.user_id_claim.trim().is_empty() {
            return invalid("auth.user_id_claim", "must not be empty");
        }
        for origin in &self.server.cors_allowed_origins {
            // An origin is exactly scheme://host[:port], as browsers send it: no path, no trailing slash.
            let exact = url::Url::parse(origin).is_ok_and(|u| {
                u.origin().is_tuple() && u.origin().ascii_serialization() == *origin
            });
            if origin != "*" && !exact {
                return invalid(
                    "server.cors_allowed_origins",
                    "each must be `*` or an origin like https://portal.example.com (no path or trailing slash)",
                );
            }
        }
        if self.auth.service_token_ttl_secs < 60 {
            return invalid("auth.service_token_ttl_secs", "must be at least 60");
        }
        Ok(())
    }

    /// The signing key this process mints tokens with.
    pub fn signing_key_file(&self) -> PathBuf {
        self.auth
            .signing_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("signing-key.pem"))
    }

    /// N13: the DKIM private key every mail is signed with.
    pub fn dkim_key_file(&self) -> PathBuf {
        self.smtp
            .dkim
            .key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("dkim-key.pem"))
    }

    /// The public keys bearer tokens are verified against: the configured ones (or the data directory's own),
    /// and those of token-signing keys rotated out.
    pub fn public_key_files(&self) -> Vec<PathBuf> {
        let mut files = if self.auth.public_key_files.is_empty() {
            vec![self.data_dir.join("signing-key.pub.pem")]
        } else {
            self.auth.public_key_files.clone()
        };
        files.extend(self.auth.previous_public_key_files.iter().cloned());
        files
    }

    /// N15: the OpenPGP key the CSAF provider signs its documents with.
    pub fn openpgp_key_file(&self) -> PathBuf {
        self.notification
            .public
            .openpgp_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("csaf-openpgp-key.asc"))
    }

    /// The key licensing signs authorizations to run with (L9).
    pub fn grant_signing_key_file(&self) -> PathBuf {
        self.licensing
            .grant_signing_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("grant-signing-key.pem"))
    }
}

/// A DNS name of letters, digits and hyphens in dot-separated labels (RFC 1035's preferred syntax).
fn is_domain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn n13_bounce_and_dkim_names_must_be_domains() {
        let ok = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[
                ("PORTAL_SMTP__BOUNCE_DOMAIN", "bounces.example.com"),
                ("PORTAL_SMTP__DKIM__SELECTOR", "2026a"),
                ("PORTAL_SMTP__INBOUND__LISTEN", "127.0.0.1:2525"),
            ]),
        )
        .unwrap();
        assert_eq!(
            ok.smtp.bounce_domain.as_deref(),
            Some("bounces.example.com")
        );
        assert_eq!(
            ok.smtp.inbound.listen,
            Some("127.0.0.1:2525".parse().unwrap())
        );
        for (key, value) in [
            ("PORTAL_SMTP__BOUNCE_DOMAIN", "bounces example.com"),
            ("PORTAL_SMTP__BOUNCE_DOMAIN", "-x.example.com"),
            ("PORTAL_SMTP__DKIM__DOMAIN", "a..b"),
            ("PORTAL_SMTP__DKIM__SELECTOR", "s;x"),
        ] {
            let err = Settings::load_from(None, &Overrides::default(), env(&[(key, value)]));
            assert!(err.is_err(), "{key}={value} accepted");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_apply_without_any_layer() {
        let s = Settings::load_from(None, &Overrides::default(), env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(s.data_dir, PathBuf::from("portal-data"));
        assert!(s.database.url.is_none());
    }

    #[test]
    fn the_csaf_product_mapping_and_publisher_come_from_the_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(
            &file,
            "[notification.csaf_publisher]\ncategory = \"vendor\"\nname = \"Example PSIRT\"\nnamespace = \"https://psirt.example.com\"\n\n[[notification.csaf_products]]\nproduct = \"DESKTOP\"\nnames = [\"Example Desktop\"]\ncpes = [\"cpe:2.3:a:example:desktop:\"]\n\n[[notification.csaf_products]]\nproduct = \"SERVER\"\nnames = [\"Example Server\"]\n",
        )
        .unwrap();
        let s = Settings::load_from(
            Some(&file),
            &Overrides::default(),
            env(&[("PORTAL_NOTIFICATION__CSAF_PUBLISHER__NAME", "From Env")]),
        )
        .unwrap();
        let products = &s.notification.csaf_products;
        assert_eq!(products.len(), 2);
        assert_eq!(products[0].product, "DESKTOP");
        assert_eq!(products[0].cpes, ["cpe:2.3:a:example:desktop:"]);
        assert_eq!(products[1].names, ["Example Server"]);
        assert!(products[1].cpes.is_empty());
        assert_eq!(s.notification.csaf_publisher.name, "From Env");
        assert_eq!(
            s.notification.csaf_publisher.namespace,
            "https://psirt.example.com"
        );
        let defaults = Settings::load_from(None, &Overrides::default(), env(&[])).unwrap();
        assert!(defaults.notification.csaf_products.is_empty());
        assert_eq!(defaults.notification.csaf_publisher.category, "vendor");
    }

    #[test]
    fn file_then_env_then_flags_each_override_the_layer_before() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:6000\"\ndata_dir = \"/from/file\"\n[server]\ndrain_timeout_secs = 7\nconcurrency_limit = 9\n",
        )
        .unwrap();
        let s = Settings::load_from(
            Some(&file),
            &Overrides {
                listen: Some("127.0.0.1:7000".into()),
                ..Overrides::default()
            },
            env(&[
                ("PORTAL_LISTEN", "127.0.0.1:6500"),
                ("PORTAL_SERVER__DRAIN_TIMEOUT_SECS", "3"),
                ("PORTAL_DATA_DIR", "/from/env"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.listen.to_string(),
            "127.0.0.1:7000",
            "flag beats env and file"
        );
        assert_eq!(s.server.drain_timeout_secs, 3, "env beats file");
        assert_eq!(s.server.concurrency_limit, 9, "file beats default");
        assert_eq!(s.data_dir, PathBuf::from("/from/env"));
    }

    #[test]
    fn env_lists_split_on_commas() {
        let s = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[("PORTAL_AUTH__PUBLIC_KEY_FILES", "/a.pem,/b.pem")]),
        )
        .unwrap();
        assert_eq!(
            s.auth.public_key_files,
            vec![PathBuf::from("/a.pem"), PathBuf::from("/b.pem")]
        );
    }

    #[test]
    fn keys_rotated_out_are_still_accepted() {
        let s = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[
                ("PORTAL_DATA_DIR", "/data"),
                ("PORTAL_AUTH__PREVIOUS_PUBLIC_KEY_FILES", "/old.pub.pem"),
                (
                    "PORTAL_LICENSING__PREVIOUS_GRANT_PUBLIC_KEY_FILES",
                    "/g1.pub.pem,/g2.pub.pem",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.public_key_files(),
            [
                PathBuf::from("/data/signing-key.pub.pem"),
                PathBuf::from("/old.pub.pem")
            ]
        );
        assert_eq!(s.licensing.previous_grant_public_key_files.len(), 2);
        assert_eq!(
            s.grant_signing_key_file(),
            PathBuf::from("/data/grant-signing-key.pem")
        );
    }

    #[test]
    fn jwks_urls_and_cors_origins_take_one_or_many() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(
            &file,
            "[auth]\njwks_url = \"https://idp.example/jwks\"\nscope_claims = [\"scp\"]\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(&file), &Overrides::default(), env(&[])).unwrap();
        assert_eq!(s.auth.jwks_url, ["https://idp.example/jwks"]);
        assert_eq!(s.auth.scope_claims, ["scp"]);
        let s = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[
                (
                    "PORTAL_AUTH__JWKS_URL",
                    "https://a.example/k,http://b.example/k",
                ),
                (
                    "PORTAL_SERVER__CORS_ALLOWED_ORIGINS",
                    "https://portal.example.com,http://localhost:5173",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(s.auth.jwks_url.len(), 2);
        assert_eq!(
            s.server.cors_allowed_origins,
            ["https://portal.example.com", "http://localhost:5173"]
        );
        assert!(
            Settings::load_from(None, &Overrides::default(), env(&[]))
                .unwrap()
                .server
                .cors_allowed_origins
                .is_empty()
        );
        for (key, value) in [
            ("PORTAL_AUTH__JWKS_URL", "ftp://idp.example/jwks"),
            (
                "PORTAL_SERVER__CORS_ALLOWED_ORIGINS",
                "https://portal.example.com/",
            ),
            ("PORTAL_SERVER__CORS_ALLOWED_ORIGINS", "portal.example.com"),
        ] {
            let err =
                Settings::load_from(None, &Overrides::default(), env(&[(key, value)])).unwrap_err();
            assert!(
                err.to_string().contains(if key.contains("JWKS") {
                    "auth.jwks_url"
                } else {
                    "server.cors_allowed_origins"
                }),
                "{err}"
            );
        }
    }

    #[test]
    fn database_timeouts_default_to_seconds_and_must_be_positive() {
        let s = Settings::load_from(None, &Overrides::default(), env(&[])).unwrap();
        assert_eq!(
            (s.database.acquire_timeout(), s.database.statement_timeout()),
            (Duration::from_secs(2), Duration::from_secs(5))
        );
        let set = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[("PORTAL_DATABASE__ACQUIRE_TIMEOUT_MS", "750")]),
        )
        .unwrap();
        assert_eq!(set.database.acquire_timeout(), Duration::from_millis(750));
        for key in [
            "PORTAL_DATABASE__ACQUIRE_TIMEOUT_MS",
            "PORTAL_DATABASE__STATEMENT_TIMEOUT_MS",
        ] {
            let err =
                Settings::load_from(None, &Overrides::default(), env(&[(key, "0")])).unwrap_err();
            let named = key.trim_start_matches("PORTAL_DATABASE__").to_lowercase();
            assert!(err.to_string().contains(&named), "{err}");
        }
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = Settings::load_from(
            None,
            &Overrides::default(),
            env(&[("PORTAL_SERVER__DRAIN_TIMEOUT_SECS", "soon")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("drain_timeout_secs"), "{err}");
        let err = Settings::load_from(
            None,
            &Overrides {
                database_url: Some("mysql://x".into()),
                ..Overrides::default()
            },
            env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        let err = Settings::load_from(
            None,
            &Overrides {
                listen: Some("nowhere".into()),
                ..Overrides::default()
            },
            env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
    }

    #[test]
    fn an_unknown_key_in_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        std::fs::write(&file, "[server]\ndrain_timeout = 7\n").unwrap();
        let err = Settings::load_from(Some(&file), &Overrides::default(), env(&[])).unwrap_err();
        assert!(err.to_string().contains("drain_timeout"), "{err}");
    }
}
