//! The billing service's schema, applied by sea-orm-migration on SQLite and PostgreSQL alike. Money columns are
//! BIGINT minor units (B1): no floating point in the schema.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(portal_runtime::migration::CreateIdempotencyKeys),
            Box::new(portal_runtime::migration::CreateAuditEvents),
            Box::new(CreateBilling),
            Box::new(AddSiteSeats),
            Box::new(portal_runtime::migration::CreateOutbox),
            Box::new(AddAutoRenew),
            Box::new(AddPurchaseCompensation),
        ]
    }
}

#[derive(DeriveIden)]
enum Skus {
    Table,
    Sku,
    Description,
    UnitPriceMinor,
    Currency,
    Product,
    Family,
    Seats,
    LicenseType,
    TermMonths,
    MaintenanceMonths,
    LblmEnabled,
    Active,
    Revision,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum Purchases {
    Table,
    PurchaseId,
    AccountId,
    State,
    InvoiceId,
    KeyIds,
    ElearningCodes,
    FailureReason,
    Attempts,
    CreateTime,
    UpdateTime,
    RevokedKeyIds,
    CompensationPending,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    InvoiceId,
    Number,
    AccountId,
    State,
    Currency,
    SubtotalMinor,
    TaxMinor,
    TotalMinor,
    PaidMinor,
    PurchaseId,
    RenewalId,
    IssueTime,
    DueTime,
    PaidTime,
    VoidTime,
    VoidReason,
    Revision,
    UpdateTime,
}

#[derive(DeriveIden)]
enum InvoiceLines {
    Table,
    InvoiceId,
    LineNo,
    Sku,
    Description,
    Quantity,
    UnitPriceMinor,
    AmountMinor,
    GrantJson,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    PaymentId,
    InvoiceId,
    AmountMinor,
    Reference,
    CreateTime,
}

#[derive(DeriveIden)]
enum InvoiceCounters {
    Table,
    Year,
    LastNumber,
}

#[derive(DeriveIden)]
enum Renewals {
    Table,
    RenewalId,
    AccountId,
    KeyIds,
    RenewalDate,
    TermMonths,
    AutoRenew,
    InvoiceId,
    State,
    RefreshPending,
    RefreshError,
    SortKey,
    Revision,
    CreateTime,
    UpdateTime,
}

/// The catalog (B2), purchases (B3), invoices with their lines, payments and per-year counters (B4, B5), and
/// renewals (B8).
struct CreateBilling;

impl MigrationName for CreateBilling {
    fn name(&self) -> &str {
        "m20261128_000300_create_billing"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateBilling {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Skus::Table)
                    .if_not_exists()
                    .col(string(Skus::Sku).primary_key())
                    .col(string(Skus::Description))
                    .col(big_integer(Skus::UnitPriceMinor))
                    .col(string(Skus::Currency))
                    .col(string(Skus::Product))
                    .col(string_null(Skus::Family))
                    .col(integer(Skus::Seats))
                    .col(string_null(Skus::LicenseType))
                    .col(integer(Skus::TermMonths))
                    .col(integer(Skus::MaintenanceMonths))
                    .col(boolean(Skus::LblmEnabled))
                    .col(boolean(Skus::Active))
                    // Bumped first in every change of the SKU: the change's first write takes its lock.
                    .col(big_integer(Skus::Revision).default(0))
                    .col(timestamp_with_time_zone(Skus::CreateTime))
                    .col(timestamp_with_time_zone(Skus::UpdateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Purchases::Table)
                    .if_not_exists()
                    .col(string(Purchases::PurchaseId).primary_key())
                    .col(string(Purchases::AccountId))
                    .col(string(Purchases::State))
                    .col(string(Purchases::InvoiceId))
                    // JSON arrays of the key ids and eLearning codes licensing issued; empty while pending.
                    .col(text(Purchases::KeyIds))
                    .col(text(Purchases::ElearningCodes))
                    .col(text(Purchases::FailureReason))
                    .col(integer(Purchases::Attempts).default(0))
                    .col(timestamp_with_time_zone(Purchases::CreateTime))
                    .col(timestamp_with_time_zone(Purchases::UpdateTime))
                    .to_owned(),
            )
            .await?;
        // The retry loop looks for pending purchases, oldest first (B3).
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("purchases_by_state")
                    .table(Purchases::Table)
                    .col(Purchases::State)
                    .col(Purchases::PurchaseId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Invoices::Table)
                    .if_not_exists()
                    .col(string(Invoices::InvoiceId).primary_key())
                    .col(string(Invoices::Number).unique_key())
                    .col(string(Invoices::AccountId))
                    .col(string(Invoices::State))
                    .col(string(Invoices::Currency))
                    .col(big_integer(Invoices::SubtotalMinor))
                    .col(big_integer(Invoices::TaxMinor))
                    .col(big_integer(Invoices::TotalMinor))
                    .col(big_integer(Invoices::PaidMinor))
                    .col(string_null(Invoices::PurchaseId))
                    .col(string_null(Invoices::RenewalId))
                    .col(timestamp_with_time_zone(Invoices::IssueTime))
                    .col(timestamp_with_time_zone(Invoices::DueTime))
                    .col(timestamp_with_time_zone_null(Invoices::PaidTime))
                    .col(timestamp_with_time_zone_null(Invoices::VoidTime))
                    .col(text(Invoices::VoidReason))
                    // Bumped first in every payment or void: serialises the balance checks of B5.
                    .col(big_integer(Invoices::Revision).default(0))
                    .col(timestamp_with_time_zone(Invoices::UpdateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("invoices_by_account")
                    .table(Invoices::Table)
                    .col(Invoices::AccountId)
                    .col(Invoices::InvoiceId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InvoiceLines::Table)
                    .if_not_exists()
                    .col(string(InvoiceLines::InvoiceId))
                    .col(integer(InvoiceLines::LineNo))
                    .col(string(InvoiceLines::Sku))
                    .col(string(InvoiceLines::Description))
                    .col(integer(InvoiceLines::Quantity))
                    .col(big_integer(InvoiceLines::UnitPriceMinor))
                    .col(big_integer(InvoiceLines::AmountMinor))
                    // What the line grants, as sold (B2): fulfilment never rereads the catalog.
                    .col(text(InvoiceLines::GrantJson))
                    .primary_key(
                        Index::create()
                            .col(InvoiceLines::InvoiceId)
                            .col(InvoiceLines::LineNo),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .if_not_exists()
                    .col(string(Payments::PaymentId).primary_key())
                    .col(string(Payments::InvoiceId))
                    .col(big_integer(Payments::AmountMinor))
                    .col(string(Payments::Reference))
                    .col(timestamp_with_time_zone(Payments::CreateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("payments_by_invoice")
                    .table(Payments::Table)
                    .col(Payments::InvoiceId)
                    .col(Payments::PaymentId)
                    .to_owned(),
            )
            .await?;
        // B4: the last invoice number handed out per year, advanced inside the issuing transaction.
        manager
            .create_table(
                Table::create()
                    .table(InvoiceCounters::Table)
                    .if_not_exists()
                    .col(integer(InvoiceCounters::Year).primary_key())
                    .col(big_integer(InvoiceCounters::LastNumber))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Renewals::Table)
                    .if_not_exists()
                    .col(string(Renewals::RenewalId).primary_key())
                    .col(string(Renewals::AccountId))
                    .col(text(Renewals::KeyIds))
                    .col(timestamp_with_time_zone(Renewals::RenewalDate))
                    .col(integer(Renewals::TermMonths))
                    .col(boolean(Renewals::AutoRenew))
                    .col(string(Renewals::InvoiceId))
                    .col(string(Renewals::State))
                    // Set when the renewal is paid; cleared once licensing has refreshed the keys (B8).
                    .col(boolean(Renewals::RefreshPending))
                    .col(text_null(Renewals::RefreshError))
                    // `<renewal date as zero-padded seconds>|<renewal id>`: a unique key in "soonest first" order.
                    .col(string(Renewals::SortKey))
                    .col(big_integer(Renewals::Revision).default(0))
                    .col(timestamp_with_time_zone(Renewals::CreateTime))
                    .col(timestamp_with_time_zone(Renewals::UpdateTime))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "renewals_by_account",
                vec![Renewals::AccountId, Renewals::SortKey],
            ),
            ("renewals_to_refresh", vec![Renewals::RefreshPending]),
        ] {
            let mut index = Index::create()
                .if_not_exists()
                .name(name)
                .table(Renewals::Table)
                .to_owned();
            for col in cols {
                index.col(col);
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "renewals",
            "invoice_counters",
            "payments",
            "invoice_lines",
            "invoices",
            "purchases",
            "skus",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum SiteSeatColumns {
    CreatorSeats,
    SiteIds,
    NoAdministratorNotified,
}

/// B11: the Creator site seats a SKU grants per unit (the shipped Creator SKU's set here for catalogs seeded
/// before, since seeding leaves existing rows alone), and the cloud sites a purchase provisioned with whether
/// anyone could be told.
struct AddSiteSeats;

impl MigrationName for AddSiteSeats {
    fn name(&self) -> &str {
        "m20261129_001100_add_site_seats"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddSiteSeats {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Skus::Table)
                    .add_column_if_not_exists(integer(SiteSeatColumns::CreatorSeats).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Purchases::Table)
                    .add_column_if_not_exists(text(SiteSeatColumns::SiteIds).default("[]"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Purchases::Table)
                    .add_column_if_not_exists(
                        boolean(SiteSeatColumns::NoAdministratorNotified).default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE skus SET creator_seats = 1 \
                 WHERE sku = 'CREATOR-TERM-1Y' AND family = 'TC' AND lblm_enabled AND creator_seats = 0",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            SiteSeatColumns::SiteIds,
            SiteSeatColumns::NoAdministratorNotified,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Purchases::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Skus::Table)
                    .drop_column(SiteSeatColumns::CreatorSeats)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum AutoRenewColumns {
    MilestonesDone,
    NextDueTime,
    RenewedAutomatically,
    NextRenewalId,
}

/// B10: which of a renewal date's milestones (reminders, the date) are handled, when the sweep looks next, and
/// the next term's renewal auto-renew created. Renewals that exist already are looked at by the first sweep
/// (their next look is their creation), which sends at most the latest reminder already passed.
struct AddAutoRenew;

impl MigrationName for AddAutoRenew {
    fn name(&self) -> &str {
        "m20261129_001200_add_auto_renew"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddAutoRenew {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            small_integer(AutoRenewColumns::MilestonesDone)
                .default(0)
                .to_owned(),
            timestamp_with_time_zone_null(AutoRenewColumns::NextDueTime),
            boolean(AutoRenewColumns::RenewedAutomatically)
                .default(false)
                .to_owned(),
            string_null(AutoRenewColumns::NextRenewalId),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Renewals::Table)
                        .add_column_if_not_exists(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared("UPDATE renewals SET next_due_time = create_time")
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("renewals_next_due")
                    .table(Renewals::Table)
                    .col(AutoRenewColumns::NextDueTime)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("renewals_next_due")
                    .table(Renewals::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            AutoRenewColumns::MilestonesDone,
            AutoRenewColumns::NextDueTime,
            AutoRenewColumns::RenewedAutomatically,
            AutoRenewColumns::NextRenewalId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Renewals::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// B9: what a failed purchase has had revoked, and whether keys it issued are still to be revoked.
struct AddPurchaseCompensation;

impl MigrationName for AddPurchaseCompensation {
    fn name(&self) -> &str {
        "m20261129_000400_add_purchase_compensation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddPurchaseCompensation {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Purchases::Table)
                    .add_column(text(Purchases::RevokedKeyIds).default("[]"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Purchases::Table)
                    .add_column(boolean(Purchases::CompensationPending).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Purchases::CompensationPending, Purchases::RevokedKeyIds] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Purchases::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
