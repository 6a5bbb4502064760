//! What every portal service shares: layered [`config`], [`telemetry`], the [`server`] bootstrap (health,
//! reflection, load shedding, drain), bearer-token [`auth`], the one [`error`] mapping, [`db`] connections and
//! shared [`migration`]s, the [`client`] side of service-to-service calls, [`cache`]s of a service's own data, and
//! the [`csv_cell`]s of the reports it writes.

pub mod audit;
pub mod auth;
pub mod cache;
pub mod client;
pub mod config;
pub mod context;
pub mod csv_cell;
pub mod db;
pub mod error;
pub mod framing;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod migration;
pub mod outbox;
pub mod paging;
pub mod seal;
pub mod server;
pub mod telemetry;
pub mod time;

pub use auth::Principal;
pub use config::Settings;
pub use context::CallContext;

/// A new resource id: `<prefix>-<UUIDv7>`, so ids sort by creation time (stable paging order).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}
