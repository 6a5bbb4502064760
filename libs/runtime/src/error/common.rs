//! The failures every service shares, their one mapping to a status, and the macro that gives each service's
//! error enum the shared constructors and conversions.

use tonic::{Code, Status};

use super::{FieldViolation, internal, invalid, reason, status, unavailable};

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
