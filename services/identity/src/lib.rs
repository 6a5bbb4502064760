//! The identity service: accounts, portal users, roles and permissions, derived personas, access decisions,
//! support eligibility and the audit log (SPEC I1–I12).
//!
//! The data flows rpc → app → (domain, store) → app → rpc: `rpc` holds the tonic handlers (one file per
//! resource), which only translate; `app` the use cases, which own the transaction, the idempotency claim and
//! the audit event; `domain` the rules, by rule id, without I/O; `store` the sea-orm persistence, speaking
//! domain types, which only executes; `migration` the schema. What identity asks licensing goes through the
//! shared [`portal_clients::Licensing`]. Identity has no background work of its own: its outbox is relayed by
//! `portal_runtime::outbox::relay`, which the `portal` binary starts.

mod app;
pub mod domain;
pub mod error;
pub mod migration;
mod rpc;
mod store;

pub use portal_clients::Licensing;
use portal_proto::identity::identity_service_server::IdentityServiceServer;
use portal_runtime::cache::ClearAfterWrites;
use sea_orm::DatabaseConnection;

/// Everything the identity handlers need.
#[derive(Debug, Clone)]
pub struct IdentityApi {
    app: app::Identity,
}

impl IdentityApi {
    pub fn new(db: DatabaseConnection, licensing: Licensing) -> Self {
        Self {
            app: app::Identity::new(db, licensing),
        }
    }

    /// The tonic service to mount on a [`portal_runtime::server::Host`]. Every RPC but the reads clears the
    /// remembered user rows once its handler is done, before it answers.
    pub fn into_server(self) -> ClearAfterWrites<IdentityServiceServer<Self>> {
        const READS: &[&str] = &[
            "GetAccount",
            "GetUser",
            "ListUsers",
            "CheckAccess",
            "CheckSupportEligibility",
            "ListPointsOfContact",
            "ListAuditEvents",
        ];
        let users = self.app.user_cache();
        ClearAfterWrites::new(
            IdentityServiceServer::new(self),
            READS,
            std::sync::Arc::new(move || users.invalidate()),
        )
    }
}
