//! The notification service's failures, and their one mapping to `tonic::Status`.

use portal_runtime::error::{self, FieldViolation, reason};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    #[error("request_id was already used for a different request")]
    RequestIdReused,
    #[error("advisory not found")]
    AdvisoryNotFound,
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
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        Error::Internal(err.to_string())
    }
}

impl From<portal_clients::ClientError> for Error {
    fn from(err: portal_clients::ClientError) -> Self {
        match err {
            portal_clients::ClientError::Unavailable { service, message } => Error::Unavailable(service, message),
            failed @ portal_clients::ClientError::Failed { .. } => Error::Internal(failed.to_string()),
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        let message = err.to_string();
        match err {
            Error::Invalid(violations) => error::invalid(reason::INVALID_ARGUMENT, message, &violations),
            Error::RequestIdReused => error::invalid(reason::REQUEST_ID_REUSED, message, &[FieldViolation::new("request_id", "already used")]),
            Error::AdvisoryNotFound => error::status(Code::NotFound, "ADVISORY_NOT_FOUND", message),
            Error::Denied(_) => error::status(Code::PermissionDenied, reason::PERMISSION_DENIED, message),
            Error::Unavailable(dependency, cause) => error::unavailable(dependency, &cause),
            Error::Internal(cause) => error::internal(&cause),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
