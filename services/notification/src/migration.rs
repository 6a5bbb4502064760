//! The notification service's schema, applied by sea-orm-migration on SQLite and PostgreSQL alike.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(portal_runtime::migration::CreateIdempotencyKeys), Box::new(portal_runtime::migration::CreateAuditEvents)]
    }
}
