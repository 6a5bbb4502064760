//! Which database errors mean "out of reach right now" (`UNAVAILABLE`, retry) and which are a fault of ours
//! (`INTERNAL`).

use super::Common;

/// A database that cannot be reached right now — refused or dropped connections, a server shutting down or
/// starting up, no connection free within the pool's timeout, a transaction that could not begin, SQLite busy
/// past its busy timeout — is `UNAVAILABLE`: the caller retries and the pool reconnects. Anything else the
/// database says is a fault of ours, `INTERNAL`.
impl From<sea_orm::DbErr> for Common {
    fn from(err: sea_orm::DbErr) -> Self {
        if database_unreachable(&err) {
            Common::Unavailable("the database", err.to_string())
        } else {
            Common::Internal(err.to_string())
        }
    }
}

/// PostgreSQL's SQLSTATEs for a connection going away: class 08 (connection exception), and the server
/// terminating sessions (57P01 admin shutdown, `pg_terminate_backend`; 57P02 crash shutdown; 57P03 cannot connect
/// now, starting up or shutting down); 53300 too many connections; and 57014, a statement cancelled at the
/// statement timeout (`database.statement_timeout_ms`): it waited on something that did not come in time.
fn sqlstate_unreachable(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "57014")
}

fn database_unreachable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx::Error as Sqlx};
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e.as_ref(),
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match sqlx {
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed
        // BEGIN went through but the connection is not in a transaction: the connection, not the call, is wrong.
        | Sqlx::BeginFailed => true,
        Sqlx::Database(db) => {
            sqlite_busy(db.as_ref()) || db.code().is_some_and(|code| sqlstate_unreachable(&code))
        }
        _ => false,
    }
}

/// SQLite's primary result codes 5 (`SQLITE_BUSY`, "database is locked") and 6 (`SQLITE_LOCKED`), with their
/// extended codes: another writer held the lock for the whole busy timeout. Nothing is wrong with the call,
/// it came at a busy moment.
fn sqlite_busy(err: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
    use sea_orm::sqlx::error::DatabaseError;
    err.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .and_then(DatabaseError::code)
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use std::{borrow::Cow, io, sync::Arc};

    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, sqlx};

    use super::super::*;

    /// A server error carrying a SQLSTATE, as the PostgreSQL driver reports one.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "server error {}", self.0)
        }
    }

    impl std::error::Error for Sqlstate {}

    impl sqlx::error::DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            "server error"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn sqlx_err(err: sqlx::Error) -> RuntimeErr {
        RuntimeErr::SqlxError(Arc::new(err))
    }

    fn code_of(err: DbErr) -> (Code, Option<String>) {
        let status = Status::from(Common::from(err));
        (status.code(), reason_of(&status))
    }

    #[test]
    fn a_database_out_of_reach_is_unavailable() {
        let io = |kind| sqlx::Error::Io(io::Error::from(kind));
        for err in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(sqlx_err(io(io::ErrorKind::ConnectionRefused))),
            DbErr::Exec(sqlx_err(io(io::ErrorKind::ConnectionReset))),
            DbErr::Query(sqlx_err(io(io::ErrorKind::UnexpectedEof))),
            DbErr::Query(sqlx_err(sqlx::Error::PoolTimedOut)),
            DbErr::Exec(sqlx_err(sqlx::Error::Database(Box::new(Sqlstate("57P01"))))),
            DbErr::Query(sqlx_err(sqlx::Error::Database(Box::new(Sqlstate("57P03"))))),
            DbErr::Query(sqlx_err(sqlx::Error::Database(Box::new(Sqlstate("57014"))))),
            DbErr::Conn(sqlx_err(sqlx::Error::Database(Box::new(Sqlstate("08006"))))),
            DbErr::Conn(RuntimeErr::Internal("connection lost".into())),
        ] {
            let shown = err.to_string();
            assert_eq!(
                code_of(err),
                (Code::Unavailable, Some(reason::UNAVAILABLE.into())),
                "{shown}"
            );
        }
    }

    #[test]
    fn a_transaction_that_could_not_begin_is_unavailable() {
        for err in [
            DbErr::Conn(sqlx_err(sqlx::Error::BeginFailed)),
            DbErr::Exec(sqlx_err(sqlx::Error::BeginFailed)),
        ] {
            assert_eq!(
                code_of(err),
                (Code::Unavailable, Some(reason::UNAVAILABLE.into()))
            );
        }
    }

    /// A real "database is locked": one connection holds SQLite's write lock, another with no busy timeout
    /// asks for it.
    #[tokio::test]
    async fn sqlite_busy_is_unavailable() {
        use sea_orm::{ConnectOptions, Database, TransactionTrait};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("busy.db").display());
        let open = || {
            let mut options = ConnectOptions::new(url.clone());
            options.max_connections(1).map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(std::time::Duration::ZERO)
            });
            Database::connect(options)
        };
        let (holder, waiter) = (open().await.unwrap(), open().await.unwrap());
        let held = crate::db::begin_write(&holder).await.unwrap();
        let err = crate::db::begin_write(&waiter).await.unwrap_err();
        let shown = err.to_string();
        assert_eq!(
            code_of(err),
            (Code::Unavailable, Some(reason::UNAVAILABLE.into())),
            "{shown}"
        );
        held.rollback().await.unwrap();
        assert!(
            waiter.begin().await.is_ok(),
            "free again once the lock is given back"
        );
    }

    #[test]
    fn any_other_database_error_stays_internal() {
        for err in [
            DbErr::Query(sqlx_err(sqlx::Error::RowNotFound)),
            DbErr::Exec(sqlx_err(sqlx::Error::Database(Box::new(Sqlstate("23505"))))),
            // A PostgreSQL SQLSTATE that, read as a number, would end in SQLite's busy code.
            DbErr::Exec(sqlx_err(sqlx::Error::Database(Box::new(Sqlstate("00005"))))),
            DbErr::Query(sqlx_err(sqlx::Error::Database(Box::new(Sqlstate("42P01"))))),
            DbErr::Type("bad enum".into()),
            DbErr::Custom("oops".into()),
            DbErr::RecordNotFound("x".into()),
        ] {
            let shown = err.to_string();
            assert_eq!(
                code_of(err),
                (Code::Internal, Some(reason::INTERNAL.into())),
                "{shown}"
            );
        }
    }
}
