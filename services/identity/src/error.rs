//! The identity service's failures, and their one mapping to `tonic::Status`.

use portal_runtime::error::{self, Common, FieldViolation};
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "an e-mail address can never be changed: remove the user and add them again with the new address"
    )]
    EmailImmutable,
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
            Error::EmailImmutable => error::invalid(
                "EMAIL_IMMUTABLE",
                message,
                &[FieldViolation::new("update_mask", "email is immutable")],
            ),
            Error::AcademicAccount => {
                error::status(Code::FailedPrecondition, "ACADEMIC_ACCOUNT", message)
            }
            Error::UserExists => error::status(Code::AlreadyExists, "USER_EXISTS", message),
            Error::LastAdministrator => {
                error::status(Code::FailedPrecondition, "LAST_ADMINISTRATOR", message)
            }
            Error::UserRemoved => error::status(Code::FailedPrecondition, "USER_REMOVED", message),
            Error::AccountNotFound => error::status(Code::NotFound, "ACCOUNT_NOT_FOUND", message),
            Error::UserNotFound => error::status(Code::NotFound, "USER_NOT_FOUND", message),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
