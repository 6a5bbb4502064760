//! The notification service: security and technical advisories fanned out to every targeted account's points
//! of contact through a durable delivery ledger, and transactional notices through the same path (N1–N6);
//! advisories imported from and exported as CSAF 2.0 documents (N11, N12).
//!
//! Data flows proto in → domain → store → proto out: `rpc` translates requests into typed commands and answers
//! back, `domain` holds the rules without I/O, `store` the ledger (speaking domain types), `jobs` the background
//! work (the delivery worker and the recipients' resolution), `mail` renders and transports, `upstream` the
//! clients of identity and licensing, `inbound` the SMTP listener delivery reports come back to (N14).

mod app;
pub mod domain;
pub mod error;
pub mod inbound;
mod jobs;
pub mod mail;
pub mod migration;
pub mod openpgp;
pub mod public;
mod rpc;
mod store;
mod upstream;

use std::sync::Arc;

pub use jobs::WorkerSettings;
pub use mail::Mailer;
use portal_proto::notification::notification_service_server::NotificationServiceServer;
use sea_orm::DatabaseConnection;
pub use upstream::Upstream;

/// Everything the notification handlers and workers need.
#[derive(Debug, Clone)]
pub struct NotificationApi {
    db: DatabaseConnection,
    upstream: Upstream,
    mailer: Arc<Mailer>,
    /// The CSAF product mapping and publisher (N11, N12).
    csaf: Arc<domain::csaf::CsafConfig>,
    /// Wakes this process's delivery worker when it has put work in the ledger, instead of waiting for the
    /// worker's next poll (other replicas still find it by polling).
    work: Arc<tokio::sync::Notify>,
    /// N4: the longest one WatchAdvisory stream lasts; the client then watches again.
    watch_lifetime: std::time::Duration,
}

impl NotificationApi {
    pub fn new(
        db: DatabaseConnection,
        upstream: Upstream,
        mailer: Arc<Mailer>,
        csaf: domain::csaf::CsafConfig,
    ) -> Self {
        Self {
            db,
            upstream,
            mailer,
            csaf: Arc::new(csaf),
            work: Arc::new(tokio::sync::Notify::new()),
            watch_lifetime: std::time::Duration::from_secs(300),
        }
    }

    /// N4: WatchAdvisory streams end after `lifetime` even while the advisory is unsettled, so that no watch
    /// holds a stream (and its caller's share) for ever.
    pub fn with_watch_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.watch_lifetime = lifetime;
        self
    }

    /// Tells the delivery worker there are deliveries due.
    fn wake_worker(&self) {
        self.work.notify_one();
    }

    /// The tonic service to mount on a [`portal_runtime::server::Host`].
    pub fn into_server(self) -> NotificationServiceServer<Self> {
        NotificationServiceServer::new(self)
    }
}
