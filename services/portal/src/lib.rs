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

/// A service this binary can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ServiceKind {
    Identity,
    Licensing,
    Billing,
    Notification,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [Self::Identity, Self::Licensing, Self::Billing, Self::Notification];

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

    async fn connect(self, settings: &Settings, migrate: bool) -> Result<DatabaseConnection, sea_orm::DbErr> {
        let name = self.name();
        match self {
            Self::Identity => db::connect::<portal_identity::migration::Migrator>(settings, name, migrate).await,
            Self::Licensing => db::connect::<portal_licensing::migration::Migrator>(settings, name, migrate).await,
            Self::Billing => db::connect::<portal_billing::migration::Migrator>(settings, name, migrate).await,
            Self::Notification => db::connect::<portal_notification::migration::Migrator>(settings, name, migrate).await,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("keys: {0}")]
    Keys(#[from] auth::KeyError),
    #[error("binding {address}: {source}")]
    Bind { address: SocketAddr, source: std::io::Error },
    #[error("database of {service}: {source}")]
    Database { service: &'static str, source: sea_orm::DbErr },
    #[error("server: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Loads (or, on the embedded default, creates) the signing key and the verifier.
pub fn keys(settings: &Settings) -> Result<(Arc<Minter>, Arc<Verifier>), AppError> {
    let private = settings.signing_key_file();
    if settings.auth.signing_key_file.is_none() {
        // The embedded default creates its key on first start; a configured key must already exist.
        auth::ensure_signing_key(&private)?;
    }
    let minter = Minter::from_file(&private, &settings.auth.issuer, &settings.auth.audience)?;
    let verifier = Verifier::from_files(
        &settings.public_key_files(),
        &settings.auth.issuer,
        &settings.auth.audience,
        Duration::from_secs(settings.auth.leeway_secs),
    )?;
    Ok((Arc::new(minter), Arc::new(verifier)))
}

/// Applies every service's migrations.
pub async fn migrate(settings: &Settings, services: &[ServiceKind]) -> Result<(), AppError> {
    for kind in services {
        let db = kind.connect(settings, true).await.map_err(|source| AppError::Database { service: kind.name(), source })?;
        let _ = db.close().await;
    }
    Ok(())
}

/// A bound, ready-to-serve process.
#[derive(Debug)]
pub struct App {
    host: Host,
    services: Vec<ServiceKind>,
}

impl App {
    /// Binds the listener, opens each service's database (migrating when configured) and mounts the services.
    pub async fn build(settings: &Settings, services: &[ServiceKind]) -> Result<Self, AppError> {
        let (_minter, verifier) = keys(settings)?;
        let mut host = Host::bind(settings.listen, settings.server.clone(), verifier)
            .await
            .map_err(|source| AppError::Bind { address: settings.listen, source })?;
        for &kind in services {
            let db = kind
                .connect(settings, settings.database.auto_migrate)
                .await
                .map_err(|source| AppError::Database { service: kind.name(), source })?;
            match kind {
                ServiceKind::Identity => host.add(portal_identity::IdentityApi::new(db).into_server()),
                ServiceKind::Licensing => host.add(portal_licensing::LicensingApi::new(db).into_server()),
                ServiceKind::Billing => host.add(portal_billing::BillingApi::new(db).into_server()),
                ServiceKind::Notification => host.add(portal_notification::NotificationApi::new(db).into_server()),
            };
        }
        Ok(Self { host, services: services.to_vec() })
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
        Ok(self.host.serve(shutdown).await?)
    }
}

