//! What a handler knows about the call it serves: who is calling, the request id, the trace id.

use tonic::{Request, Status};

use crate::{auth::Principal, telemetry};

#[derive(Debug, Clone)]
pub struct CallContext {
    pub principal: Principal,
    /// The request's `request_id` field if it has one, else the `x-request-id` header, else empty.
    pub request_id: String,
    pub trace_id: String,
}

impl CallContext {
    /// Reads the authenticated principal (set by the gate) and the ids; `request_id` is the body's field.
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
        Ok(Self {
            principal,
            request_id,
            trace_id: telemetry::trace_id(&tracing::Span::current()),
        })
    }
}
