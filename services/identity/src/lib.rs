//! The identity service. Its RPCs are registered, healthy and reflected; those not built yet answer
//! `UNIMPLEMENTED` honestly (the generated default stubs).

pub mod migration;

use portal_proto::identity::identity_service_server::{IdentityService, IdentityServiceServer};
use sea_orm::DatabaseConnection;

/// Everything the identity handlers need.
#[derive(Debug, Clone)]
pub struct IdentityApi {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl IdentityApi {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The tonic service to mount on a [`portal_runtime::server::Host`].
    pub fn into_server(self) -> IdentityServiceServer<Self> {
        IdentityServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {}
