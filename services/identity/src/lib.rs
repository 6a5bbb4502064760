//! The identity service: accounts, portal users, roles and permissions, derived personas, access decisions,
//! support eligibility and the audit log (SPEC I1–I12).
//!
//! `domain` holds the rules without I/O, `store` the sea-orm persistence, `rpc` the tonic handlers; what
//! identity asks licensing goes through the shared [`portal_clients::Licensing`].

mod authz;
mod convert;
pub mod domain;
pub mod error;
pub mod migration;
mod rpc;
mod store;
mod users;

pub use portal_clients::Licensing;
use portal_proto::identity::identity_service_server::IdentityServiceServer;
use portal_runtime::cache::ClearAfterWrites;
use sea_orm::DatabaseConnection;

/// Everything the identity handlers need.
#[derive(Debug, Clone)]
pub struct IdentityApi {
    db: DatabaseConnection,
    licensing: Licensing,
    users: std::sync::Arc<users::UserCache>,
}

impl IdentityApi {
    pub fn new(db: DatabaseConnection, licensing: Licensing) -> Self {
        let users = std::sync::Arc::new(users::UserCache::for_database(&db));
        Self {
            db,
            licensing,
            users,
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
        let users = self.users.clone();
        ClearAfterWrites::new(
            IdentityServiceServer::new(self),
            READS,
            std::sync::Arc::new(move || users.invalidate()),
        )
    }
}
