//! Minting tokens (service-to-service calls, `portal token`), signed with the Ed25519 key of a key file
//! ([`super::keyfile`]); each names its key (`kid`) as the suite's JWKS does ([`super::keyfile::key_id`]).

use std::{path::Path, time::Duration};

use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::{Audience, Claims, KeyError, keyfile, unix_now};

/// Signs tokens with an Ed25519 private key.
#[derive(Clone)]
pub struct Minter {
    key: EncodingKey,
    kid: String,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Minter {
    /// Signs with the key in the PEM file at `path` (PKCS#8, v1 or v2).
    pub fn from_file(path: &Path, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        Self::from_key(&keyfile::read_signing_key(path)?, issuer, audience)
    }

    pub fn from_key(key: &SigningKey, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        Ok(Self {
            key: EncodingKey::from_ed_der(&keyfile::private_key_der(key)?),
            kid: keyfile::key_id(&key.verifying_key()),
            issuer: issuer.into(),
            audience: audience.into(),
        })
    }

    /// The `kid` every token carries: the key's RFC 7638 thumbprint, as the suite's JWKS lists it.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A token acting for portal user `user_id`.
    pub fn user(&self, user_id: &str, ttl: Duration) -> String {
        self.mint(user_id.to_string(), None, ttl)
    }

    /// A token for service principal `svc:<name>` with space-separated `scopes`.
    pub fn service(&self, name: &str, scopes: &str, ttl: Duration) -> String {
        self.mint(format!("svc:{name}"), Some(scopes.to_string()), ttl)
    }

    pub(super) fn mint(&self, sub: String, scope: Option<String>, ttl: Duration) -> String {
        let now = unix_now();
        let claims = Claims {
            sub,
            iss: self.issuer.clone(),
            aud: Audience::One(self.audience.clone()),
            iat: now,
            exp: now + ttl.as_secs(),
            nbf: None,
            scope,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        // Signing with a key that parsed as Ed25519 cannot fail; an empty string would be refused downstream.
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap_or_default()
    }
}
