//! The licensing service: product keys, owners and assignments, fulfillment pools, deployments, and the key
//! facts identity derives personas from (SPEC L1–L12); cloud sites provisioned by Creator purchases (B11).
//!
//! Data flows one way, rpc → app → (domain, store) → app → rpc: `rpc` translates requests into typed commands
//! and answers, `app` holds the use cases (transaction, idempotency claim, audit event, the order of domain and
//! store calls), `domain` the rules without I/O (by rule id), `store` the sea-orm persistence in domain types,
//! `jobs` the background work (through `app`), and `identity` the client for who is who.

mod app;
pub mod domain;
pub mod error;
mod identity;
mod jobs;
pub mod migration;
mod rpc;
mod store;

use std::{sync::Arc, time::Duration};

pub use domain::GrantSigner;
pub use identity::Identity;
use portal_proto::licensing::licensing_service_server::LicensingServiceServer;
use portal_runtime::cache::{ClearAfterWrites, ReadCache};
use sea_orm::DatabaseConnection;

/// A person's key facts in an account (owned, assigned), by (account, user id, e-mail key): asked on every
/// persona decision for a Download Only user (I9). In memory on SQLite only; see [`portal_runtime::cache`].
type HoldingsCache = ReadCache<(String, String, String), (u64, u64)>;

/// Everything the licensing handlers need.
#[derive(Debug, Clone)]
pub struct LicensingApi {
    db: DatabaseConnection,
    identity: Identity,
    grants: Arc<GrantSigner>,
    grant_ttl: chrono::Duration,
    holdings: Arc<HoldingsCache>,
}

impl LicensingApi {
    pub fn new(
        db: DatabaseConnection,
        identity: Identity,
        grants: Arc<GrantSigner>,
        grant_ttl: Duration,
    ) -> Self {
        let grant_ttl =
            chrono::Duration::from_std(grant_ttl).unwrap_or(chrono::Duration::hours(72));
        let holdings = Arc::new(HoldingsCache::for_database(&db, 10_000));
        Self {
            db,
            identity,
            grants,
            grant_ttl,
            holdings,
        }
    }

    /// The tonic service to mount on a [`portal_runtime::server::Host`]. Every RPC but the reads clears the
    /// remembered key facts once its handler is done, before it answers.
    pub fn into_server(self) -> ClearAfterWrites<LicensingServiceServer<Self>> {
        const READS: &[&str] = &[
            "GetKey",
            "ListKeys",
            "GetHoldings",
            "ListActivations",
            "ListDeployments",
            "GetLicenseUsage",
            "GetActivationReport",
            "ListAccountsWithProducts",
            "ListElearningCodes",
        ];
        let holdings = self.holdings.clone();
        ClearAfterWrites::new(
            LicensingServiceServer::new(self),
            READS,
            Arc::new(move || holdings.invalidate()),
        )
    }

    /// L7: marks term keys past their period end `EXPIRED` every `every`, until the process ends. Each run is
    /// one idempotent statement, so several replicas may run it at once.
    pub fn spawn_expiry_sweep(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        jobs::spawn_expiry_sweep(self.db.clone(), self.holdings.clone(), every)
    }
}
