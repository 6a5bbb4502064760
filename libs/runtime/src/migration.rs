//! Migrations every service's migrator starts with.

use sea_orm_migration::{prelude::*, schema::*};

/// `idempotency_keys`: the first result of each `(operation, request_id)`, so a retried mutation returns it
/// instead of acting twice. Written in the same transaction as the mutation it guards.
#[derive(DeriveMigrationName)]
pub struct CreateIdempotencyKeys;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Operation,
    RequestId,
    ResourceId,
    CreateTime,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateIdempotencyKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .if_not_exists()
                    .col(string(IdempotencyKeys::Operation))
                    .col(string(IdempotencyKeys::RequestId))
                    .col(string(IdempotencyKeys::ResourceId))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreateTime))
                    .primary_key(Index::create().col(IdempotencyKeys::Operation).col(IdempotencyKeys::RequestId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned()).await
    }
}
