//! Storage: one sea-orm connection per service, from a URL. SQLite (the embedded default: a file per service,
//! WAL, busy timeout) or PostgreSQL (one schema per service). The same sea-orm-migration migrations run on both.

use std::{path::Path, time::Duration};

use sea_orm::{
    AccessMode, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, IsolationLevel, QueryFilter,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sea_query::{Expr, ExprTrait},
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use sea_orm_migration::MigratorTrait;
use secrecy::ExposeSecret;

use crate::config::{DatabaseSettings, Settings};

/// How long SQLite waits for the file's write lock before "database is busy" (then the call is UNAVAILABLE).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The database URL a service uses: its own SQLite file, or the shared PostgreSQL database.
pub fn service_url(settings: &Settings, service: &str) -> String {
    match settings
        .database
        .url
        .as_ref()
        .map(|u| u.expose_secret().to_string())
    {
        None => sqlite_file_url(&settings.data_dir.join(format!("{service}.db"))),
        Some(url) if url.starts_with("sqlite:") => per_service_sqlite(&url, service),
        Some(url) => url,
    }
}

fn sqlite_file_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// `sqlite:///x/portal.db?mode=rwc` → `sqlite:///x/portal-identity.db?mode=rwc`, so services never share a file.
fn per_service_sqlite(url: &str, service: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, "mode=rwc"));
    let (stem, ext) = match path.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') => (stem, format!(".{ext}")),
        _ => (path, String::new()),
    };
    format!("{stem}-{service}{ext}?{query}")
}

/// Opens the service's database (creating its SQLite directory or PostgreSQL schema) and, when asked,
/// applies its migrations first, over a connection of their own without the statement timeout (building an
/// index on a large table may well take longer than any one call should).
pub async fn connect<M: MigratorTrait>(
    settings: &Settings,
    service: &str,
    migrate: bool,
) -> Result<DatabaseConnection, DbErr> {
    let url = service_url(settings, service);
    if migrate {
        let migrating = DatabaseSettings {
            max_connections: Some(1),
            ..settings.database.clone()
        };
        let db = pool(&url, service, &migrating, None).await?;
        M::up(&db, None).await?;
        db.close().await?;
    }
    open(&url, service, &settings.database).await
}

/// Opens `url` for `service` without migrating, with the pool `settings` ask for (the URL is `url`'s).
pub async fn open(
    url: &str,
    service: &str,
    settings: &DatabaseSettings,
) -> Result<DatabaseConnection, DbErr> {
    pool(url, service, settings, Some(settings.statement_timeout())).await
}

async fn pool(
    url: &str,
    service: &str,
    settings: &DatabaseSettings,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, DbErr> {
    let sqlite = url.starts_with("sqlite:");
    let max_connections = settings
        .max_connections
        .unwrap_or(if sqlite { 4 } else { 16 });
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if sqlite {
        if let Some(dir) = url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .map(Path::new)
            .and_then(Path::parent)
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbErr::Custom(format!("creating {}: {e}", dir.display())))?;
        }
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                // 512 KiB of page cache per connection instead of SQLite's 2 MiB: with a connection pool per
                // service, the default let `portal up` hold tens of MiB of cached pages the OS caches anyway.
                .pragma("cache_size", "-512")
                // Prepared statements kept per connection (sqlx keeps 100): each holds its compiled program.
                .statement_cache_capacity(32)
        });
        // A connection is only ever busy here, never gone: wait for one as long as for the file's lock.
        options.acquire_timeout(SQLITE_BUSY_TIMEOUT);
        return Database::connect(options).await;
    }
    // The pool pings a connection before handing it out, so a server that stopped answering (a hung host, a
    // network dropping packets) is met here, and the call is UNAVAILABLE at this deadline rather than at the
    // operating system's TCP timeout.
    options.acquire_timeout(settings.acquire_timeout());
    if let Some(timeout) = statement_timeout {
        options.statement_timeout(timeout);
    }
    let schema = schema_name(service)?;
    let admin = Database::connect(
        ConnectOptions::new(url.to_string())
            .max_connections(1)
            .sqlx_logging(false)
            .to_owned(),
    )
    .await?;
    admin
        .execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
        .await?;
    admin.close().await?;
    options.set_schema_search_path(schema);
    let db = Database::connect(options).await?;
    debug_assert_eq!(db.get_database_backend(), DbBackend::Postgres);
    Ok(db)
}

/// Starts a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken (waiting up
/// to the busy timeout) before anything is read, so a read-then-write transaction can never fail to upgrade
/// under concurrency. On PostgreSQL it is a plain `BEGIN`; row locks do the serialising there.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(options).await
}

/// Starts a read-only transaction whose reads all see one snapshot, for an answer assembled from several queries
/// that must agree with each other. On PostgreSQL it is `REPEATABLE READ, READ ONLY`; on SQLite (WAL) a
/// deferred transaction reads one snapshot from its first read on.
pub async fn begin_snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options = match db.get_database_backend() {
        DbBackend::Postgres => TransactionOptions {
            isolation_level: Some(IsolationLevel::RepeatableRead),
            access_mode: Some(AccessMode::ReadOnly),
            ..TransactionOptions::default()
        },
        _ => TransactionOptions::default(),
    };
    db.begin_with_options(options).await
}

/// Serialises the mutations of one row: bumping its `revision` column is the transaction's first write, which
/// takes the row's lock on PostgreSQL and the write lock on SQLite, so checks made under it cannot interleave
/// with another transaction's. Returns the locked row, or `None` when no row has that id.
pub async fn lock_row<E, C>(
    db: &C,
    id_column: E::Column,
    revision_column: E::Column,
    id: &str,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    Ok(E::update_many()
        .col_expr(revision_column, Expr::col(revision_column).add(1))
        .filter(id_column.eq(id))
        .exec_with_returning(db)
        .await?
        .pop())
}

/// Numbered parameter placeholders for hand-written SQL on `backend`: `$1…$n` on PostgreSQL, `?1…?n` on SQLite.
pub fn placeholders(backend: DbBackend, n: usize) -> Vec<String> {
    let sigil = if backend == DbBackend::Postgres {
        '$'
    } else {
        '?'
    };
    (1..=n).map(|i| format!("{sigil}{i}")).collect()
}

/// Schema names are interpolated into DDL, so only plain identifiers pass.
fn schema_name(service: &str) -> Result<String, DbErr> {
    if !service.is_empty() && service.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        Ok(service.to_string())
    } else {
        Err(DbErr::Custom(format!(
            "invalid service name for a schema: {service:?}"
        )))
    }
}

/// An enum column: a Rust enum storing exactly the given strings (sea-orm `DeriveActiveEnum`), so a row holding
/// any other string fails to load, and `From` both ways to the domain enum it stores, variant for variant.
///
/// ```ignore
/// portal_runtime::column_enum!(InvoiceState for domain::InvoiceState { Open = "OPEN", Paid = "PAID", Void = "VOID" });
/// ```
/// The calling module needs `sea_orm::entity::prelude::*` in scope.
#[macro_export]
macro_rules! column_enum {
    ($name:ident for $domain:path { $($variant:ident = $value:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        pub enum $name {
            $(#[sea_orm(string_value = $value)] $variant,)+
        }

        impl From<$name> for $domain {
            fn from(stored: $name) -> Self {
                match stored {
                    $($name::$variant => <$domain>::$variant,)+
                }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value {
                    $(<$domain>::$variant => $name::$variant,)+
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_one_file_per_service() {
        assert_eq!(
            per_service_sqlite("sqlite:///d/portal.db?mode=rwc", "identity"),
            "sqlite:///d/portal-identity.db?mode=rwc"
        );
        assert_eq!(
            per_service_sqlite("sqlite://portal", "billing"),
            "sqlite://portal-billing?mode=rwc"
        );
    }

    #[test]
    fn placeholders_are_numbered_per_backend() {
        assert_eq!(placeholders(DbBackend::Postgres, 2), ["$1", "$2"]);
        assert_eq!(placeholders(DbBackend::Sqlite, 2), ["?1", "?2"]);
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(schema_name("identity").is_ok());
        assert!(schema_name("x\"; drop").is_err());
    }
}
