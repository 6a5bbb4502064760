//! Typed clients the services use to ask each other things. Each call goes over tonic as `svc:<caller>` with
//! scope `internal`, a deadline and trace context (see [`portal_runtime::client::Caller`]); failures come back
//! as [`ClientError`], which says whether retrying later may help.

pub mod caller;
pub mod identity;
pub mod licensing;

pub use caller::{Caller, CallerError};
pub use identity::{Directory, Member};
pub use licensing::{KeyFacts, Licensing, ProvisionedSeats};

/// Why a call to another service failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// Down, overloaded or too slow: the caller should answer `UNAVAILABLE` (or retry in the background).
    #[error("{service} is unavailable: {message}")]
    Unavailable {
        service: &'static str,
        message: String,
    },
    /// The callee answered with an error that retrying will not fix.
    #[error("{service} answered {code:?}: {message}")]
    Failed {
        service: &'static str,
        code: tonic::Code,
        message: String,
    },
}

impl ClientError {
    /// The callee answered something this client cannot read (e.g. an enum value it does not know): a
    /// contract mismatch or corrupt data, never guessed at.
    pub fn bad_answer(service: &'static str, what: &str) -> Self {
        ClientError::Failed {
            service,
            code: tonic::Code::Internal,
            message: format!("answered with {what}"),
        }
    }

    pub fn from_status(service: &'static str, status: tonic::Status) -> Self {
        if portal_runtime::client::is_unavailable(&status) {
            ClientError::Unavailable {
                service,
                message: status.message().to_string(),
            }
        } else {
            ClientError::Failed {
                service,
                code: status.code(),
                message: status.message().to_string(),
            }
        }
    }
}

impl From<ClientError> for portal_runtime::error::Common {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Unavailable { service, message } => Self::Unavailable(service, message),
            failed @ ClientError::Failed { .. } => Self::Internal(failed.to_string()),
        }
    }
}

impl From<CallerError> for portal_runtime::error::Common {
    fn from(err: CallerError) -> Self {
        match err {
            CallerError::Denied(why) => Self::Denied(why),
            CallerError::Client(e) => e.into(),
        }
    }
}

/// `?` from the clients' errors into a service's error enum (which wraps [`portal_runtime::error::Common`]).
#[macro_export]
macro_rules! client_errors {
    ($error:ident) => {
        impl From<$crate::ClientError> for $error {
            fn from(err: $crate::ClientError) -> Self {
                $error::Common(err.into())
            }
        }

        impl From<$crate::CallerError> for $error {
            fn from(err: $crate::CallerError) -> Self {
                $error::Common(err.into())
            }
        }
    };
}
