//! The licensing service's settings: the key it signs authorizations to run with (L9).

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LicensingSettings {
    /// How often term keys past their period end are marked EXPIRED (L7).
    pub expiry_sweep_secs: u64,
    /// PEM Ed25519 private key that signs authorizations to run (L9); default
    /// `<data_dir>/grant-signing-key.pem`, created on first start.
    pub grant_signing_key_file: Option<PathBuf>,
    /// PEM public keys of grant-signing keys rotated out, still published in the suite's JWKS until the grants
    /// they signed have expired.
    pub previous_grant_public_key_files: Vec<PathBuf>,
    /// How long an authorization to run is valid before the desktop app must check in again.
    pub grant_ttl_hours: u64,
}

impl Default for LicensingSettings {
    fn default() -> Self {
        Self {
            expiry_sweep_secs: 60,
            grant_signing_key_file: None,
            previous_grant_public_key_files: Vec::new(),
            grant_ttl_hours: 72,
        }
    }
}
