//! Property tests of the store on a fresh SQLite file with the real migrations: B4, invoice numbers are
//! gapless per year for any sequence of issues (committed or rolled back) and voids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use sea_orm::{Database, DatabaseConnection, TransactionTrait};
use sea_orm_migration::MigratorTrait;

use super::invoices::{self, NewInvoice};
use crate::domain::{Currency, Invoice, InvoiceState, Money, Priced, invoice::Totals};

/// A fresh SQLite file with the real migrations, removed when dropped.
struct TempDb {
    db: DatabaseConnection,
    path: std::path::PathBuf,
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn database() -> TempDb {
    let path = std::env::temp_dir().join(format!(
        "portal-billing-store-{}.sqlite",
        portal_runtime::new_id("t")
    ));
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    crate::migration::Migrator::up(&db, None).await.unwrap();
    TempDb { db, path }
}

#[derive(Debug, Clone)]
enum Step {
    /// Issue an invoice dated in `year`; a rolled-back transaction issues nothing.
    Issue { year: i32, commit: bool },
    /// Void the `n`-th invoice issued so far (modulo their number), if there is one.
    Void { n: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (2025i32..2028, prop::bool::weighted(0.75))
            .prop_map(|(year, commit)| Step::Issue { year, commit }),
        1 => any::<usize>().prop_map(|n| Step::Void { n }),
    ]
}

async fn issue(db: &DatabaseConnection, year: i32, commit: bool) -> Option<Invoice> {
    let usd = Currency::parse("c", "USD").unwrap();
    let total = Money::new(1999, usd);
    let priced = Priced {
        currency: usd,
        lines: Vec::new(),
        totals: Totals {
            subtotal: total,
            tax: Money::zero(usd),
            total,
        },
    };
    let issue_time = Utc.with_ymd_and_hms(year, 6, 1, 12, 0, 0).unwrap();
    let invoice_id = portal_runtime::new_id("inv");
    let txn = db.begin().await.unwrap();
    let invoice = invoices::insert(
        &txn,
        NewInvoice {
            invoice_id: &invoice_id,
            account_id: "acc-1",
            priced: &priced,
            purchase_id: None,
            renewal_id: None,
            issue_time,
            due_time: issue_time,
        },
    )
    .await
    .unwrap();
    if commit {
        txn.commit().await.unwrap();
        Some(invoice)
    } else {
        txn.rollback().await.unwrap();
        None
    }
}

async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let temp = database().await;
    let db = &temp.db;
    let mut issued: Vec<Invoice> = Vec::new();
    for step in steps {
        match step {
            Step::Issue { year, commit } => issued.extend(issue(db, year, commit).await),
            Step::Void { n } if !issued.is_empty() => {
                let current = invoices::find(db, &issued[n % issued.len()].invoice_id)
                    .await
                    .unwrap();
                if let Some(voided) = current.void("test", Utc::now()).unwrap() {
                    invoices::save(db, &voided).await.unwrap();
                }
            }
            Step::Void { .. } => {}
        }
    }
    // Every committed invoice is still there (void or not) with its number, and each year's numbers are
    // 1, 2, 3, … in the order they were issued: no gap, no repeat.
    let stored = invoices::list(db, "acc-1", None, 10_000).await.unwrap();
    prop_assert_eq!(stored.len(), issued.len());
    let mut per_year: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for invoice in &issued {
        let year = chrono::Datelike::year(&invoice.issue_time);
        let numbers = per_year.entry(year).or_default();
        numbers.push(invoice.number.clone());
        prop_assert_eq!(
            &invoice.number,
            &crate::domain::invoice::number(year, numbers.len() as i64)
        );
        let now = invoices::find(db, &invoice.invoice_id).await.unwrap();
        prop_assert_eq!(&now.number, &invoice.number);
        prop_assert!(matches!(now.state, InvoiceState::Open | InvoiceState::Void));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn b4_invoice_numbers_are_gapless_per_year_for_any_issues_rollbacks_and_voids(
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(steps))?;
    }
}
