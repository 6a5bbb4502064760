//! N1: every advisory carries a TLP label.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Advisories {
    Table,
    Tlp,
}

/// N1: the advisory's TLP label (`CLEAR`, `GREEN`, `AMBER`, `AMBER+STRICT`, `RED`). Advisories published before
/// labels existed were mailed to their accounts' contacts only, and none was ever marked for the public: they read
/// as `AMBER`, so that no migration makes one public (N15 distributes `CLEAR` documents only).
pub(super) struct AddTlpLabels;

impl MigrationName for AddTlpLabels {
    fn name(&self) -> &str {
        "m20261205_001000_add_tlp_labels"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddTlpLabels {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Advisories::Table)
                    .add_column(string(Advisories::Tlp).default("AMBER"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Advisories::Table)
                    .drop_column(Advisories::Tlp)
                    .to_owned(),
            )
            .await
    }
}
