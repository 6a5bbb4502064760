//! The composition root: which services a process runs, on which listener, with which database and keys.
//! `portal up` runs all four, `portal serve <name>` one; tests build the same [`App`] on `127.0.0.1:0`.

mod keys;
mod listeners;
mod mail;
mod mount;
mod peers;

use std::{future::Future, net::SocketAddr, sync::Arc};

use portal_runtime::{
    Settings,
    auth::{self, Verifier},
    db,
    server::Host,
};
use sea_orm::DatabaseConnection;

pub use keys::{dkim_key, keys, openpgp_key};
pub use mail::{mail_dns_records, mailer};
use mount::Started;
use peers::Peers;

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

/// Binds the gRPC listener every hosted service shares.
async fn bind_host(settings: &Settings, verifier: Arc<Verifier>) -> Result<Host, AppError> {
    Host::bind(settings.listen, settings.server.clone(), verifier)
        .await
        .map_err(|source| AppError::Bind {
            address: settings.listen,
            source,
        })
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
        let mut host = bind_host(settings, verifier).await?;
        let peers = Peers {
            settings,
            local: host.address(),
            minter,
        };
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut started = Started {
            background,
            graceful: Vec::new(),
            stop: stop_rx,
            inbound: None,
            public: None,
        };
        portal_runtime::metrics::install();
        let admin = listeners::bind_admin(settings).await?;
        for &kind in services {
            mount::service(kind, settings, &peers, &mut host, &mut started).await?;
        }
        let admin = match admin {
            Some((listener, local)) => {
                // After the services: licensing has created the data directory's grant-signing key by now.
                started
                    .background
                    .push(listeners::serve_admin(settings, listener)?);
                Some(local)
            }
            None => None,
        };
        Ok(Self {
            host,
            services: services.to_vec(),
            background: started.background,
            graceful: started.graceful,
            stop,
            admin,
            inbound: started.inbound,
            public: started.public,
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
