//! N15: the CSAF provider's OpenPGP key. It is a file like the suite's other keys
//! (`notification.public.openpgp_key_file`: an ASCII-armored secret key without a passphrase, readable by this
//! user only; created on the embedded default's first start when none is configured). Each distributed document
//! is published with a detached, armored signature made with it, and its public half is served with its
//! fingerprint in the provider metadata. A v4 Ed25519 key (RFC 4880bis "EdDSALegacy"), which GnuPG 2.2 and every
//! CSAF downloader read.

use std::{io::Cursor, path::Path};

use chrono::{DateTime, Utc};
use pgp::{
    composed::{
        ArmorOptions, Deserializable, DetachedSignature, KeyType, SecretKeyParamsBuilder,
        SignedSecretKey,
    },
    crypto::hash::HashAlgorithm,
    types::{KeyDetails, Password},
};

use crate::domain::csaf::SigningKey;

/// Why the key could not be read, created or used.
#[derive(Debug, thiserror::Error)]
#[error("OpenPGP key {path}: {reason}")]
pub struct OpenPgpError {
    pub path: String,
    pub reason: String,
}

/// The provider's signing key: the secret key, and what is published of it.
pub struct OpenPgpKey {
    secret: SignedSecretKey,
    public_armored: String,
    published: SigningKey,
}

impl std::fmt::Debug for OpenPgpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenPgpKey")
            .field("fingerprint", &self.published.fingerprint)
            .finish_non_exhaustive()
    }
}

impl OpenPgpKey {
    /// A new key for `user_id` (e.g. `Example PSIRT <psirt@example.com>`).
    pub fn generate(user_id: &str) -> Result<Self, String> {
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.to_string())
            .build()
            .map_err(|e| e.to_string())?;
        let secret = params
            .generate(rand::rngs::OsRng)
            .map_err(|e| e.to_string())?;
        Self::from_secret(secret)
    }

    /// Creates a key at `path` unless a file is there (mode 0600, and its directory if missing).
    pub fn ensure(path: &Path, user_id: &str) -> Result<(), OpenPgpError> {
        if path.exists() {
            return Ok(());
        }
        let failed = |reason: String| OpenPgpError {
            path: path.display().to_string(),
            reason,
        };
        let key = Self::generate(user_id).map_err(failed)?;
        let armored = key
            .secret
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| failed(e.to_string()))?;
        portal_runtime::auth::write_private_file(path, armored.as_bytes())
            .map_err(|e| failed(e.to_string()))
    }

    /// Reads an armored secret key that can sign and needs no passphrase.
    pub fn from_file(path: &Path) -> Result<Self, OpenPgpError> {
        let failed = |reason: String| OpenPgpError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        let (secret, _) = SignedSecretKey::from_armor_single(Cursor::new(text.as_bytes()))
            .map_err(|e| failed(format!("not an armored OpenPGP secret key: {e}")))?;
        secret
            .verify_bindings()
            .map_err(|e| failed(format!("its self-signatures do not verify: {e}")))?;
        Self::from_secret(secret).map_err(failed)
    }

    fn from_secret(secret: SignedSecretKey) -> Result<Self, String> {
        let public_armored = secret
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| e.to_string())?;
        let created = DateTime::<Utc>::from_timestamp(
            i64::from(secret.primary_key.created_at().as_secs()),
            0,
        )
        .unwrap_or_default();
        let key = Self {
            published: SigningKey {
                fingerprint: format!("{:X}", secret.primary_key.fingerprint()),
                created,
            },
            secret,
            public_armored,
        };
        // A key that cannot sign (a passphrase, an encryption-only primary) is refused now, not on a request.
        key.sign(b"N15")?;
        Ok(key)
    }

    /// The fingerprint and creation time the provider metadata lists.
    pub fn published(&self) -> &SigningKey {
        &self.published
    }

    /// The public key, ASCII-armored, as `openpgp/<fingerprint>.asc` serves it.
    pub fn public_armored(&self) -> &str {
        &self.public_armored
    }

    /// N15: a detached, armored signature of `data` (SHA-512), as `<document>.asc` serves it.
    pub fn sign(&self, data: &[u8]) -> Result<String, String> {
        DetachedSignature::sign_binary_data(
            rand::rngs::OsRng,
            &self.secret.primary_key,
            &Password::empty(),
            HashAlgorithm::Sha512,
            data,
        )
        .and_then(|signature| signature.to_armored_string(ArmorOptions::default()))
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn n15_a_key_is_created_once_and_signs_what_its_public_half_verifies() {
        let dir = std::env::temp_dir().join(portal_runtime::new_id("openpgp"));
        let path = dir.join("csaf-openpgp-key.asc");
        OpenPgpKey::ensure(&path, "Example PSIRT <psirt@example.com>").unwrap();
        let first = std::fs::read(&path).unwrap();
        OpenPgpKey::ensure(&path, "someone else").unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            first,
            "an existing key is kept"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let key = OpenPgpKey::from_file(&path).unwrap();
        assert_eq!(key.published().fingerprint.len(), 40);
        assert!(
            key.public_armored()
                .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        );
        let data = br#"{"document": {}}"#;
        let armored = key.sign(data).unwrap();
        assert!(armored.starts_with("-----BEGIN PGP SIGNATURE-----"));

        let (public, _) =
            pgp::composed::SignedPublicKey::from_armor_single(Cursor::new(key.public_armored()))
                .unwrap();
        let (signature, _) = DetachedSignature::from_armor_single(Cursor::new(&armored)).unwrap();
        signature.verify(&public, data).unwrap();
        assert!(signature.verify(&public, b"{\"document\": 1}").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn n15_a_key_made_by_gnupg_is_read_with_gnupgs_fingerprint() {
        // `gpg --quick-gen-key '…' ed25519 sign never`, then `gpg --armor --export-secret-keys` (deploy/README.md).
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/kustomize/overlays/dev/dev-only-keys/csaf-openpgp.asc");
        let key = OpenPgpKey::from_file(&path).unwrap();
        assert_eq!(
            key.published().fingerprint,
            "A01E0FEA053B8D0FFF6E411BAF25A89F19C9B0A1"
        );
        assert!(key.sign(b"data").is_ok());
    }

    #[test]
    fn n15_a_file_that_is_not_a_secret_key_is_refused_with_its_path() {
        let dir = std::env::temp_dir().join(portal_runtime::new_id("openpgp"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.asc");
        std::fs::write(&path, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n").unwrap();
        let err = OpenPgpKey::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("key.asc") && err.contains("not an armored OpenPGP secret key"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
