//! What billing asks identity: who a portal user is, and whether an account exists (the shared
//! [`portal_clients::Directory`]).

pub use portal_clients::Directory as Identity;

use crate::error::Error;

impl From<portal_clients::ClientError> for Error {
    fn from(err: portal_clients::ClientError) -> Self {
        match err {
            portal_clients::ClientError::Unavailable { service, message } => Error::Unavailable(service, message),
            failed @ portal_clients::ClientError::Failed { .. } => Error::Internal(failed.to_string()),
        }
    }
}

impl From<portal_clients::CallerError> for Error {
    fn from(err: portal_clients::CallerError) -> Self {
        match err {
            portal_clients::CallerError::Denied(why) => Error::Denied(why),
            portal_clients::CallerError::Client(e) => e.into(),
        }
    }
}
