//! What every portal service shares: layered [`config`], [`telemetry`], the [`server`] bootstrap (health,
//! reflection, load shedding, drain), bearer-token [`auth`], the one [`error`] mapping, [`db`] connections and
//! shared [`migration`]s, and the [`client`] side of service-to-service calls.

pub mod auth;
pub mod client;
pub mod config;
pub mod db;
pub mod error;
pub mod migration;
pub mod server;
pub mod telemetry;

pub use auth::Principal;
pub use config::Settings;
