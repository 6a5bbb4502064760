//! Layered configuration: built-in defaults, then an optional file, then `PORTAL_*` environment variables
//! (`__` nests: `PORTAL_DATABASE__URL`), then command-line flags. Parsed into typed structs and validated once.

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

mod auth;
mod database;
mod licensing;
mod load;
mod notification;
mod peers;
mod server;
mod smtp;
mod telemetry;
mod validate;

pub use auth::AuthSettings;
pub use database::DatabaseSettings;
pub use licensing::LicensingSettings;
pub use load::Overrides;
pub use notification::{
    CsafProductSettings, CsafPublisherSettings, NotificationSettings, PublicSettings,
};
pub use peers::PeerSettings;
pub use server::ServerSettings;
pub use smtp::{DkimSettings, InboundSettings, SmtpSettings};
pub use telemetry::{LogFormat, TelemetrySettings};

/// Everything a portal process needs to know about its surroundings.
/// Unknown top-level keys are tolerated because Kubernetes injects `PORTAL_*_SERVICE_HOST`-style variables;
/// unknown keys inside a section are errors.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where the embedded default keeps its SQLite files, signing key and mail.
    pub data_dir: PathBuf,
    /// The gRPC address every service of this process answers on.
    pub listen: SocketAddr,
    /// Plain-HTTP admin address (`/metrics`); off when unset.
    pub admin_listen: Option<SocketAddr>,
    pub database: DatabaseSettings,
    pub smtp: SmtpSettings,
    pub auth: AuthSettings,
    pub server: ServerSettings,
    pub peers: PeerSettings,
    pub telemetry: TelemetrySettings,
    pub licensing: LicensingSettings,
    pub notification: NotificationSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("portal-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            admin_listen: None,
            database: DatabaseSettings::default(),
            smtp: SmtpSettings::default(),
            auth: AuthSettings::default(),
            server: ServerSettings::default(),
            peers: PeerSettings::default(),
            telemetry: TelemetrySettings::default(),
            licensing: LicensingSettings::default(),
            notification: NotificationSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl Settings {
    /// The signing key this process mints tokens with.
    pub fn signing_key_file(&self) -> PathBuf {
        self.auth
            .signing_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("signing-key.pem"))
    }

    /// N13: the DKIM private key every mail is signed with.
    pub fn dkim_key_file(&self) -> PathBuf {
        self.smtp
            .dkim
            .key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("dkim-key.pem"))
    }

    /// The public keys bearer tokens are verified against: the configured ones (or the data directory's own),
    /// and those of token-signing keys rotated out.
    pub fn public_key_files(&self) -> Vec<PathBuf> {
        let mut files = if self.auth.public_key_files.is_empty() {
            vec![self.data_dir.join("signing-key.pub.pem")]
        } else {
            self.auth.public_key_files.clone()
        };
        files.extend(self.auth.previous_public_key_files.iter().cloned());
        files
    }

    /// N15: the OpenPGP key the CSAF provider signs its documents with.
    pub fn openpgp_key_file(&self) -> PathBuf {
        self.notification
            .public
            .openpgp_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("csaf-openpgp-key.asc"))
    }

    /// The key licensing signs authorizations to run with (L9).
    pub fn grant_signing_key_file(&self) -> PathBuf {
        self.licensing
            .grant_signing_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("grant-signing-key.pem"))
    }
}
