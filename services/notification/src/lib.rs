//! The notification service: security and technical advisories fanned out to every targeted account's points
//! of contact through a durable delivery ledger, and transactional notices through the same path (N1–N6).
//!
//! `domain` holds the rules without I/O, `store` the ledger, `resolver` writes an advisory's recipients,
//! `worker` sends them, `mail` renders and transports, `rpc` the tonic handlers.

mod convert;
pub mod domain;
pub mod error;
pub mod mail;
mod metrics;
pub mod migration;
mod resolver;
mod rpc;
mod store;
mod upstream;
mod worker;

use std::{sync::Arc, time::Duration};

pub use mail::Mailer;
use portal_proto::notification::notification_service_server::NotificationServiceServer;
use sea_orm::DatabaseConnection;
use tokio::{sync::watch, task::JoinHandle};
pub use upstream::Upstream;
pub use worker::WorkerSettings;

/// Everything the notification handlers and workers need.
#[derive(Debug, Clone)]
pub struct NotificationApi {
    db: DatabaseConnection,
    upstream: Upstream,
    mailer: Arc<Mailer>,
    /// Wakes this process's delivery worker when it has put work in the ledger, instead of waiting for the
    /// worker's next poll (other replicas still find it by polling).
    work: Arc<tokio::sync::Notify>,
}

impl NotificationApi {
    pub fn new(db: DatabaseConnection, upstream: Upstream, mailer: Arc<Mailer>) -> Self {
        Self {
            db,
            upstream,
            mailer,
            work: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Tells the delivery worker there are deliveries due.
    fn wake_worker(&self) {
        self.work.notify_one();
    }

    /// The tonic service to mount on a [`portal_runtime::server::Host`].
    pub fn into_server(self) -> NotificationServiceServer<Self> {
        NotificationServiceServer::new(self)
    }

    fn start_resolving(&self, advisory_id: String) {
        let api = self.clone();
        tokio::spawn(async move {
            match resolver::resolve(&api.db, &api.upstream, &advisory_id).await {
                Ok(()) => api.wake_worker(),
                Err(e) => {
                    tracing::warn!(advisory_id, error = %e, "resolving recipients failed; it is retried when the lease lapses")
                }
            }
        });
    }

    /// Starts the delivery worker and the resolver sweep (which takes over advisories whose resolution stopped,
    /// e.g. after a crash). Both stop when `stop` turns true; the worker then releases what it holds.
    pub fn spawn_workers(
        &self,
        settings: WorkerSettings,
        stop: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        let worker = worker::Worker::new(
            self.db.clone(),
            self.mailer.clone(),
            settings,
            self.work.clone(),
        );
        let deliveries = tokio::spawn(worker.run(stop.clone()));
        let api = self.clone();
        let mut stop_sweep = stop;
        let sweep = tokio::spawn(async move {
            loop {
                match resolver::orphaned(&api.db).await {
                    Ok(ids) => {
                        for id in ids {
                            match resolver::resolve(&api.db, &api.upstream, &id).await {
                                Ok(()) => api.wake_worker(),
                                Err(e) => {
                                    tracing::warn!(advisory_id = id, error = %e, "resolving recipients failed; retrying later")
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "looking for unresolved advisories failed")
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                    _ = stop_sweep.changed() => return,
                }
            }
        });
        vec![deliveries, sweep]
    }
}
