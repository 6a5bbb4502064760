//! Logs and traces: filter, format and the optional OTLP exporter.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `tracing_subscriber::EnvFilter` directives; `RUST_LOG` wins when set.
    pub log_filter: String,
    /// `json` (default) or `text`.
    pub log_format: LogFormat,
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`; traces are not exported when unset.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_filter: "info".into(),
            log_format: LogFormat::Json,
            otlp_endpoint: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}
