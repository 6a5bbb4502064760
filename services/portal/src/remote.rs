//! The operator's commands (`portal advisory …`, `portal users …`) are gRPC clients of a running suite, local or in
//! Kubernetes: where it is, who is calling, how long each call may take, and how answers and failures are printed.

use std::{fmt, time::Duration};

use clap::{Args, ValueEnum};
use tonic::{
    Request, Status,
    codegen::InterceptedService,
    metadata::AsciiMetadataValue,
    service::Interceptor,
    transport::{Channel, Endpoint},
};
use tonic_types::StatusExt;

/// Exit codes every operator command shares; pipelines branch on them.
pub mod exit {
    /// Done; for an advisory: settled, and every recipient was sent to.
    pub const OK: u8 = 0;
    /// The call failed (connection, authentication, refused request, unreadable file).
    pub const FAILED: u8 = 1;
    /// Bad flags (clap's usage code).
    pub const USAGE: u8 = 2;
    /// The advisory settled, but some recipients are dead or some accounts had nobody to tell.
    pub const NOT_EVERYONE_REACHED: u8 = 3;
    /// The advisory has not settled (yet, or within `--within`).
    pub const NOT_SETTLED: u8 = 4;
}

/// Where the suite is and who is calling.
#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// The suite's gRPC address.
    #[arg(
        long,
        env = "PORTAL_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    pub endpoint: String,
    /// Bearer token (from `portal token` or your identity provider).
    #[arg(long, env = "PORTAL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Deadline of each call, in seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout_secs: u64,
    /// `text` for people, `json` for pipelines (one JSON document on stdout).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

/// A failed operator command: what to print on stderr, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: exit::FAILED,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A refused or failed call, printed as `CODE REASON: message` so a reader (and a script) sees why, then each
/// field violation on its own line (for a CSAF document, the failing JSON paths).
impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        let details = status.get_error_details();
        let reason = details
            .error_info()
            .map(|info| format!(" {}", info.reason))
            .unwrap_or_default();
        let mut message = format!("{:?}{reason}: {}", status.code(), status.message());
        for violation in details
            .bad_request()
            .map(|b| b.field_violations.as_slice())
            .unwrap_or_default()
        {
            message.push_str(&format!(
                "\n  {}: {}",
                violation.field, violation.description
            ));
        }
        Self::new(message)
    }
}

/// Attaches `authorization: Bearer <token>` to every call.
#[derive(Clone, Debug)]
pub struct Bearer(AsciiMetadataValue);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub type Authorized = InterceptedService<Channel, Bearer>;

impl Remote {
    pub fn deadline(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// A request carrying this command's deadline.
    pub fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.set_timeout(self.deadline());
        request
    }

    /// Connects (within the deadline) and returns a channel that authenticates every call.
    pub async fn connect(&self) -> Result<(Channel, Bearer), Failure> {
        let token = self.token.as_deref().unwrap_or_default().trim();
        if token.is_empty() {
            return Err(Failure {
                message: "no token: pass --token or set PORTAL_TOKEN".into(),
                code: exit::USAGE,
            });
        }
        let bearer = AsciiMetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Failure::new("the token has characters a header cannot carry"))?;
        let channel = Endpoint::from_shared(self.endpoint.clone())
            .map_err(|e| Failure {
                message: format!("--endpoint {}: {e}", self.endpoint),
                code: exit::USAGE,
            })?
            .connect_timeout(self.deadline())
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(|e| Failure::new(format!("connecting to {}: {e}", self.endpoint)))?;
        Ok((channel, Bearer(bearer)))
    }
}

/// Prints a JSON document on stdout.
pub fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("portal: printing JSON: {e}"),
    }
}

/// Parses an enum value the way people write it: `server`, `SERVER`, `prep-builder`, or the proto name
/// `PRODUCT_SERVER`.
pub fn enum_value<E>(
    what: &str,
    prefix: &str,
    text: &str,
    from_name: impl Fn(&str) -> Option<E>,
) -> Result<E, String> {
    let upper = text.trim().to_ascii_uppercase().replace(['-', ' '], "_");
    let full = if upper.starts_with(prefix) {
        upper
    } else {
        format!("{prefix}{upper}")
    };
    from_name(&full)
        .filter(|_| !full.ends_with("_UNSPECIFIED"))
        .ok_or_else(|| format!("{what} {text:?} is not one of the suite's"))
}

/// The display name of a proto enum value: `PRODUCT_PREP_BUILDER` → `prep-builder`.
pub fn enum_name(proto_name: &str, prefix: &str) -> String {
    proto_name
        .strip_prefix(prefix)
        .unwrap_or(proto_name)
        .to_ascii_lowercase()
        .replace('_', "-")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use portal_proto::common::Product;

    use super::*;

    #[test]
    fn enum_values_are_read_as_people_write_them() {
        for text in ["server", "SERVER", "PRODUCT_SERVER", " Server "] {
            assert_eq!(
                enum_value("product", "PRODUCT_", text, Product::from_str_name),
                Ok(Product::Server)
            );
        }
        assert_eq!(
            enum_value(
                "product",
                "PRODUCT_",
                "prep-builder",
                Product::from_str_name
            ),
            Ok(Product::PrepBuilder)
        );
        assert!(enum_value("product", "PRODUCT_", "unspecified", Product::from_str_name).is_err());
        assert!(enum_value("product", "PRODUCT_", "toaster", Product::from_str_name).is_err());
        assert_eq!(
            enum_name("PRODUCT_PREP_BUILDER", "PRODUCT_"),
            "prep-builder"
        );
    }
}
