//! The billing service. Its RPCs are registered, healthy and reflected; those not built yet answer
//! `UNIMPLEMENTED` honestly (the generated default stubs).

pub mod migration;

use portal_proto::billing::billing_service_server::{BillingService, BillingServiceServer};
use sea_orm::DatabaseConnection;

/// Everything the billing handlers need.
#[derive(Debug, Clone)]
pub struct BillingApi {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl BillingApi {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The tonic service to mount on a [`portal_runtime::server::Host`].
    pub fn into_server(self) -> BillingServiceServer<Self> {
        BillingServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl BillingService for BillingApi {}
