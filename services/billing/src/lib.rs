//! The billing service: the catalog and its prices, purchases of additional products, invoices, payments,
//! renewals and auto-renew (SPEC B1–B8).
//!
//! The data flows one way, rpc → app → (domain, store) → app → rpc: `rpc` holds the tonic handlers (requests
//! become typed commands there, answers become proto), `app` the use cases (each owns its transaction, its
//! idempotency claim, its audit event and the order of domain and store calls), `domain` the rules without I/O
//! (found by rule id), `store` the sea-orm persistence speaking domain types, `jobs` the background loop that
//! retries through `app` what licensing could not do at once, `pdf` the drawing of the printable invoice; the
//! other services are asked through the shared `portal_clients`.

mod app;
pub mod domain;
pub mod error;
mod identity;
mod jobs;
pub mod migration;
mod pdf;
mod rpc;
mod store;

use std::{sync::Arc, time::Duration};

pub use identity::Identity;
pub use portal_clients::Licensing;
use portal_proto::billing::billing_service_server::BillingServiceServer;
pub use rpc::validate;
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;

/// Everything the billing handlers need.
#[derive(Debug, Clone)]
pub struct BillingApi {
    db: DatabaseConnection,
    identity: Identity,
    licensing: Licensing,
    /// Set once the shipped catalog has been seeded into this database (B2).
    seeded: Arc<OnceCell<()>>,
}

impl BillingApi {
    pub fn new(db: DatabaseConnection, identity: Identity, licensing: Licensing) -> Self {
        Self {
            db,
            identity,
            licensing,
            seeded: Arc::new(OnceCell::new()),
        }
    }

    /// The tonic service to mount on a [`portal_runtime::server::Host`].
    pub fn into_server(self) -> BillingServiceServer<Self> {
        BillingServiceServer::new(self)
    }

    /// B3/B8: every `every`, until the process ends, completes the purchases left `PENDING` and the renewal
    /// refreshes left pending while licensing was unavailable. Each completion is a conditional update, so
    /// several replicas may run it at once and each purchase is marked fulfilled exactly once.
    pub fn spawn_fulfillment_retry(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        jobs::spawn_retry(self.clone(), every)
    }
}
