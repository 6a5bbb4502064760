//! The notification service. Its RPCs are registered, healthy and reflected; those not built yet answer
//! `UNIMPLEMENTED` honestly (the generated default stubs).

pub mod migration;

use portal_proto::notification::notification_service_server::{NotificationService, NotificationServiceServer};
use sea_orm::DatabaseConnection;

/// Everything the notification handlers need.
#[derive(Debug, Clone)]
pub struct NotificationApi {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl NotificationApi {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The tonic service to mount on a [`portal_runtime::server::Host`].
    pub fn into_server(self) -> NotificationServiceServer<Self> {
        NotificationServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl NotificationService for NotificationApi {}
