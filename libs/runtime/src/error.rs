//! The one way errors leave a service: `tonic::Status` with a `google.rpc.ErrorInfo` (domain `portal`, the
//! reason codes of SPEC) and, for bad input, `BadRequest` field violations. Internals are logged, never sent.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

mod common;
mod database;
mod violations;

pub use common::Common;
pub use violations::Violations;

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

    #[test]
    fn internal_hides_the_cause() {
        let s = internal(&"SELECT * FROM secret failed");
        assert_eq!(s.message(), "internal error");
    }
}
