//! The licensing service's schema, applied by sea-orm-migration on SQLite and PostgreSQL alike.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(portal_runtime::migration::CreateIdempotencyKeys),
            Box::new(portal_runtime::migration::CreateAuditEvents),
            Box::new(portal_runtime::migration::CreateOutbox),
            Box::new(CreateKeys),
            Box::new(CreateLblmReportsCodes),
            Box::new(CreatePoolCounts),
            Box::new(CreateSiteSeats),
            Box::new(AddKeyRevocation),
            Box::new(AddDeploymentEnvironment),
        ]
    }
}

#[derive(DeriveIden)]
enum Keys {
    Table,
    KeyId,
    Key,
    AccountId,
    Family,
    Seats,
    LicenseType,
    PeriodEnd,
    MaintenanceEnd,
    State,
    OwnerUserId,
    LblmEnabled,
    DeploymentId,
    PurchaseId,
    RevokeReason,
    RevokeTime,
    BatchId,
    Revision,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum Assignments {
    Table,
    KeyId,
    AccountId,
    EmailKey,
    Email,
    CreateTime,
}

#[derive(DeriveIden)]
enum Activations {
    Table,
    ActivationId,
    KeyId,
    AccountId,
    Product,
    MachineFingerprint,
    Hostname,
    Version,
    UserEmail,
    State,
    CreateTime,
    LastUseTime,
    DeactivateTime,
}

#[derive(DeriveIden)]
enum Deployments {
    Table,
    DeploymentId,
    AccountId,
    Kind,
    Name,
    State,
    LblmEnabled,
    CreatorSeats,
    KeyId,
    Environment,
    Revision,
    CreateTime,
    UpdateTime,
}

struct CreateKeys;

impl MigrationName for CreateKeys {
    fn name(&self) -> &str {
        "m20261128_000200_create_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Keys::Table)
                    .if_not_exists()
                    .col(string(Keys::KeyId).primary_key())
                    .col(string(Keys::Key).unique_key())
                    .col(string(Keys::AccountId))
                    .col(string(Keys::Family))
                    .col(big_integer(Keys::Seats))
                    .col(string(Keys::LicenseType))
                    .col(timestamp_with_time_zone_null(Keys::PeriodEnd))
                    .col(timestamp_with_time_zone(Keys::MaintenanceEnd))
                    .col(string(Keys::State))
                    .col(string_null(Keys::OwnerUserId))
                    .col(boolean(Keys::LblmEnabled))
                    .col(string_null(Keys::DeploymentId))
                    .col(string_null(Keys::PurchaseId))
                    .col(string(Keys::BatchId))
                    // Bumped first in every mutation of the key: serialises seat and pool checks (L5, L6).
                    .col(big_integer(Keys::Revision).default(0))
                    .col(timestamp_with_time_zone(Keys::CreateTime))
                    .col(timestamp_with_time_zone(Keys::UpdateTime))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("keys_by_account", vec![Keys::AccountId, Keys::KeyId]),
            ("keys_by_batch", vec![Keys::BatchId]),
            ("keys_by_expiry", vec![Keys::State, Keys::PeriodEnd]),
        ] {
            let mut index = Index::create()
                .if_not_exists()
                .name(name)
                .table(Keys::Table)
                .to_owned();
            for col in cols {
                index.col(col);
            }
            manager.create_index(index).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Assignments::Table)
                    .if_not_exists()
                    .col(string(Assignments::KeyId))
                    .col(string(Assignments::AccountId))
                    .col(string(Assignments::EmailKey))
                    .col(string(Assignments::Email))
                    .col(timestamp_with_time_zone(Assignments::CreateTime))
                    .primary_key(
                        Index::create()
                            .col(Assignments::KeyId)
                            .col(Assignments::EmailKey),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("assignments_by_person")
                    .table(Assignments::Table)
                    .col(Assignments::AccountId)
                    .col(Assignments::EmailKey)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Activations::Table)
                    .if_not_exists()
                    .col(string(Activations::ActivationId).primary_key())
                    .col(string(Activations::KeyId))
                    .col(string(Activations::AccountId))
                    .col(string(Activations::Product))
                    .col(string(Activations::MachineFingerprint))
                    .col(string(Activations::Hostname))
                    .col(string(Activations::Version))
                    .col(string(Activations::UserEmail))
                    .col(string(Activations::State))
                    .col(timestamp_with_time_zone(Activations::CreateTime))
                    .col(timestamp_with_time_zone(Activations::LastUseTime))
                    .col(timestamp_with_time_zone_null(Activations::DeactivateTime))
                    .to_owned(),
            )
            .await?;
        // L6: one active fulfillment per machine, product and key; the pool count relies on it.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS activations_active_machine ON activations (key_id, product, machine_fingerprint) WHERE state = 'ACTIVE'",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("activations_by_account")
                    .table(Activations::Table)
                    .col(Activations::AccountId)
                    .col(Activations::ActivationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deployments::Table)
                    .if_not_exists()
                    .col(string(Deployments::DeploymentId).primary_key())
                    .col(string(Deployments::AccountId))
                    .col(string(Deployments::Kind))
                    .col(string(Deployments::Name))
                    .col(string(Deployments::State))
                    .col(boolean(Deployments::LblmEnabled))
                    .col(big_integer(Deployments::CreatorSeats))
                    .col(string_null(Deployments::KeyId))
                    .col(big_integer(Deployments::Revision).default(0))
                    .col(timestamp_with_time_zone(Deployments::CreateTime))
                    .col(timestamp_with_time_zone(Deployments::UpdateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("deployments_by_account")
                    .table(Deployments::Table)
                    .col(Deployments::AccountId)
                    .col(Deployments::DeploymentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["deployments", "activations", "assignments", "keys"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Login-based licensing (L9), activation reports (L10) and eLearning codes (L11).
struct CreateLblmReportsCodes;

impl MigrationName for CreateLblmReportsCodes {
    fn name(&self) -> &str {
        "m20261128_000201_create_lblm_reports_codes"
    }
}

#[derive(DeriveIden)]
enum SiteMemberships {
    Table,
    DeploymentId,
    EmailKey,
    Email,
    UserId,
    AccountId,
    SiteRole,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum RunUsage {
    Table,
    DeploymentId,
    EmailKey,
    Product,
    MachineFingerprint,
    AccountId,
    Hostname,
    Version,
    LastUseTime,
    ExpireTime,
}

#[derive(DeriveIden)]
enum ReportQuota {
    Table,
    AccountId,
    LastTime,
}

#[derive(DeriveIden)]
enum ActivationReports {
    Table,
    ReportId,
    AccountId,
    RequesterUserId,
    RowCount,
    Csv,
    CreateTime,
}

#[derive(DeriveIden)]
enum ElearningCodes {
    Table,
    Code,
    AccountId,
    PurchaseId,
    BatchId,
    RedeemedByEmail,
    RedeemTime,
    CreateTime,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateLblmReportsCodes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SiteMemberships::Table)
                    .if_not_exists()
                    .col(string(SiteMemberships::DeploymentId))
                    .col(string(SiteMemberships::EmailKey))
                    .col(string(SiteMemberships::Email))
                    .col(string(SiteMemberships::UserId))
                    .col(string(SiteMemberships::AccountId))
                    .col(string(SiteMemberships::SiteRole))
                    .col(timestamp_with_time_zone(SiteMemberships::CreateTime))
                    .col(timestamp_with_time_zone(SiteMemberships::UpdateTime))
                    .primary_key(
                        Index::create()
                            .col(SiteMemberships::DeploymentId)
                            .col(SiteMemberships::EmailKey),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RunUsage::Table)
                    .if_not_exists()
                    .col(string(RunUsage::DeploymentId))
                    .col(string(RunUsage::EmailKey))
                    .col(string(RunUsage::Product))
                    .col(string(RunUsage::MachineFingerprint))
                    .col(string(RunUsage::AccountId))
                    .col(string(RunUsage::Hostname))
                    .col(string(RunUsage::Version))
                    .col(timestamp_with_time_zone(RunUsage::LastUseTime))
                    .col(timestamp_with_time_zone(RunUsage::ExpireTime))
                    .primary_key(
                        Index::create()
                            .col(RunUsage::DeploymentId)
                            .col(RunUsage::EmailKey)
                            .col(RunUsage::Product)
                            .col(RunUsage::MachineFingerprint),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReportQuota::Table)
                    .if_not_exists()
                    .col(string(ReportQuota::AccountId).primary_key())
                    .col(timestamp_with_time_zone(ReportQuota::LastTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ActivationReports::Table)
                    .if_not_exists()
                    .col(string(ActivationReports::ReportId).primary_key())
                    .col(string(ActivationReports::AccountId))
                    .col(string(ActivationReports::RequesterUserId))
                    .col(big_integer(ActivationReports::RowCount))
                    .col(text(ActivationReports::Csv))
                    .col(timestamp_with_time_zone(ActivationReports::CreateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ElearningCodes::Table)
                    .if_not_exists()
                    .col(string(ElearningCodes::Code).primary_key())
                    .col(string(ElearningCodes::AccountId))
                    .col(string_null(ElearningCodes::PurchaseId))
                    .col(string(ElearningCodes::BatchId))
                    .col(string_null(ElearningCodes::RedeemedByEmail))
                    .col(timestamp_with_time_zone_null(ElearningCodes::RedeemTime))
                    .col(timestamp_with_time_zone(ElearningCodes::CreateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("elearning_codes_by_account")
                    .table(ElearningCodes::Table)
                    .col(ElearningCodes::AccountId)
                    .col(ElearningCodes::Code)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "elearning_codes",
            "activation_reports",
            "report_quota",
            "run_usage",
            "site_memberships",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// L6: each pool's count of active fulfillments, kept beside the activations in the same transactions, so an
/// activation checks its pool in one statement instead of counting every active row of a busy key under the
/// key's lock. Filled from the activations already there.
struct CreatePoolCounts;

impl MigrationName for CreatePoolCounts {
    fn name(&self) -> &str {
        "m20261128_000301_create_pool_counts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreatePoolCounts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE IF NOT EXISTS pool_counts (\
               key_id TEXT NOT NULL, \
               product TEXT NOT NULL, \
               used BIGINT NOT NULL CHECK (used >= 0), \
               PRIMARY KEY (key_id, product))",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO pool_counts (key_id, product, used) \
             SELECT key_id, product, COUNT(*) FROM activations WHERE state = 'ACTIVE' GROUP BY key_id, product \
             ON CONFLICT (key_id, product) DO NOTHING",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS pool_counts")
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum SiteSeats {
    Table,
    KeyId,
    DeploymentId,
    AccountId,
    PurchaseId,
    CreatorSeats,
    AdministratorsNotified,
    CreateTime,
    EndTime,
}

#[derive(DeriveIden)]
enum CloudSiteLocks {
    Table,
    AccountId,
    Revision,
}

/// B11: the Creator seats each key put on a cloud site (one row per key, so a key's seats are added once and
/// leave once), and the per-account row that serialises provisioning, so two purchases never create two sites.
struct CreateSiteSeats;

impl MigrationName for CreateSiteSeats {
    fn name(&self) -> &str {
        "m20261129_001100_create_site_seats"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateSiteSeats {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SiteSeats::Table)
                    .if_not_exists()
                    .col(string(SiteSeats::KeyId).primary_key())
                    .col(string(SiteSeats::DeploymentId))
                    .col(string(SiteSeats::AccountId))
                    .col(string(SiteSeats::PurchaseId))
                    .col(big_integer(SiteSeats::CreatorSeats))
                    .col(integer(SiteSeats::AdministratorsNotified))
                    .col(timestamp_with_time_zone(SiteSeats::CreateTime))
                    .col(timestamp_with_time_zone_null(SiteSeats::EndTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("site_seats_by_deployment")
                    .table(SiteSeats::Table)
                    .col(SiteSeats::DeploymentId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CloudSiteLocks::Table)
                    .if_not_exists()
                    .col(string(CloudSiteLocks::AccountId).primary_key())
                    .col(big_integer(CloudSiteLocks::Revision).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["cloud_site_locks", "site_seats"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// L13: why and when a key was revoked, kept on the key (both empty until RevokeKey).
struct AddKeyRevocation;

impl MigrationName for AddKeyRevocation {
    fn name(&self) -> &str {
        "m20261129_000400_add_key_revocation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddKeyRevocation {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Keys::Table)
                    .add_column(text_null(Keys::RevokeReason))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Keys::Table)
                    .add_column(timestamp_with_time_zone_null(Keys::RevokeTime))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Keys::RevokeTime, Keys::RevokeReason] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Keys::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// L14: each deployment's environment. Rows from before: the oldest deployment of each key is production, the
/// others non-production (callers registered them without saying, the first being the production one as a
/// rule); cloud sites and deployments without a key are production.
struct AddDeploymentEnvironment;

/// L14: the oldest deployment of each key stays production, the key's others become non-production.
pub(crate) const BACKFILL_ENVIRONMENTS: &str = "UPDATE deployments SET environment = 'NON_PRODUCTION' \
     WHERE key_id IS NOT NULL AND EXISTS (\
       SELECT 1 FROM deployments AS older \
       WHERE older.key_id = deployments.key_id \
         AND (older.create_time < deployments.create_time \
              OR (older.create_time = deployments.create_time \
                  AND older.deployment_id < deployments.deployment_id)))";

impl MigrationName for AddDeploymentEnvironment {
    fn name(&self) -> &str {
        "m20261129_000500_add_deployment_environment"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddDeploymentEnvironment {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Deployments::Table)
                    .add_column(text(Deployments::Environment).default("PRODUCTION"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(BACKFILL_ENVIRONMENTS)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Deployments::Table)
                    .drop_column(Deployments::Environment)
                    .to_owned(),
            )
            .await
    }
}
