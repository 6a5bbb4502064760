//! The identity service's schema, applied by sea-orm-migration on SQLite and PostgreSQL alike.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(portal_runtime::migration::CreateIdempotencyKeys),
            Box::new(portal_runtime::migration::CreateAuditEvents),
            Box::new(portal_runtime::migration::CreateOutbox),
            Box::new(CreateAccountsAndUsers),
        ]
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    AccountId,
    Name,
    Academic,
    Revision,
    CreateTime,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    UserId,
    AccountId,
    Email,
    EmailKey,
    DisplayName,
    Role,
    SecurityContact,
    TechnicalContact,
    CaseAdministrator,
    State,
    CreateTime,
    UpdateTime,
    RemoveTime,
}

struct CreateAccountsAndUsers;

impl MigrationName for CreateAccountsAndUsers {
    fn name(&self) -> &str {
        "m20261128_000100_create_accounts_and_users"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAccountsAndUsers {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .if_not_exists()
                    .col(string(Accounts::AccountId).primary_key())
                    .col(string(Accounts::Name))
                    .col(boolean(Accounts::Academic))
                    // Bumped first thing in every user mutation: serialises them per account (I7) on both backends.
                    .col(big_integer(Accounts::Revision).default(0))
                    .col(timestamp_with_time_zone(Accounts::CreateTime))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(string(Users::UserId).primary_key())
                    .col(string(Users::AccountId))
                    .col(string(Users::Email))
                    .col(string(Users::EmailKey))
                    .col(string(Users::DisplayName))
                    .col(string(Users::Role))
                    .col(boolean(Users::SecurityContact))
                    .col(boolean(Users::TechnicalContact))
                    .col(boolean(Users::CaseAdministrator))
                    .col(string(Users::State))
                    .col(timestamp_with_time_zone(Users::CreateTime))
                    .col(timestamp_with_time_zone(Users::UpdateTime))
                    .col(timestamp_with_time_zone_null(Users::RemoveTime))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Users::Table, Users::AccountId)
                            .to(Accounts::Table, Accounts::AccountId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("users_by_account")
                    .table(Users::Table)
                    .col(Users::AccountId)
                    .col(Users::UserId)
                    .to_owned(),
            )
            .await?;
        // I2: one active user per e-mail (case-insensitive) per account; removed users keep their rows (I8).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS users_active_email ON users (account_id, email_key) WHERE state = 'ACTIVE'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Accounts::Table).to_owned())
            .await
    }
}
