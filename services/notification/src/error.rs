//! The notification service's failures, and their one mapping to `tonic::Status`.

use portal_runtime::error::{self, Common};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("advisory not found")]
    AdvisoryNotFound,
    #[error("the acknowledgement token has expired")]
    AckTokenExpired,
    /// N9: not a token of ours (malformed, edited, for something else) or one naming no advisory mail.
    #[error("not an advisory acknowledgement token")]
    AckTokenInvalid,
    #[error(transparent)]
    Common(#[from] Common),
}

portal_runtime::common_errors!(Error);

portal_clients::client_errors!(Error);

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        let message = err.to_string();
        match err {
            Error::Common(common) => common.into(),
            Error::AdvisoryNotFound => error::status(Code::NotFound, "ADVISORY_NOT_FOUND", message),
            Error::AckTokenExpired => {
                error::status(Code::FailedPrecondition, "ACK_TOKEN_EXPIRED", message)
            }
            Error::AckTokenInvalid => Error::invalid("token", message).into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
