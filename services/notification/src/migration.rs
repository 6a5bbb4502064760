//! The notification service's schema, applied by sea-orm-migration on SQLite and PostgreSQL alike.

use sea_orm_migration::{prelude::*, schema::*};

mod tlp;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(portal_runtime::migration::CreateIdempotencyKeys),
            Box::new(portal_runtime::migration::CreateAuditEvents),
            Box::new(CreateAdvisoriesAndDeliveries),
            Box::new(CreateCsafDocuments),
            Box::new(CreateEscalations),
            Box::new(CreateAcknowledgements),
            Box::new(AddReminders),
            Box::new(CreateDeliveryReports),
            Box::new(tlp::AddTlpLabels),
        ]
    }
}

#[derive(DeriveIden)]
enum Advisories {
    Table,
    AdvisoryId,
    Ordinal,
    Kind,
    Severity,
    Title,
    Body,
    Target,
    State,
    AccountsTargeted,
    FallbackAccounts,
    UnreachableAccounts,
    ResolverLeaseUntil,
    CreateTime,
    ResolveTime,
}

#[derive(DeriveIden)]
enum AdvisoryCounters {
    Table,
    Year,
    Last,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    DeliveryId,
    AdvisoryId,
    NoticeKind,
    AccountId,
    AccountName,
    UserId,
    Email,
    EmailKey,
    DisplayName,
    Fallback,
    Payload,
    State,
    Attempts,
    LastError,
    NextAttemptTime,
    LeaseOwner,
    LeaseUntil,
    SentTime,
    CreateTime,
    UpdateTime,
    /// N8 (added by `CreateEscalations`).
    Escalation,
    /// N9 (added by `AddReminders`).
    Reminder,
}

struct CreateAdvisoriesAndDeliveries;

impl MigrationName for CreateAdvisoriesAndDeliveries {
    fn name(&self) -> &str {
        "m20261128_000400_create_advisories_and_deliveries"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAdvisoriesAndDeliveries {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Advisories::Table)
                    .if_not_exists()
                    .col(string(Advisories::AdvisoryId).primary_key())
                    // year × 10⁹ + sequence: sorts advisories by id even past ADV-YYYY-999.
                    .col(big_integer(Advisories::Ordinal).unique_key())
                    .col(string(Advisories::Kind))
                    .col(string(Advisories::Severity))
                    .col(string(Advisories::Title))
                    // The advisory's content (summary, impact, products, conditions, resolution, CVEs) as JSON.
                    .col(text(Advisories::Body))
                    .col(text(Advisories::Target))
                    .col(string(Advisories::State))
                    .col(big_integer(Advisories::AccountsTargeted).default(0))
                    .col(text(Advisories::FallbackAccounts))
                    .col(text(Advisories::UnreachableAccounts))
                    .col(timestamp_with_time_zone_null(
                        Advisories::ResolverLeaseUntil,
                    ))
                    .col(timestamp_with_time_zone(Advisories::CreateTime))
                    .col(timestamp_with_time_zone_null(Advisories::ResolveTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AdvisoryCounters::Table)
                    .if_not_exists()
                    .col(integer(AdvisoryCounters::Year).primary_key())
                    .col(big_integer(AdvisoryCounters::Last))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .if_not_exists()
                    .col(string(Deliveries::DeliveryId).primary_key())
                    .col(string_null(Deliveries::AdvisoryId))
                    .col(string_null(Deliveries::NoticeKind))
                    .col(string(Deliveries::AccountId))
                    .col(string(Deliveries::AccountName))
                    .col(string(Deliveries::UserId))
                    .col(string(Deliveries::Email))
                    .col(string(Deliveries::EmailKey))
                    .col(string(Deliveries::DisplayName))
                    .col(boolean(Deliveries::Fallback))
                    .col(text_null(Deliveries::Payload))
                    .col(string(Deliveries::State))
                    .col(integer(Deliveries::Attempts).default(0))
                    .col(text(Deliveries::LastError))
                    .col(timestamp_with_time_zone(Deliveries::NextAttemptTime))
                    .col(string_null(Deliveries::LeaseOwner))
                    .col(timestamp_with_time_zone_null(Deliveries::LeaseUntil))
                    .col(timestamp_with_time_zone_null(Deliveries::SentTime))
                    .col(timestamp_with_time_zone(Deliveries::CreateTime))
                    .col(timestamp_with_time_zone(Deliveries::UpdateTime))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // N3: one ledger row per (advisory, account, recipient); resolution may run again after a crash. Notices
        // have no advisory, and NULLs never collide in a unique index.
        db.execute_unprepared("CREATE UNIQUE INDEX IF NOT EXISTS deliveries_recipient ON deliveries (advisory_id, account_id, email_key)").await?;
        // Workers claim due rows by state and time.
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_time)",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX IF NOT EXISTS deliveries_by_advisory ON deliveries (advisory_id, state, delivery_id)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["deliveries", "advisory_counters", "advisories"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum CsafDocuments {
    Table,
    AdvisoryId,
    TrackingId,
    TrackingVersion,
    Document,
    CreateTime,
}

/// N11: the CSAF documents advisories were imported from, one advisory per tracking id and version.
struct CreateCsafDocuments;

impl MigrationName for CreateCsafDocuments {
    fn name(&self) -> &str {
        "m20261129_000500_create_csaf_documents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateCsafDocuments {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CsafDocuments::Table)
                    .if_not_exists()
                    .col(string(CsafDocuments::AdvisoryId).primary_key())
                    .col(string(CsafDocuments::TrackingId))
                    .col(string(CsafDocuments::TrackingVersion))
                    .col(text(CsafDocuments::Document))
                    .col(timestamp_with_time_zone(CsafDocuments::CreateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("CREATE UNIQUE INDEX IF NOT EXISTS csaf_documents_tracking ON csaf_documents (tracking_id, tracking_version)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CsafDocuments::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Escalations {
    Table,
    AdvisoryId,
    AccountId,
    Administrators,
    CreateTime,
}

/// N8: deliveries sent by escalation are marked, and each account's escalation of an advisory is claimed once
/// (its primary key), with how many Administrators it went to.
struct CreateEscalations;

impl MigrationName for CreateEscalations {
    fn name(&self) -> &str {
        "m20261129_000600_create_escalations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateEscalations {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .add_column(boolean(Deliveries::Escalation).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Escalations::Table)
                    .if_not_exists()
                    .col(string(Escalations::AdvisoryId))
                    .col(string(Escalations::AccountId))
                    .col(integer(Escalations::Administrators))
                    .col(timestamp_with_time_zone(Escalations::CreateTime))
                    .primary_key(
                        Index::create()
                            .col(Escalations::AdvisoryId)
                            .col(Escalations::AccountId),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Escalations::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .drop_column(Deliveries::Escalation)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Acknowledgements {
    Table,
    DeliveryId,
    AdvisoryId,
    AccountId,
    UserId,
    Email,
    CreateTime,
}

/// N9: who acknowledged an advisory, one row per acknowledged delivery (the first acknowledgement stands).
struct CreateAcknowledgements;

impl MigrationName for CreateAcknowledgements {
    fn name(&self) -> &str {
        "m20261129_000700_create_acknowledgements"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAcknowledgements {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Acknowledgements::Table)
                    .if_not_exists()
                    .col(string(Acknowledgements::DeliveryId).primary_key())
                    .col(string(Acknowledgements::AdvisoryId))
                    .col(string(Acknowledgements::AccountId))
                    .col(string(Acknowledgements::UserId))
                    .col(string(Acknowledgements::Email))
                    .col(timestamp_with_time_zone(Acknowledgements::CreateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX IF NOT EXISTS acknowledgements_by_account ON acknowledgements (advisory_id, account_id)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Acknowledgements::Table).to_owned())
            .await
    }
}

/// N9: reminders are ledger rows too, numbered; a recipient has one row per advisory and reminder.
struct AddReminders;

impl MigrationName for AddReminders {
    fn name(&self) -> &str {
        "m20261129_000800_add_reminders"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddReminders {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .add_column(integer(Deliveries::Reminder).default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("CREATE UNIQUE INDEX IF NOT EXISTS deliveries_recipient_reminder ON deliveries (advisory_id, account_id, email_key, reminder)").await?;
        db.execute_unprepared("DROP INDEX IF EXISTS deliveries_recipient")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE UNIQUE INDEX IF NOT EXISTS deliveries_recipient ON deliveries (advisory_id, account_id, email_key)").await?;
        db.execute_unprepared("DROP INDEX IF EXISTS deliveries_recipient_reminder")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .drop_column(Deliveries::Reminder)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum DeliveryReports {
    Table,
    ReportKey,
    DeliveryId,
    AdvisoryId,
    AccountId,
    Kind,
    Status,
    Diagnostic,
    CreateTime,
}

/// N14: what came back for a delivery (DSNs, complaints, auto-replies), one row per report, the same report
/// once.
struct CreateDeliveryReports;

impl MigrationName for CreateDeliveryReports {
    fn name(&self) -> &str {
        "m20261205_000900_create_delivery_reports"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateDeliveryReports {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeliveryReports::Table)
                    .if_not_exists()
                    .col(string(DeliveryReports::ReportKey).primary_key())
                    .col(string(DeliveryReports::DeliveryId))
                    .col(string_null(DeliveryReports::AdvisoryId))
                    .col(string(DeliveryReports::AccountId))
                    .col(string(DeliveryReports::Kind))
                    .col(string(DeliveryReports::Status))
                    .col(text(DeliveryReports::Diagnostic))
                    .col(timestamp_with_time_zone(DeliveryReports::CreateTime))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX IF NOT EXISTS delivery_reports_by_delivery ON delivery_reports (delivery_id)").await?;
        db.execute_unprepared("CREATE INDEX IF NOT EXISTS delivery_reports_by_account ON delivery_reports (advisory_id, account_id, kind)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeliveryReports::Table).to_owned())
            .await
    }
}
