//! The store reads rows as domain types: what it writes comes back as written, and a row holding a value the
//! domain does not know is an error (`INTERNAL`), never a guess. On a fresh SQLite file with the real
//! migrations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use portal_runtime::error::Common;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

mod pool;

use super::{activations, deployments, keys};
use crate::{
    domain::{
        DeploymentKind, DeploymentState, Environment, Family, Key, KeyState, LicenseType,
        NewActivation, NewDeployment, NewKeys, Product, Revocation,
    },
    error::Error,
};

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

async fn database(name: &str) -> TempDb {
    let path = std::env::temp_dir().join(format!(
        "portal-licensing-store-{name}-{}.sqlite",
        portal_runtime::new_id("t")
    ));
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    crate::migration::Migrator::up(&db, None).await.unwrap();
    TempDb { db, path }
}

async fn issue_one(db: &DatabaseConnection) -> Key {
    let now = Utc::now();
    let new = NewKeys {
        account_id: "acc".into(),
        family: Family::Ts,
        seats: 3,
        license_type: LicenseType::Term,
        period_end: Some(now + Duration::days(30)),
        maintenance_end: now + Duration::days(30),
        count: 1,
        lblm_enabled: true,
        purchase_id: None,
    };
    keys::insert_keys(db, &new, "batch", now)
        .await
        .unwrap()
        .pop()
        .expect("one key")
}

fn is_internal(result: Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(result, Err(Error::Common(Common::Internal(_))))
}

async fn corrupt(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap();
}

#[tokio::test]
async fn l2_keys_read_back_as_written() {
    let temp = database("roundtrip").await;
    let db = &temp.db;
    let issued = issue_one(db).await;
    let found = keys::find_key(db, &issued.key_id).await.unwrap();
    assert_eq!(found.family, Family::Ts);
    assert_eq!(found.license_type, LicenseType::Term);
    assert_eq!(found.state, KeyState::Active);
    assert_eq!(found.seats, 3);
    assert_eq!(found.key, issued.key);
    let by_string = keys::find_key_by_string(db, &issued.key).await.unwrap();
    assert_eq!(by_string.key_id, issued.key_id);
}

#[tokio::test]
async fn l2_a_key_row_the_domain_cannot_read_is_an_error_not_a_guess() {
    let temp = database("corrupt-keys").await;
    let db = &temp.db;
    for (column, value) in [
        ("family", "'XX'"),
        ("license_type", "'LEASED'"),
        ("state", "'SUSPENDED'"),
        ("seats", "-1"),
        ("key", "'not-a-key'"),
    ] {
        let key = issue_one(db).await;
        corrupt(
            db,
            &format!(
                "UPDATE keys SET {column} = {value} WHERE key_id = '{}'",
                key.key_id
            ),
        )
        .await;
        assert!(
            is_internal(keys::find_key(db, &key.key_id).await),
            "{column} = {value}"
        );
    }
}

#[tokio::test]
async fn l8_a_deployment_row_the_domain_cannot_read_is_an_error_not_a_guess() {
    let temp = database("corrupt-deployments").await;
    let db = &temp.db;
    let new = NewDeployment {
        account_id: "acc".into(),
        kind: DeploymentKind::CloudSite,
        name: "Cloud".into(),
        lblm_enabled: true,
        creator_seats: 2,
        key_id: None,
        environment: None,
    };
    let created =
        deployments::insert_deployment(db, "dep_1", &new, Environment::Production, Utc::now())
            .await
            .unwrap();
    assert_eq!(created.kind, DeploymentKind::CloudSite);
    assert_eq!(created.state, DeploymentState::Active);
    corrupt(
        db,
        "UPDATE deployments SET kind = 'HYBRID' WHERE deployment_id = 'dep_1'",
    )
    .await;
    assert!(is_internal(deployments::find_deployment(db, "dep_1").await));
}

#[tokio::test]
async fn l13_revoking_releases_activations_and_assignments_once() {
    let temp = database("revoke").await;
    let db = &temp.db;
    let key = issue_one(db).await;
    let now = Utc::now();
    keys::insert_assignment(db, &key, "Pat@acme.example", now)
        .await
        .unwrap();
    assert!(
        activations::take_from_pool(db, &key.key_id, Product::Server, 3)
            .await
            .unwrap()
    );
    let machine = NewActivation {
        key: key.key.clone(),
        product: Product::Server,
        machine_fingerprint: "m1".into(),
        hostname: "m1.local".into(),
        version: "2026.1".into(),
        user_email: String::new(),
    };
    activations::insert_activation(db, &key, &machine, now)
        .await
        .unwrap()
        .expect("activated");

    let Revocation::Revoked {
        key: revoked,
        was,
        assignees,
        released_activations,
    } = keys::revoke_key(db, &key.key_id, "refund", now)
        .await
        .unwrap()
    else {
        panic!("an active key is revoked");
    };
    assert_eq!((revoked.state, was), (KeyState::Revoked, KeyState::Active));
    assert_eq!(assignees, ["Pat@acme.example"]);
    assert_eq!(released_activations, 1);
    assert_eq!(keys::count_assignments(db, &key.key_id).await.unwrap(), 0);
    let usage = activations::pool_usage(db, std::slice::from_ref(&key.key_id))
        .await
        .unwrap();
    assert_eq!(
        usage
            .get(&(key.key_id.clone(), Product::Server))
            .copied()
            .unwrap_or(0),
        0
    );
    let found = keys::find_key(db, &key.key_id).await.unwrap();
    assert_eq!(
        found.revoked.as_ref().map(|r| r.reason.as_str()),
        Some("refund")
    );

    let again = keys::revoke_key(db, &key.key_id, "another", Utc::now())
        .await
        .unwrap();
    assert!(
        matches!(&again, Revocation::AlreadyRevoked(k) if k == &found),
        "{again:?}"
    );
}

#[tokio::test]
async fn l14_deployments_from_before_environments_get_one_production_per_key() {
    let temp = database("environments").await;
    let db = &temp.db;
    let key = issue_one(db).await;
    for (id, key_id, minute) in [
        ("dep_b", Some(&key.key_id), 2),
        ("dep_a", Some(&key.key_id), 1),
        ("dep_c", Some(&key.key_id), 3),
        ("dep_site", None, 4),
    ] {
        let new = NewDeployment {
            account_id: "acc".into(),
            kind: if key_id.is_some() {
                DeploymentKind::OnPremise
            } else {
                DeploymentKind::CloudSite
            },
            name: id.into(),
            lblm_enabled: false,
            creator_seats: 0,
            key_id: key_id.cloned(),
            environment: None,
        };
        let at = Utc::now() + Duration::minutes(minute);
        deployments::insert_deployment(db, id, &new, Environment::Production, at)
            .await
            .unwrap();
    }
    // What the migration's backfill does, run again over rows as they were before it (all production).
    corrupt(db, crate::migration::BACKFILL_ENVIRONMENTS).await;
    for (id, expected) in [
        ("dep_a", Environment::Production),
        ("dep_b", Environment::NonProduction),
        ("dep_c", Environment::NonProduction),
        ("dep_site", Environment::Production),
    ] {
        let found = deployments::find_deployment(db, id).await.unwrap();
        assert_eq!(found.environment, expected, "{id}");
    }
}
