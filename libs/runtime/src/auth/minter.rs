//! Minting tokens (service-to-service calls, `portal token`) and the Ed25519 key files they are signed with.

use std::{
    fs, io,
    path::{Path, PathBuf},
    time::Duration,
};

use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::{Audience, Claims, KeyError, unix_now};

/// Signs tokens with an Ed25519 private key.
#[derive(Clone)]
pub struct Minter {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Minter {
    pub fn from_file(path: &Path, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        let pem = fs::read(path).map_err(|source| KeyError::Io {
            path: path.into(),
            source,
        })?;
        let key =
            EncodingKey::from_ed_pem(&pem).map_err(|_| KeyError::Format { path: path.into() })?;
        Ok(Self {
            key,
            issuer: issuer.into(),
            audience: audience.into(),
        })
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
        // Signing with a key that parsed as Ed25519 cannot fail; an empty string would be refused downstream.
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key).unwrap_or_default()
    }
}

/// Creates an Ed25519 key pair at `private` (mode 0600) and `<private stem>.pub.pem` unless `private` exists.
/// Returns the public key's path.
pub fn ensure_signing_key(private: &Path) -> Result<PathBuf, KeyError> {
    let public = public_key_path(private);
    if private.exists() {
        return Ok(public);
    }
    let io = |source| KeyError::Io {
        path: private.into(),
        source,
    };
    if let Some(dir) = private.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let private_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    write_private(private, private_pem.as_bytes()).map_err(io)?;
    fs::write(&public, public_pem).map_err(|source| KeyError::Io {
        path: public.clone(),
        source,
    })?;
    Ok(public)
}

/// `signing-key.pem` → `signing-key.pub.pem`.
pub fn public_key_path(private: &Path) -> PathBuf {
    let stem = private
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("signing-key");
    private.with_file_name(format!("{stem}.pub.pem"))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::write(path, bytes)
}
