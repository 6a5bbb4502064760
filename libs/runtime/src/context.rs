//! What a handler knows about the call it serves: who is calling, the request id, the trace id.

use tonic::{Request, Status};

use crate::{
    auth::Principal,
    error::{self, FieldViolation, reason},
    telemetry,
};

/// The longest request id accepted: ids are stored with what they created, so a megabyte-long one is refused
/// rather than kept.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

#[derive(Debug, Clone)]
pub struct CallContext {
    pub principal: Principal,
    /// The request's `request_id` field if it has one, else the `x-request-id` header, else empty.
    pub request_id: String,
    pub trace_id: String,
}

impl CallContext {
    /// Reads the authenticated principal (set by the gate) and the ids; `request_id` is the body's field. An id
    /// longer than [`MAX_REQUEST_ID_CHARS`] or holding control characters is `INVALID_ARGUMENT`.
    pub fn of<T>(request: &Request<T>, request_id: &str) -> Result<Self, Status> {
        let principal = crate::auth::principal(request)?;
        let request_id = if request_id.is_empty() {
            request
                .metadata()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        } else {
            request_id.to_string()
        };
        if request_id.chars().count() > MAX_REQUEST_ID_CHARS
            || request_id.chars().any(char::is_control)
        {
            return Err(error::invalid(
                reason::INVALID_ARGUMENT,
                "invalid request",
                &[FieldViolation::new(
                    "request_id",
                    format!(
                        "must be at most {MAX_REQUEST_ID_CHARS} characters, without control characters"
                    ),
                )],
            ));
        }
        Ok(Self {
            principal,
            request_id,
            trace_id: telemetry::trace_id(&tracing::Span::current()),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn request(header: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        request.extensions_mut().insert(Principal::User {
            user_id: "u1".into(),
        });
        if let Some(id) = header {
            request
                .metadata_mut()
                .insert("x-request-id", id.parse().unwrap());
        }
        request
    }

    #[test]
    fn a_request_id_comes_from_the_body_or_the_header() {
        assert_eq!(
            CallContext::of(&request(Some("h")), "b")
                .unwrap()
                .request_id,
            "b"
        );
        assert_eq!(
            CallContext::of(&request(Some("h")), "").unwrap().request_id,
            "h"
        );
    }

    #[test]
    fn an_overlong_or_control_request_id_is_refused() {
        let long = "r".repeat(MAX_REQUEST_ID_CHARS + 1);
        let refused = CallContext::of(&request(None), &long).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        assert_eq!(error::violations_of(&refused)[0].field, "request_id");
        assert!(refused.message().len() < 100);
        assert!(CallContext::of(&request(Some(&long)), "").is_err());
        assert!(CallContext::of(&request(None), "a\u{0}b").is_err());
        let longest = "r".repeat(MAX_REQUEST_ID_CHARS);
        assert!(CallContext::of(&request(None), &longest).is_ok());
    }
}
