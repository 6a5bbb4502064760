//! Reads the audit log (I12) of every service straight from its database, so a test can check that a mutation
//! left exactly one event, whichever service recorded it (only identity serves its log over an RPC).

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use portal_runtime::audit::entity::{Column, Entity};

use crate::TestApp;

/// One connection to each service's database.
#[derive(Debug)]
pub struct AuditLog {
    databases: Vec<(&'static str, DatabaseConnection)>,
}

impl AuditLog {
    /// How many events `actor` (`user:<id>` or `svc:<name>`) has caused, per service, in service order.
    pub async fn count_by(&self, actor: &str) -> Vec<(&'static str, u64)> {
        let mut counts = Vec::new();
        for (service, db) in &self.databases {
            let count = Entity::find()
                .filter(Column::Actor.eq(actor))
                .count(db)
                .await
                .unwrap_or_else(|e| panic!("counting {service}'s audit events: {e}"));
            counts.push((*service, count));
        }
        counts
    }
}

impl AuditLog {
    /// How many events name `resource_id` (a delivery, a user…), in all services together.
    pub async fn count_on(&self, resource_id: &str) -> u64 {
        let mut total = 0;
        for (service, db) in &self.databases {
            total += Entity::find()
                .filter(Column::ResourceId.eq(resource_id))
                .count(db)
                .await
                .unwrap_or_else(|e| panic!("counting {service}'s audit events: {e}"));
        }
        total
    }
}

impl TestApp {
    /// The audit logs of identity, licensing, billing and notification.
    pub async fn audit_log(&self) -> AuditLog {
        let mut databases = Vec::new();
        for service in ["identity", "licensing", "billing", "notification"] {
            let url = portal_runtime::db::service_url(&self.settings, service);
            let one = portal_runtime::config::DatabaseSettings {
                max_connections: Some(1),
                ..Default::default()
            };
            let db = portal_runtime::db::open(&url, service, &one)
                .await
                .unwrap_or_else(|e| panic!("opening {service}'s database: {e}"));
            databases.push((service, db));
        }
        AuditLog { databases }
    }
}
