//! The identity service: accounts, portal users, roles and permissions, derived personas, access decisions,
//! support eligibility and the audit log (SPEC I1–I12).
//!
//! `domain` holds the rules without I/O, `store` the sea-orm persistence, `rpc` the tonic handlers, and
//! `licensing` the client for the key facts identity needs from licensing.

mod authz;
mod convert;
pub mod domain;
pub mod error;
mod licensing;
pub mod migration;
mod rpc;
mod store;
mod users;

pub use licensing::Licensing;
use portal_proto::identity::identity_service_server::IdentityServiceServer;
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

    /// The tonic service to mount on a [`portal_runtime::server::Host`].
    pub fn into_server(self) -> IdentityServiceServer<Self> {
        IdentityServiceServer::new(self)
    }
}
