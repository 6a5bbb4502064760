//! The composition root: which services a process runs, on which listener, with which database and keys.
//! `portal up` runs all four, `portal serve <name>` one; tests build the same [`App`] on `127.0.0.1:0`.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use portal_runtime::{
    Settings,
    auth::{self, Minter, Verifier},
    db,
    server::Host,
};
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;

/// A service this binary can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ServiceKind {
    Identity,
    Licensing,
    Billing,
    Notification,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [
        Self::Identity,
        Self::Licensing,
        Self::Billing,
        Self::Notification,
    ];

    /// The short name: schema, SQLite file and `svc:` principal.
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Licensing => "licensing",
            Self::Billing => "billing",
            Self::Notification => "notification",
        }
    }

    /// The fully-qualified gRPC service name (health, reflection).
    pub fn grpc_name(self) -> &'static str {
        use portal_proto::service_names as n;
        match self {
            Self::Identity => n::IDENTITY,
            Self::Licensing => n::LICENSING,
            Self::Billing => n::BILLING,
            Self::Notification => n::NOTIFICATION,
        }
    }

    async fn connect(
        self,
        settings: &Settings,
        migrate: bool,
    ) -> Result<DatabaseConnection, sea_orm::DbErr> {
        let name = self.name();
        match self {
            Self::Identity => {
                db::connect::<portal_identity::migration::Migrator>(settings, name, migrate).await
            }
            Self::Licensing => {
                db::connect::<portal_licensing::migration::Migrator>(settings, name, migrate).await
            }
            Self::Billing => {
                db::connect::<portal_billing::migration::Migrator>(settings, name, migrate).await
            }
            Self::Notification => {
                db::connect::<portal_notification::migration::Migrator>(settings, name, migrate)
                    .await
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("keys: {0}")]
    Keys(#[from] auth::KeyError),
    #[error("keys: {0}")]
    Jwks(#[from] auth::JwksError),
    #[error("binding {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("database of {service}: {source}")]
    Database {
        service: &'static str,
        source: sea_orm::DbErr,
    },
    #[error("peer {url}: {reason}")]
    Peer { url: String, reason: String },
    #[error("configuration: {0}")]
    Config(String),
    #[error("mail: {0}")]
    Mail(String),
    #[error("server: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Loads (or, on the embedded default, creates) the signing key and the verifier (whose identity provider key
/// sets, when configured, are fetched once [`App::build`] spawns their refresh).
pub fn keys(settings: &Settings) -> Result<(Arc<Minter>, Arc<Verifier>), AppError> {
    let private = settings.signing_key_file();
    if settings.auth.signing_key_file.is_none() {
        // The embedded default creates its key on first start; a configured key must already exist.
        auth::ensure_signing_key(&private)?;
    }
    let minter = Minter::from_file(&private, &settings.auth.issuer, &settings.auth.audience)?;
    // Page tokens and acknowledgement tokens are sealed with a key every replica shares without more
    // configuration: one derived from the signing key they already share.
    let secret = std::fs::read(&private).map_err(|source| auth::KeyError::Io {
        path: private.clone(),
        source,
    })?;
    portal_runtime::seal::set_secret(&secret);
    let verifier = Verifier::from_files(
        &settings.public_key_files(),
        &settings.auth.issuer,
        &settings.auth.audience,
        Duration::from_secs(settings.auth.leeway_secs),
    )?
    .with_max_lifetime(Duration::from_secs(settings.auth.max_token_lifetime_secs))
    .with_claims(settings.auth.claims());
    let verifier = match settings.auth.jwks() {
        Some(jwks) => verifier.with_jwks(Arc::new(auth::Jwks::new(jwks)?)),
        None => verifier,
    };
    Ok((Arc::new(minter), Arc::new(verifier)))
}

/// N13: the notification service's mailer as configured: SMTP or files, the bounce domain, and the DKIM key
/// (on the embedded default, an Ed25519 key the data directory gets on first start).
pub fn mailer(
    settings: &Settings,
) -> Result<portal_notification::Mailer, portal_notification::mail::MailError> {
    use portal_notification::mail::dns::DEFAULT_SELECTOR;
    let smtp = &settings.smtp;
    let mut mailer = portal_notification::Mailer::new(
        smtp.url.as_ref().map(|u| u.expose_secret()),
        settings.data_dir.join("mail"),
        &smtp.from,
        smtp.pool_size,
    )?;
    if let Some(domain) = &smtp.bounce_domain {
        mailer = mailer.with_bounce_domain(domain)?;
    }
    let key = dkim_key(settings)?;
    let selector = smtp.dkim.selector.as_deref().unwrap_or(DEFAULT_SELECTOR);
    mailer.with_dkim(&key, smtp.dkim.domain.as_deref(), selector)
}

/// N9: binds the notification service's public listener, when configured, and says the URL links to it start
/// with (the configured base URL, else the bound address).
async fn bind_public(
    settings: &Settings,
) -> Result<(Option<(tokio::net::TcpListener, SocketAddr)>, String), AppError> {
    let public = &settings.notification.public;
    let bound = match public.listen {
        Some(address) => Some(
            portal_runtime::server::bind_tcp(address)
                .await
                .map_err(|source| AppError::Bind { address, source })?,
        ),
        None => None,
    };
    let base = public
        .resolved_base_url(bound.as_ref().map(|(_, local)| *local))
        .ok_or_else(|| {
            AppError::Config(
                "notification.public.base_url: set it, or notification.public.listen, so that advisory mail can link to the acknowledgement page".into(),
            )
        })?;
    Ok((bound, base))
}

/// N9, N15: the public listener's pages (built in, or the operator's), limits and CSAF provider key.
fn public_options(
    settings: &Settings,
    jwks: bytes::Bytes,
) -> Result<portal_notification::public::PublicOptions, AppError> {
    use portal_notification::public::{Pages, PublicOptions, RateLimits};
    let public = &settings.notification.public;
    Ok(PublicOptions {
        openpgp_key: Some(openpgp_key(settings)?),
        pages: Pages::load(public.templates_dir.as_deref()).map_err(AppError::Config)?,
        limits: RateLimits::new(public.per_address_per_minute, public.global_per_second),
        max_connections: 1024,
        header_timeout: Duration::from_secs(10),
        jwks: Some(jwks),
    })
}

/// N15: the CSAF provider's OpenPGP key, created on the embedded default's first start when none is configured.
pub fn openpgp_key(
    settings: &Settings,
) -> Result<portal_notification::openpgp::OpenPgpKey, AppError> {
    use portal_notification::openpgp::OpenPgpKey;
    let path = settings.openpgp_key_file();
    let failed = |e: portal_notification::openpgp::OpenPgpError| AppError::Config(e.to_string());
    if settings.notification.public.openpgp_key_file.is_none() {
        let publisher = &settings.notification.csaf_publisher;
        OpenPgpKey::ensure(
            &path,
            &format!("{} CSAF provider ({})", publisher.name, publisher.namespace),
        )
        .map_err(failed)?;
    }
    OpenPgpKey::from_file(&path).map_err(failed)
}

/// N13: the DKIM key, created on the embedded default's first start when none is configured.
pub fn dkim_key(
    settings: &Settings,
) -> Result<portal_notification::mail::dkim::DkimKey, portal_notification::mail::MailError> {
    use portal_notification::mail::dkim;
    let path = settings.dkim_key_file();
    if settings.smtp.dkim.key_file.is_none() {
        dkim::ensure_key(&path)?;
    }
    dkim::DkimKey::from_file(&path)
}

/// N13: the DNS records `portal mail dns` prints.
pub fn mail_dns_records(
    settings: &Settings,
) -> Result<String, portal_notification::mail::MailError> {
    use portal_notification::mail::{
        dns::{DEFAULT_SELECTOR, MailDomains, n13_dns_records},
        sender_domain,
    };
    let smtp = &settings.smtp;
    let from = sender_domain(&smtp.from)?;
    let bounce = smtp.bounce_domain.clone().unwrap_or_else(|| from.clone());
    let dkim = smtp.dkim.domain.clone().unwrap_or_else(|| from.clone());
    let key = dkim_key(settings)?;
    let domains = MailDomains {
        from: &from,
        bounce: &bounce,
        dkim: &dkim,
        selector: smtp.dkim.selector.as_deref().unwrap_or(DEFAULT_SELECTOR),
    };
    Ok(n13_dns_records(&domains, &key))
}

/// Creates the data directory readable by this user only, and narrows an existing one (earlier versions left it
/// world-readable): it holds the SQLite databases, the signing key and the mail files.
fn private_dir(dir: &std::path::Path) -> Result<(), AppError> {
    let failed = |source| AppError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map_err(failed)?.permissions().mode();
        if mode & 0o077 != 0 {
            // A mounted volume may not be ours to change; then its mount options decide, and we say so.
            if let Err(e) =
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))
            {
                tracing::warn!(path = %dir.display(), error = %e, "could not make the data directory private");
            }
        }
    }
    Ok(())
}

/// Reports the pool's size at every scrape.
fn watch_pool(service: &'static str, db: &DatabaseConnection) {
    let db = db.clone();
    portal_runtime::metrics::register_collector(move || match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            portal_runtime::metrics::pool(service, pool.size(), pool.num_idle());
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            portal_runtime::metrics::pool(service, pool.size(), pool.num_idle());
        }
    });
}

/// Applies every service's migrations.
pub async fn migrate(settings: &Settings, services: &[ServiceKind]) -> Result<(), AppError> {
    private_dir(&settings.data_dir)?;
    for kind in services {
        let db = kind
            .connect(settings, true)
            .await
            .map_err(|source| AppError::Database {
                service: kind.name(),
                source,
            })?;
        let _ = db.close().await;
    }
    Ok(())
}

/// How this process reaches the other services: configured URLs, or itself when they run in-process.
struct Peers<'a> {
    settings: &'a Settings,
    local: SocketAddr,
    minter: Arc<Minter>,
}

impl Peers<'_> {
    fn url(&self, kind: ServiceKind) -> String {
        let configured = match kind {
            ServiceKind::Identity => &self.settings.peers.identity,
            ServiceKind::Licensing => &self.settings.peers.licensing,
            ServiceKind::Billing => &self.settings.peers.billing,
            ServiceKind::Notification => &self.settings.peers.notification,
        };
        configured.clone().unwrap_or_else(|| {
            // A wildcard listen address is not something to connect to; loopback reaches the same listener.
            let mut local = self.local;
            if local.ip().is_unspecified() {
                local.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{local}")
        })
    }

    fn channel(&self, kind: ServiceKind) -> Result<tonic::transport::Channel, AppError> {
        let url = self.url(kind);
        portal_runtime::client::Caller::channel_to(&url, self.settings.server.client_timeout())
            .map_err(|e| AppError::Peer {
                url,
                reason: e.to_string(),
            })
    }

    /// A notification client acting as `svc:<kind>` (for the outbox relay).
    fn notification(
        &self,
        kind: ServiceKind,
    ) -> Result<portal_runtime::outbox::NotificationClient, AppError> {
        let channel = self.channel(ServiceKind::Notification)?;
        Ok(portal_proto::notification::notification_service_client::NotificationServiceClient::with_interceptor(channel, self.caller(kind)))
    }

    /// `svc:<kind>` with scope `internal`, a fresh token per call, and the configured deadline.
    fn caller(&self, kind: ServiceKind) -> portal_runtime::client::Caller {
        portal_runtime::client::Caller::new(
            self.minter.clone(),
            kind.name(),
            portal_runtime::auth::INTERNAL_SCOPE,
            self.settings.server.client_timeout(),
        )
    }
}

/// A bound, ready-to-serve process.
#[derive(Debug)]
pub struct App {
    host: Host,
    services: Vec<ServiceKind>,
    /// Background loops (sweeps, the admin listener), aborted after the drain.
    background: Vec<tokio::task::JoinHandle<()>>,
    /// Loops that finish their work when told to stop (delivery workers), awaited after the drain.
    graceful: Vec<tokio::task::JoinHandle<()>>,
    /// Tells the background loops to finish (delivery workers then release what they hold).
    stop: tokio::sync::watch::Sender<bool>,
    admin: Option<SocketAddr>,
    /// N14: where the inbound SMTP listener for delivery reports is bound, when configured.
    inbound: Option<SocketAddr>,
    /// N9: where the public listener (the acknowledgement page) is bound, when configured.
    public: Option<SocketAddr>,
}

impl App {
    /// Binds the listener, opens each service's database (migrating when configured) and mounts the services.
    pub async fn build(settings: &Settings, services: &[ServiceKind]) -> Result<Self, AppError> {
        private_dir(&settings.data_dir)?;
        let (minter, verifier) = keys(settings)?;
        let mut background = Vec::new();
        if let Some(jwks) = verifier.jwks() {
            // Not awaited: a provider that is down at start must not keep the services from starting; tokens
            // only its keys could verify get UNAVAILABLE until the first fetch succeeds.
            background.push(jwks.spawn_refresh());
        }
        let mut host = Host::bind(settings.listen, settings.server.clone(), verifier)
            .await
            .map_err(|source| AppError::Bind {
                address: settings.listen,
                source,
            })?;
        let peers = Peers {
            settings,
            local: host.address(),
            minter,
        };
        let mut graceful = Vec::new();
        let mut inbound = None;
        let mut public = None;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        portal_runtime::metrics::install();
        let admin = match settings.admin_listen {
            Some(address) => Some(
                portal_runtime::server::bind_tcp(address)
                    .await
                    .map_err(|source| AppError::Bind { address, source })?,
            ),
            None => None,
        };
        for &kind in services {
            let db = kind
                .connect(settings, settings.database.auto_migrate)
                .await
                .map_err(|source| AppError::Database {
                    service: kind.name(),
                    source,
                })?;
            watch_pool(kind.name(), &db);
            match kind {
                ServiceKind::Identity => {
                    let licensing = portal_identity::Licensing::new(
                        peers.channel(ServiceKind::Licensing)?,
                        peers.caller(kind),
                    );
                    background.push(tokio::spawn(portal_runtime::outbox::relay(
                        db.clone(),
                        peers.notification(kind)?,
                    )));
                    host.add(portal_identity::IdentityApi::new(db, licensing).into_server())
                }
                ServiceKind::Licensing => {
                    let identity = portal_licensing::Identity::new(
                        peers.channel(ServiceKind::Identity)?,
                        peers.caller(kind),
                    );
                    background.push(tokio::spawn(portal_runtime::outbox::relay(
                        db.clone(),
                        peers.notification(kind)?,
                    )));
                    let grants = portal_licensing::GrantSigner::load(
                        &settings.grant_signing_key_file(),
                        settings.licensing.grant_signing_key_file.is_none(),
                    )?;
                    let ttl = Duration::from_secs(settings.licensing.grant_ttl_hours * 3600);
                    let api =
                        portal_licensing::LicensingApi::new(db, identity, Arc::new(grants), ttl);
                    background.push(api.spawn_expiry_sweep(Duration::from_secs(
                        settings.licensing.expiry_sweep_secs,
                    )));
                    host.add(api.into_server())
                }
                ServiceKind::Billing => {
                    let identity = portal_billing::Identity::new(
                        peers.channel(ServiceKind::Identity)?,
                        peers.caller(kind),
                    );
                    let licensing = portal_billing::Licensing::new(
                        peers.channel(ServiceKind::Licensing)?,
                        peers.caller(kind),
                    );
                    // B10: renewal reminders and auto-renew notices go out through billing's outbox.
                    background.push(tokio::spawn(portal_runtime::outbox::relay(
                        db.clone(),
                        peers.notification(kind)?,
                    )));
                    let api = portal_billing::BillingApi::new(db, identity, licensing);
                    // B3/B8: completes purchases (and renewal refreshes) left pending while licensing was down.
                    background.push(api.spawn_fulfillment_retry(Duration::from_secs(2)));
                    host.add(api.into_server())
                }
                ServiceKind::Notification => {
                    let upstream = portal_notification::Upstream::new(
                        (peers.channel(ServiceKind::Identity)?, peers.caller(kind)),
                        (peers.channel(ServiceKind::Licensing)?, peers.caller(kind)),
                    );
                    let smtp = &settings.smtp;
                    // N11/N12: the product mapping and publisher checked, and the CSAF schema built, before serving.
                    let csaf = portal_notification::domain::csaf::CsafConfig::from_settings(
                        &settings.notification,
                    )
                    .map_err(AppError::Config)?;
                    portal_notification::domain::csaf::n11_schema_ready()
                        .map_err(|e| AppError::Config(format!("CSAF 2.0 schema: {e}")))?;
                    // N9: the public listener is bound before the mailer is built: mail links name its address.
                    let (page, base) = bind_public(settings).await?;
                    let mailer = mailer(settings)
                        .map_err(|e| AppError::Mail(e.to_string()))?
                        .with_public_base(&base);
                    let api = portal_notification::NotificationApi::new(
                        db,
                        upstream,
                        Arc::new(mailer),
                        // N12/N15: exported documents' canonical URLs are at this listener's provider.
                        csaf.with_provider_base(&base),
                    )
                    .with_watch_lifetime(Duration::from_secs(settings.notification.watch_max_secs));
                    let worker = portal_notification::WorkerSettings {
                        batch: smtp.batch_size,
                        concurrency: smtp.pool_size as usize,
                        lease: Duration::from_secs(smtp.lease_secs),
                        poll: Duration::from_millis(smtp.poll_ms),
                        policy: portal_notification::domain::RetryPolicy {
                            first_delay: Duration::from_millis(smtp.retry_first_ms),
                            max_delay: Duration::from_millis(smtp.retry_max_ms),
                            max_attempts: smtp.max_attempts,
                        },
                    };
                    graceful.extend(api.spawn_workers(worker, stop_rx.clone()));
                    if let Some(address) = smtp.inbound.listen {
                        // N14: the listener delivery reports come back to.
                        let (listener, local) = portal_runtime::server::bind_tcp(address)
                            .await
                            .map_err(|source| AppError::Bind { address, source })?;
                        let limits = portal_notification::inbound::InboundLimits {
                            max_message_bytes: smtp.inbound.max_message_bytes,
                            max_connections: smtp.inbound.max_connections,
                            idle_timeout: Duration::from_secs(smtp.inbound.idle_timeout_secs),
                            session_timeout: Duration::from_secs(smtp.inbound.session_timeout_secs),
                        };
                        graceful.push(api.spawn_inbound(listener, limits, stop_rx.clone()));
                        inbound = Some(local);
                    }
                    if let Some((listener, local)) = page {
                        // The key set as the admin listener serves it (licensing, earlier in this loop, made
                        // the data directory's grant key where it runs here).
                        let jwks = auth::PublishedKeys::from_settings(settings)?.document();
                        let options = public_options(settings, jwks)?;
                        graceful.push(api.spawn_public(listener, options, stop_rx.clone()));
                        public = Some(local);
                    }
                    host.add(api.into_server())
                }
            };
        }
        let admin = match admin {
            Some((listener, local)) => {
                // After the services: licensing has created the data directory's grant-signing key by now.
                let keys = auth::PublishedKeys::from_settings(settings)?;
                background.push(tokio::spawn(portal_runtime::metrics::serve_admin(
                    listener, keys,
                )));
                Some(local)
            }
            None => None,
        };
        Ok(Self {
            host,
            services: services.to_vec(),
            background,
            graceful,
            stop,
            admin,
            inbound,
            public,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.host.address()
    }

    pub fn services(&self) -> &[ServiceKind] {
        &self.services
    }

    /// Serves until `shutdown` resolves, then drains (see [`Host::serve`]).
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), AppError> {
        let served = self.host.serve(shutdown).await;
        let _ = self.stop.send(true);
        for task in &self.background {
            task.abort();
        }
        let deadline = tokio::time::Instant::now() + tokio::time::Duration::from_secs(10);
        for mut task in self.graceful {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
        Ok(served?)
    }

    /// N14: the inbound SMTP listener's address, when one is configured.
    pub fn inbound_address(&self) -> Option<SocketAddr> {
        self.inbound
    }

    /// N9: the public listener's address (the acknowledgement page), when one is configured.
    pub fn public_address(&self) -> Option<SocketAddr> {
        self.public
    }

    /// The admin address (metrics, the published keys), when one is configured.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin
    }
}
