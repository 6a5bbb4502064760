//! The identity service's failures, and their one mapping to `tonic::Status`.

use portal_runtime::error::{self, FieldViolation, reason};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    #[error("an e-mail address can never be changed: remove the user and add them again with the new address")]
    EmailImmutable,
    #[error("request_id was already used for a different request")]
    RequestIdReused,
    #[error("academic accounts have no portal access")]
    AcademicAccount,
    #[error("an active user of this account already has this e-mail address")]
    UserExists,
    #[error("the account must keep at least one active Administrator; appoint another one first")]
    LastAdministrator,
    #[error("the user has been removed")]
    UserRemoved,
    #[error("account not found")]
    AccountNotFound,
    #[error("user not found")]
    UserNotFound,
    #[error("permission denied: {0}")]
    Denied(String),
    #[error("{0} is unavailable")]
    Unavailable(&'static str, String),
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldViolation::new(field, description)])
    }

    pub fn denied(why: impl Into<String>) -> Self {
        Error::Denied(why.into())
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        Error::Internal(err.to_string())
    }
}

impl From<FieldViolation> for Error {
    fn from(v: FieldViolation) -> Self {
        Error::Invalid(vec![v])
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        let message = err.to_string();
        match err {
            Error::Invalid(violations) => error::invalid(reason::INVALID_ARGUMENT, message, &violations),
            Error::EmailImmutable => error::invalid("EMAIL_IMMUTABLE", message, &[FieldViolation::new("update_mask", "email is immutable")]),
            Error::RequestIdReused => error::invalid(reason::REQUEST_ID_REUSED, message, &[FieldViolation::new("request_id", "already used")]),
            Error::AcademicAccount => error::status(Code::FailedPrecondition, "ACADEMIC_ACCOUNT", message),
            Error::UserExists => error::status(Code::AlreadyExists, "USER_EXISTS", message),
            Error::LastAdministrator => error::status(Code::FailedPrecondition, "LAST_ADMINISTRATOR", message),
            Error::UserRemoved => error::status(Code::FailedPrecondition, "USER_REMOVED", message),
            Error::AccountNotFound => error::status(Code::NotFound, "ACCOUNT_NOT_FOUND", message),
            Error::UserNotFound => error::status(Code::NotFound, "USER_NOT_FOUND", message),
            Error::Denied(_) => error::status(Code::PermissionDenied, reason::PERMISSION_DENIED, message),
            Error::Unavailable(dependency, cause) => error::unavailable(dependency, &cause),
            Error::Internal(cause) => error::internal(&cause),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
