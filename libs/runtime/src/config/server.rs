//! The server's timeouts, load shedding, drain and CORS.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Upper bound on one RPC (a shorter `grpc-timeout` from the client wins).
    pub request_timeout_ms: u64,
    /// RPCs served at once; beyond it callers get `RESOURCE_EXHAUSTED` at once.
    pub concurrency_limit: usize,
    /// Responses open at once in this process, server streams included (a stream stays open until it ends);
    /// beyond it callers get `RESOURCE_EXHAUSTED` at once.
    pub stream_limit: usize,
    /// Concurrent HTTP/2 streams one client connection may open (SETTINGS_MAX_CONCURRENT_STREAMS); clients
    /// queue the rest.
    pub max_streams_per_connection: u32,
    /// Time between reporting NOT_SERVING and closing the listener, so load balancers notice.
    pub shutdown_delay_ms: u64,
    /// How long in-flight RPCs may run after shutdown starts.
    pub drain_timeout_secs: u64,
    /// Deadline on every call this process makes to another service.
    pub client_timeout_ms: u64,
    /// Origins (`https://portal.example.com`) whose browser pages may call the services with gRPC-Web; `*`
    /// allows any page. None by default.
    pub cors_allowed_origins: Vec<String>,
    /// Calls one principal (a token's subject) may have open at once, server streams included, so that no
    /// caller can take the whole concurrency or open-stream limit; beyond it `RESOURCE_EXHAUSTED` at once.
    pub principal_share: usize,
    /// How long a call's request message may take to arrive once its headers have; a slower one is cut
    /// (`DEADLINE_EXCEEDED`) and gives back what it held.
    pub request_read_timeout_ms: u64,
    /// A connection nothing has been read from for this long is closed (one that sent nothing, or stalled
    /// half-way through a frame); must exceed the keepalive interval, whose answered pings keep live ones open.
    pub idle_timeout_secs: u64,
    /// HTTP/2 keepalive: a PING after this long without traffic; a peer that does not answer within the
    /// keepalive timeout is disconnected.
    pub keepalive_interval_secs: u64,
    pub keepalive_timeout_secs: u64,
    /// The largest header block an HTTP/2 request may carry; anything under it gets a gRPC status, above it the
    /// stream is reset.
    pub max_header_list_bytes: u32,
    /// The longest bearer token accepted; a longer one is `UNAUTHENTICATED` (`TOKEN_TOO_LARGE`).
    pub max_token_bytes: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            request_timeout_ms: 30_000,
            concurrency_limit: 512,
            stream_limit: 1024,
            max_streams_per_connection: 128,
            shutdown_delay_ms: 0,
            drain_timeout_secs: 20,
            client_timeout_ms: 5_000,
            cors_allowed_origins: Vec::new(),
            principal_share: 128,
            request_read_timeout_ms: 5_000,
            idle_timeout_secs: 60,
            keepalive_interval_secs: 20,
            keepalive_timeout_secs: 10,
            max_header_list_bytes: 256 * 1024,
            max_token_bytes: 16 * 1024,
        }
    }
}

impl ServerSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
    pub fn shutdown_delay(&self) -> Duration {
        Duration::from_millis(self.shutdown_delay_ms)
    }
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }
    pub fn client_timeout(&self) -> Duration {
        Duration::from_millis(self.client_timeout_ms)
    }
    pub fn request_read_timeout(&self) -> Duration {
        Duration::from_millis(self.request_read_timeout_ms)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }
    pub fn keepalive_interval(&self) -> Duration {
        Duration::from_secs(self.keepalive_interval_secs)
    }
    pub fn keepalive_timeout(&self) -> Duration {
        Duration::from_secs(self.keepalive_timeout_secs)
    }
}
