//! L6 as a property: for any sequence of activations and deactivations of a key's machines, the pools' counters
//! equal the active fulfillments, never exceed the pool's limit, a machine holds at most one fulfillment per
//! pool (activating it again takes none), and an activation is refused exactly when its pool is full.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use proptest::prelude::*;
use sea_orm::{DatabaseConnection, TransactionTrait};

use super::{activations, database, keys};
use crate::domain::{Family, FulfillmentPool, Key, LicenseType, NewActivation, NewKeys, Product};

#[derive(Debug, Clone)]
enum Step {
    Activate {
        machine: u8,
        product: Product,
    },
    /// Releases the machine's fulfillments of `product`, or of every product.
    Deactivate {
        machine: u8,
        product: Option<Product>,
    },
}

fn product() -> impl Strategy<Value = Product> {
    prop_oneof![Just(Product::Desktop), Just(Product::PrepBuilder)]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u8..8, product()).prop_map(|(machine, product)| Step::Activate { machine, product }),
        1 => (0u8..8, prop::option::of(product()))
            .prop_map(|(machine, product)| Step::Deactivate { machine, product }),
    ]
}

async fn issue(db: &DatabaseConnection, seats: u64) -> Key {
    let now = Utc::now();
    let new = NewKeys {
        account_id: "acc".into(),
        family: Family::Tc,
        seats,
        license_type: LicenseType::Perpetual,
        period_end: None,
        maintenance_end: now + Duration::days(30),
        count: 1,
        lblm_enabled: false,
        purchase_id: None,
    };
    keys::insert_keys(db, &new, "batch", now)
        .await
        .unwrap()
        .pop()
        .expect("one key")
}

/// The store's part of ActivateKey (`app::activations`): the same machine again takes nothing; a new one
/// takes from the pool or is refused. Whether the activation holds afterwards.
async fn activate(db: &DatabaseConnection, key: &Key, machine: u8, product: Product) -> bool {
    let pool = FulfillmentPool::of(key.family, product, key.seats).unwrap();
    let new = NewActivation {
        key: key.key.clone(),
        product,
        machine_fingerprint: format!("machine-{machine}"),
        hostname: String::new(),
        version: String::new(),
        user_email: String::new(),
    };
    let now = Utc::now();
    let txn = portal_runtime::db::begin_write(db).await.unwrap();
    if let Some(existing) =
        activations::active_activation_id(&txn, &key.key_id, product, &new.machine_fingerprint)
            .await
            .unwrap()
    {
        assert!(
            activations::touch_activation(&txn, &existing, &new, now)
                .await
                .unwrap()
                .is_some()
        );
        txn.commit().await.unwrap();
        return true;
    }
    assert!(
        activations::insert_activation(&txn, key, &new, now)
            .await
            .unwrap()
            .is_some()
    );
    if !activations::take_from_pool(&txn, &key.key_id, product, pool.limit)
        .await
        .unwrap()
    {
        txn.rollback().await.unwrap();
        return false;
    }
    txn.commit().await.unwrap();
    true
}

async fn run(seats: u64, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let temp = database("pool-property").await;
    let db = &temp.db;
    let key = issue(db, seats).await;
    let mut active: HashSet<(Product, u8)> = HashSet::new();
    for step in steps {
        match step {
            Step::Activate { machine, product } => {
                let limit = FulfillmentPool::limit(product, seats);
                let holds = active.contains(&(product, machine));
                let full = active.iter().filter(|(p, _)| *p == product).count() as u64 == limit;
                let activated = activate(db, &key, machine, product).await;
                prop_assert_eq!(activated, holds || !full, "refused exactly when full");
                if activated {
                    active.insert((product, machine));
                }
            }
            Step::Deactivate { machine, product } => {
                let txn = db.begin().await.unwrap();
                let released = activations::release_machine(
                    &txn,
                    &key.key_id,
                    &format!("machine-{machine}"),
                    product,
                    Utc::now(),
                )
                .await
                .unwrap();
                txn.commit().await.unwrap();
                let before = active.len();
                active.retain(|(p, m)| *m != machine || product.is_some_and(|only| only != *p));
                prop_assert_eq!(released as usize, before - active.len());
            }
        }
        let usage = activations::pool_usage(db, std::slice::from_ref(&key.key_id))
            .await
            .unwrap();
        for product in [Product::Desktop, Product::PrepBuilder] {
            let used = usage
                .get(&(key.key_id.clone(), product))
                .copied()
                .unwrap_or(0);
            let holders = active.iter().filter(|(p, _)| *p == product).count() as u64;
            prop_assert_eq!(
                used,
                holders,
                "{:?}: counter = active fulfillments",
                product
            );
            prop_assert!(used <= FulfillmentPool::limit(product, seats));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn l6_the_pool_never_hands_out_more_than_its_limit_nor_one_machine_twice(
        seats in 1u64..4,
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(seats, steps))?;
    }
}
