//! A fresh database per test: a SQLite file in the test's temp dir, or a PostgreSQL database with a random name
//! that is dropped (with `FORCE`, PostgreSQL ≥ 13) when the test ends.

use std::path::Path;

use sea_orm::{ConnectionTrait, Database};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use; the CI machine has one on 127.0.0.1:5432 with trust auth.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The one message every `::postgres` test fails with when the server is not there, at once.
fn no_server(admin_url: &str, why: impl std::fmt::Display) -> ! {
    panic!(
        "the ::postgres tests need a PostgreSQL server: {admin_url} is not reachable ({why}). \
         Start one, or point the tests at yours with TEST_POSTGRES_URL=postgres://user@host:port/database \
         (each test creates and drops a database of its own there)."
    )
}

/// Connects to the server the tests create their databases on, failing within seconds if it is not there.
async fn connect_admin(admin_url: &str) -> sea_orm::DatabaseConnection {
    let options = sea_orm::ConnectOptions::new(admin_url.to_string())
        .max_connections(1)
        .connect_timeout(std::time::Duration::from_secs(3))
        .acquire_timeout(std::time::Duration::from_secs(3))
        .sqlx_logging(false)
        .to_owned();
    match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        Database::connect(options),
    )
    .await
    {
        Ok(Ok(db)) => db,
        Ok(Err(e)) => no_server(admin_url, e),
        Err(_) => no_server(admin_url, "no answer within 5 s"),
    }
}

pub struct TestDatabase {
    url: String,
    postgres_name: Option<String>,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("postgres_name", &self.postgres_name)
            .finish_non_exhaustive()
    }
}

impl TestDatabase {
    pub async fn create(backend: Backend, dir: &Path) -> Self {
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}/portal.db?mode=rwc", dir.display()),
                postgres_name: None,
            },
            Backend::Postgres => {
                let name = format!("portal_test_{}", uuid::Uuid::new_v4().simple());
                let admin_url = postgres_admin_url();
                let admin = connect_admin(&admin_url).await;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
                let _ = admin.close().await;
                let url = match admin_url.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("TEST_POSTGRES_URL must end in /<database>"),
                };
                Self {
                    url,
                    postgres_name: Some(name),
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block; a short-lived thread with its own runtime can.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&postgres_admin_url()).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}
