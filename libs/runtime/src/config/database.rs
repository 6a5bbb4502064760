//! Where the database is and how long to wait on it.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://…` or `postgres://…`; unset means one SQLite file per service in the data directory.
    pub url: Option<SecretString>,
    /// Pool size per service; unset: 4 on SQLite (one writer at a time, and each connection is a thread with
    /// its own page cache), 16 on PostgreSQL.
    pub max_connections: Option<u32>,
    /// Apply pending migrations when a service starts (the Kubernetes overlays run `portal migrate` instead).
    pub auto_migrate: bool,
    /// PostgreSQL: how long a statement waits for a connection — a free one from the pool, pinged, or a new one
    /// — before the call is `UNAVAILABLE`. A server that stops answering without refusing is found out this
    /// fast. (A SQLite file cannot stop answering: there a connection is only busy, and waits as long as the
    /// file's lock, its busy timeout.)
    pub acquire_timeout_ms: u64,
    /// PostgreSQL: the longest one statement runs before the server cancels it (`statement_timeout`) and the
    /// call is `UNAVAILABLE`, so that a statement stuck behind a lock gives its connection back. Migrations run
    /// without it.
    pub statement_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: None,
            auto_migrate: true,
            acquire_timeout_ms: 2_000,
            statement_timeout_ms: 5_000,
        }
    }
}

impl DatabaseSettings {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }

    pub fn statement_timeout(&self) -> Duration {
        Duration::from_millis(self.statement_timeout_ms)
    }
}
