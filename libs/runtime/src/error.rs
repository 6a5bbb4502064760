//! The one way errors leave a service: `tonic::Status` with a `google.rpc.ErrorInfo` (domain `portal`, the
//! reason codes of SPEC) and, for bad input, `BadRequest` field violations. Internals are logged, never sent.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every error the suite returns.
pub const DOMAIN: &str = "portal";

/// Reason codes shared by every service; the rule-specific ones live with their service's error enum.
pub mod reason {
    pub const UNAUTHENTICATED: &str = "TOKEN_INVALID";
    pub const PERMISSION_DENIED: &str = "ACCESS_DENIED";
    pub const INVALID_ARGUMENT: &str = "INVALID_FIELD";
    pub const REQUEST_ID_REUSED: &str = "REQUEST_ID_REUSED";
    pub const OVERLOADED: &str = "OVERLOADED";
    /// The request message did not arrive within the read deadline.
    pub const REQUEST_TOO_SLOW: &str = "REQUEST_TOO_SLOW";
    /// The bearer token is longer than the server accepts.
    pub const TOKEN_TOO_LARGE: &str = "TOKEN_TOO_LARGE";
    pub const MESSAGE_TOO_LARGE: &str = "MESSAGE_TOO_LARGE";
    pub const UNAVAILABLE: &str = "DEPENDENCY_UNAVAILABLE";
    pub const INTERNAL: &str = "INTERNAL";
}

/// One invalid field of a request: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }

    /// For `map_err`: a parse error's text becomes the violation of `field`.
    pub fn of<E: std::fmt::Display>(field: &str) -> impl FnOnce(E) -> Self + '_ {
        move |err| Self::new(field, err.to_string())
    }
}

/// A status carrying `ErrorInfo { reason, domain: "portal" }`.
pub fn status(code: Code, reason: &str, message: impl Into<String>) -> Status {
    let details = ErrorDetails::with_error_info(reason, DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(code, message, details)
}

/// `INVALID_ARGUMENT` with `ErrorInfo` and one `BadRequest` violation per bad field.
/// The most field violations one error carries, and the longest field name or description in it: stock gRPC
/// clients refuse status details over a few KiB (and then lose the real error), so a request with thousands of
/// bad elements is told about the first few and how many more there were.
pub const MAX_VIOLATIONS: usize = 20;
const MAX_VIOLATION_CHARS: usize = 200;

fn shortened(text: &str) -> String {
    match text.char_indices().nth(MAX_VIOLATION_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

pub fn invalid(reason: &str, message: impl Into<String>, violations: &[FieldViolation]) -> Status {
    let mut details =
        ErrorDetails::with_error_info(reason, DOMAIN, std::collections::HashMap::new());
    for v in violations.iter().take(MAX_VIOLATIONS) {
        details.add_bad_request_violation(shortened(&v.field), shortened(&v.description));
    }
    if let Some(more) = violations
        .len()
        .checked_sub(MAX_VIOLATIONS)
        .filter(|n| *n > 0)
    {
        details.add_bad_request_violation("request", format!("and {more} more violations"));
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// `INTERNAL` for the caller, the real cause in the log only.
pub fn internal(cause: &dyn std::fmt::Display) -> Status {
    tracing::error!(error = %cause, "internal error");
    status(Code::Internal, reason::INTERNAL, "internal error")
}

/// `UNAVAILABLE` naming the dependency that could not be reached.
pub fn unavailable(dependency: &str, cause: &dyn std::fmt::Display) -> Status {
    tracing::warn!(dependency, error = %cause, "dependency unavailable");
    status(
        Code::Unavailable,
        reason::UNAVAILABLE,
        format!("{dependency} is unavailable; retry later"),
    )
}

/// The `ErrorInfo.reason` of a status, if it carries one.
pub fn reason_of(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

/// The `(field, description)` pairs of a status's `BadRequest`, if any.
pub fn violations_of(status: &Status) -> Vec<FieldViolation> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| FieldViolation::new(v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_reason_and_violations() {
        let s = invalid(
            "EMAIL_INVALID",
            "bad input",
            &[FieldViolation::new("email", "not an address")],
        );
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(reason_of(&s).as_deref(), Some("EMAIL_INVALID"));
        assert_eq!(
            violations_of(&s),
            vec![FieldViolation::new("email", "not an address")]
        );
    }

    #[test]
    fn error_details_stay_small_however_many_violations() {
        let many: Vec<_> = (0..100_000)
            .map(|i| FieldViolation::new(format!("cve_ids[{i}]"), "x".repeat(1000)))
            .collect();
        let s = invalid(reason::INVALID_ARGUMENT, "bad input", &many);
        let shown = violations_of(&s);
        assert_eq!(shown.len(), MAX_VIOLATIONS + 1);
        assert_eq!(shown[0].field, "cve_ids[0]");
        assert!(shown[0].description.chars().count() <= MAX_VIOLATION_CHARS + 1);
        assert_eq!(
            shown[MAX_VIOLATIONS].description,
            format!("and {} more violations", 100_000 - MAX_VIOLATIONS)
        );
        assert!(s.details().len() < 8 * 1024, "{} bytes", s.details().len());
    }

    mod database {
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

    #[test]
    fn internal_hides_the_cause() {
        let s = internal(&"SELECT * FROM secret failed");
        assert_eq!(s.message(), "internal error");
    }
}

/// Collects every invalid field of a request before failing, so a caller fixes them all at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps the parsed value, or records why it is invalid.
    pub fn check<T>(&mut self, parsed: Result<T, FieldViolation>) -> Option<T> {
        parsed.map_err(|v| self.0.push(v)).ok()
    }

    pub fn require(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.0.push(FieldViolation::new(field, "must not be empty"));
        }
    }

    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// `Err` with every violation, if there was any.
    pub fn finish(self) -> Result<(), Vec<FieldViolation>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// The failures every service shares. Each service's error enum wraps them (`#[error(transparent)]`), adding
/// only the rule-specific reasons of its own, so these five map to a status in one place.
#[derive(Debug, thiserror::Error)]
pub enum Common {
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    #[error("request_id was already used for a different request")]
    RequestIdReused,
    #[error("permission denied: {0}")]
    Denied(String),
    #[error("{0} is unavailable")]
    Unavailable(&'static str, String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<Common> for Status {
    fn from(err: Common) -> Status {
        let message = err.to_string();
        match err {
            Common::Invalid(violations) => invalid(reason::INVALID_ARGUMENT, message, &violations),
            Common::RequestIdReused => invalid(
                reason::REQUEST_ID_REUSED,
                message,
                &[FieldViolation::new("request_id", "already used")],
            ),
            Common::Denied(_) => status(Code::PermissionDenied, reason::PERMISSION_DENIED, message),
            Common::Unavailable(dependency, cause) => unavailable(dependency, &cause),
            Common::Internal(cause) => internal(&cause),
        }
    }
}

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

/// The shared constructors of every service's error enum (`Error::invalid`, `Error::denied`, …), and the
/// conversions from database errors and field violations.
#[macro_export]
macro_rules! common_errors {
    ($error:ident) => {
        impl $error {
            pub fn invalid(field: &str, description: impl Into<String>) -> Self {
                $error::Common($crate::error::Common::Invalid(vec![
                    $crate::error::FieldViolation::new(field, description),
                ]))
            }
            pub fn invalid_fields(violations: Vec<$crate::error::FieldViolation>) -> Self {
                $error::Common($crate::error::Common::Invalid(violations))
            }
            pub fn denied(why: impl Into<String>) -> Self {
                $error::Common($crate::error::Common::Denied(why.into()))
            }
            pub fn internal(cause: impl Into<String>) -> Self {
                $error::Common($crate::error::Common::Internal(cause.into()))
            }
            pub fn unavailable(dependency: &'static str, cause: impl Into<String>) -> Self {
                $error::Common($crate::error::Common::Unavailable(dependency, cause.into()))
            }
            pub fn request_id_reused() -> Self {
                $error::Common($crate::error::Common::RequestIdReused)
            }
        }

        impl From<sea_orm::DbErr> for $error {
            fn from(err: sea_orm::DbErr) -> Self {
                $error::Common(err.into())
            }
        }

        impl From<$crate::error::FieldViolation> for $error {
            fn from(v: $crate::error::FieldViolation) -> Self {
                $error::invalid_fields(vec![v])
            }
        }
    };
}
