//! Mounts each service on the host: its database, its clients of the other services, and the loops and
//! listeners it runs beside the gRPC one.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use portal_runtime::{Settings, server::Host};
use sea_orm::DatabaseConnection;
use tokio::{sync::watch, task::JoinHandle};

use crate::{AppError, ServiceKind, listeners, mail::mailer, peers::Peers};

/// What the mounted services started beside the gRPC host, for [`App`](crate::App) to stop and report.
pub(crate) struct Started {
    /// Background loops (sweeps, the admin listener), aborted after the drain.
    pub(crate) background: Vec<JoinHandle<()>>,
    /// Loops that finish their work when told to stop (delivery workers), awaited after the drain.
    pub(crate) graceful: Vec<JoinHandle<()>>,
    /// Turns true when the loops are to finish.
    pub(crate) stop: watch::Receiver<bool>,
    /// N14: where the inbound SMTP listener for delivery reports is bound, when configured.
    pub(crate) inbound: Option<SocketAddr>,
    /// N9: where the public listener (the acknowledgement page) is bound, when configured.
    pub(crate) public: Option<SocketAddr>,
}

/// Opens the service's database (migrating when configured), reports its pool, and mounts the service.
pub(crate) async fn service(
    kind: ServiceKind,
    settings: &Settings,
    peers: &Peers<'_>,
    host: &mut Host,
    started: &mut Started,
) -> Result<(), AppError> {
    let db = kind
        .connect(settings, settings.database.auto_migrate)
        .await
        .map_err(|source| AppError::Database {
            service: kind.name(),
            source,
        })?;
    watch_pool(kind.name(), &db);
    match kind {
        ServiceKind::Identity => identity(db, peers, host, started),
        ServiceKind::Licensing => licensing(settings, db, peers, host, started),
        ServiceKind::Billing => billing(db, peers, host, started),
        ServiceKind::Notification => notification(settings, db, peers, host, started).await,
    }
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

fn identity(
    db: DatabaseConnection,
    peers: &Peers<'_>,
    host: &mut Host,
    started: &mut Started,
) -> Result<(), AppError> {
    let kind = ServiceKind::Identity;
    let licensing =
        portal_identity::Licensing::new(peers.channel(ServiceKind::Licensing)?, peers.caller(kind));
    started
        .background
        .push(tokio::spawn(portal_runtime::outbox::relay(
            db.clone(),
            peers.notification(kind)?,
        )));
    host.add(portal_identity::IdentityApi::new(db, licensing).into_server());
    Ok(())
}

fn licensing(
    settings: &Settings,
    db: DatabaseConnection,
    peers: &Peers<'_>,
    host: &mut Host,
    started: &mut Started,
) -> Result<(), AppError> {
    let kind = ServiceKind::Licensing;
    let identity =
        portal_licensing::Identity::new(peers.channel(ServiceKind::Identity)?, peers.caller(kind));
    started
        .background
        .push(tokio::spawn(portal_runtime::outbox::relay(
            db.clone(),
            peers.notification(kind)?,
        )));
    let grants = portal_licensing::GrantSigner::load(
        &settings.grant_signing_key_file(),
        settings.licensing.grant_signing_key_file.is_none(),
    )?;
    let ttl = Duration::from_secs(settings.licensing.grant_ttl_hours * 3600);
    let api = portal_licensing::LicensingApi::new(db, identity, Arc::new(grants), ttl);
    started
        .background
        .push(api.spawn_expiry_sweep(Duration::from_secs(settings.licensing.expiry_sweep_secs)));
    host.add(api.into_server());
    Ok(())
}

fn billing(
    db: DatabaseConnection,
    peers: &Peers<'_>,
    host: &mut Host,
    started: &mut Started,
) -> Result<(), AppError> {
    let kind = ServiceKind::Billing;
    let identity =
        portal_billing::Identity::new(peers.channel(ServiceKind::Identity)?, peers.caller(kind));
    let licensing =
        portal_billing::Licensing::new(peers.channel(ServiceKind::Licensing)?, peers.caller(kind));
    // B10: renewal reminders and auto-renew notices go out through billing's outbox.
    started
        .background
        .push(tokio::spawn(portal_runtime::outbox::relay(
            db.clone(),
            peers.notification(kind)?,
        )));
    let api = portal_billing::BillingApi::new(db, identity, licensing);
    // B3/B8: completes purchases (and renewal refreshes) left pending while licensing was down.
    started
        .background
        .push(api.spawn_fulfillment_retry(Duration::from_secs(2)));
    host.add(api.into_server());
    Ok(())
}

async fn notification(
    settings: &Settings,
    db: DatabaseConnection,
    peers: &Peers<'_>,
    host: &mut Host,
    started: &mut Started,
) -> Result<(), AppError> {
    let kind = ServiceKind::Notification;
    let upstream = portal_notification::Upstream::new(
        (peers.channel(ServiceKind::Identity)?, peers.caller(kind)),
        (peers.channel(ServiceKind::Licensing)?, peers.caller(kind)),
    );
    // N11/N12: the product mapping and publisher checked, and the CSAF schema built, before serving.
    let csaf = portal_notification::domain::csaf::CsafConfig::from_settings(&settings.notification)
        .map_err(AppError::Config)?;
    portal_notification::domain::csaf::n11_schema_ready()
        .map_err(|e| AppError::Config(format!("CSAF 2.0 schema: {e}")))?;
    // N9: the public listener is bound before the mailer is built: mail links name its address.
    let (page, base) = listeners::bind_public(settings).await?;
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
    started
        .graceful
        .extend(api.spawn_workers(worker_settings(settings), started.stop.clone()));
    if let Some(address) = settings.smtp.inbound.listen {
        // N14: the listener delivery reports come back to.
        let (task, local) =
            listeners::serve_inbound(settings, address, &api, started.stop.clone()).await?;
        started.graceful.push(task);
        started.inbound = Some(local);
    }
    if let Some((listener, local)) = page {
        let task = listeners::serve_public(settings, listener, &api, started.stop.clone())?;
        started.graceful.push(task);
        started.public = Some(local);
    }
    host.add(api.into_server());
    Ok(())
}

/// The delivery workers' batch, concurrency, lease, poll and retry policy, from the SMTP settings.
fn worker_settings(settings: &Settings) -> portal_notification::WorkerSettings {
    let smtp = &settings.smtp;
    portal_notification::WorkerSettings {
        batch: smtp.batch_size,
        concurrency: smtp.pool_size as usize,
        lease: Duration::from_secs(smtp.lease_secs),
        poll: Duration::from_millis(smtp.poll_ms),
        policy: portal_notification::domain::RetryPolicy {
            first_delay: Duration::from_millis(smtp.retry_first_ms),
            max_delay: Duration::from_millis(smtp.retry_max_ms),
            max_attempts: smtp.max_attempts,
        },
    }
}
