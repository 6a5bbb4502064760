//! The licensing service. Its RPCs are registered, healthy and reflected; those not built yet answer
//! `UNIMPLEMENTED` honestly (the generated default stubs).

pub mod migration;

use portal_proto::licensing::licensing_service_server::{LicensingService, LicensingServiceServer};
use sea_orm::DatabaseConnection;

/// Everything the licensing handlers need.
#[derive(Debug, Clone)]
pub struct LicensingApi {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl LicensingApi {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The tonic service to mount on a [`portal_runtime::server::Host`].
    pub fn into_server(self) -> LicensingServiceServer<Self> {
        LicensingServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl LicensingService for LicensingApi {}
