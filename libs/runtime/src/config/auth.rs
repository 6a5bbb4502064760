//! Bearer tokens: the keys tokens are minted and verified with, JWKS sources and claim mapping.

use std::{path::PathBuf, time::Duration};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    /// Allowed clock skew when checking `exp`/`nbf`.
    pub leeway_secs: u64,
    /// PEM public keys (Ed25519 or RSA) that verify bearer tokens; empty means the data directory's own key.
    pub public_key_files: Vec<PathBuf>,
    /// PEM Ed25519 private key used to mint this process's service tokens; default `<data_dir>/signing-key.pem`.
    pub signing_key_file: Option<PathBuf>,
    /// PEM public keys of token-signing keys rotated out: still accepted, and published in the suite's JWKS, until
    /// the tokens they signed have expired.
    pub previous_public_key_files: Vec<PathBuf>,
    /// Lifetime of the service tokens this process mints for its own outbound calls.
    pub service_token_ttl_secs: u64,
    /// The longest lifetime (`exp - iat`) an accepted token may claim.
    pub max_token_lifetime_secs: u64,
    /// JSON Web Key Set URLs (one, or a list) of identity providers whose tokens are accepted besides the PEM
    /// keys; a token's `kid` selects the key.
    #[serde(deserialize_with = "one_or_many")]
    pub jwks_url: Vec<String>,
    /// Time between periodic refreshes of the key sets.
    pub jwks_refresh_secs: u64,
    /// The least time between two fetches: a token naming an unknown `kid` fetches at most this often, and a
    /// provider that is down is retried this often.
    pub jwks_min_refresh_secs: u64,
    /// Deadline on one key set fetch.
    pub jwks_timeout_ms: u64,
    /// The claim holding a portal user's id.
    pub user_id_claim: String,
    /// A claim whose presence makes a token a service principal named by its value; unset: only
    /// `sub = svc:<name>` does.
    pub service_name_claim: Option<String>,
    /// Claims holding a service's scopes (each a space-separated string or a list).
    pub scope_claims: Vec<String>,
}

impl AuthSettings {
    /// The key sets to fetch, if any URL is configured.
    pub fn jwks(&self) -> Option<crate::auth::JwksSettings> {
        (!self.jwks_url.is_empty()).then(|| crate::auth::JwksSettings {
            urls: self.jwks_url.clone(),
            refresh: Duration::from_secs(self.jwks_refresh_secs),
            min_refresh: Duration::from_secs(self.jwks_min_refresh_secs),
            timeout: Duration::from_millis(self.jwks_timeout_ms),
        })
    }

    /// Which claims name the principal.
    pub fn claims(&self) -> crate::auth::ClaimMapping {
        crate::auth::ClaimMapping {
            user_id: self.user_id_claim.clone(),
            service_name: self.service_name_claim.clone(),
            scopes: self.scope_claims.clone(),
        }
    }
}

/// A list that may also be written as a single string (`jwks_url = "https://…"`).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "portal".into(),
            audience: "portal".into(),
            leeway_secs: 30,
            public_key_files: Vec::new(),
            signing_key_file: None,
            previous_public_key_files: Vec::new(),
            service_token_ttl_secs: 300,
            max_token_lifetime_secs: crate::auth::MAX_TOKEN_LIFETIME.as_secs(),
            jwks_url: Vec::new(),
            jwks_refresh_secs: 300,
            jwks_min_refresh_secs: 10,
            jwks_timeout_ms: 5_000,
            user_id_claim: "sub".into(),
            service_name_claim: None,
            scope_claims: vec!["scope".into(), "scp".into()],
        }
    }
}
