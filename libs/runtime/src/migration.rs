//! Migrations every service's migrator starts with: idempotency keys and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

/// `idempotency_keys`: the first result of each `(operation, request_id)`, so a retried mutation returns it
/// instead of acting twice; `request_hash` tells a replay from a reuse of the id for another request.
pub struct CreateIdempotencyKeys;

impl MigrationName for CreateIdempotencyKeys {
    fn name(&self) -> &str {
        "m20261128_000001_create_idempotency_keys"
    }
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Operation,
    RequestId,
    RequestHash,
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
                    .col(string(IdempotencyKeys::RequestHash))
                    .col(string(IdempotencyKeys::ResourceId))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreateTime))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::Operation)
                            .col(IdempotencyKeys::RequestId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}

/// `audit_events`: append-only; every mutation writes one in its own transaction (I12).
pub struct CreateAuditEvents;

impl MigrationName for CreateAuditEvents {
    fn name(&self) -> &str {
        "m20261128_000002_create_audit_events"
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    EventId,
    AccountId,
    Actor,
    Action,
    ResourceType,
    ResourceId,
    Before,
    After,
    RequestId,
    TraceId,
    CreateTime,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAuditEvents {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .if_not_exists()
                    .col(string(AuditEvents::EventId).primary_key())
                    .col(string(AuditEvents::AccountId))
                    .col(string(AuditEvents::Actor))
                    .col(string(AuditEvents::Action))
                    .col(string(AuditEvents::ResourceType))
                    .col(string(AuditEvents::ResourceId))
                    .col(text_null(AuditEvents::Before))
                    .col(text_null(AuditEvents::After))
                    .col(string(AuditEvents::RequestId))
                    .col(string(AuditEvents::TraceId))
                    .col(timestamp_with_time_zone(AuditEvents::CreateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("audit_events_by_account")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::AccountId)
                    .col(AuditEvents::EventId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}

/// `outbox`: messages for other services written in the same transaction as the change that causes them,
/// relayed afterwards (so a notice is never lost when the receiver is down, nor sent for a rolled-back change).
pub struct CreateOutbox;

impl MigrationName for CreateOutbox {
    fn name(&self) -> &str {
        "m20261128_000003_create_outbox"
    }
}

#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names)] // the column names
enum Outbox {
    Table,
    OutboxId,
    Payload,
    Attempts,
    NextAttemptTime,
    CreateTime,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .if_not_exists()
                    .col(string(Outbox::OutboxId).primary_key())
                    .col(text(Outbox::Payload))
                    .col(integer(Outbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(Outbox::NextAttemptTime))
                    .col(timestamp_with_time_zone(Outbox::CreateTime))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}
