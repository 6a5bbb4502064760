//! The store reads rows as domain types: what it writes comes back as written, and a row holding a value the
//! domain does not know is an error (`INTERNAL`), never a guess. On a fresh SQLite file with the real
//! migrations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use portal_runtime::error::Common;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

use super::{deployments, keys};
use crate::{
    domain::{
        DeploymentKind, DeploymentState, Family, Key, KeyState, LicenseType, NewDeployment, NewKeys,
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
    };
    let created = deployments::insert_deployment(db, "dep_1", &new, Utc::now())
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
