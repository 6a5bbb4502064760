//! L9: authorizations to run are signed with the service's Ed25519 key, so the desktop app verifies them
//! offline with the public key alone.

use std::path::Path;

use ed25519_dalek::{Signer, SigningKey, pkcs8::DecodePrivateKey};

/// Signs authorizations to run with the service's Ed25519 key; the desktop app verifies them offline with the
/// public key alone.
pub struct GrantSigner {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for GrantSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl GrantSigner {
    /// Loads the PEM key at `path`, creating it (and `<stem>.pub.pem`) when `create` is set and it is missing.
    pub fn load(path: &Path, create: bool) -> Result<Self, portal_runtime::auth::KeyError> {
        use portal_runtime::auth::KeyError;
        if create {
            portal_runtime::auth::ensure_signing_key(path)?;
        }
        let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.into(),
            source,
        })?;
        let key =
            SigningKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::Format { path: path.into() })?;
        Ok(Self::from_key(key))
    }

    pub fn from_key(key: SigningKey) -> Self {
        let public = key.verifying_key().to_bytes();
        let key_id = public[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self { key, key_id }
    }

    /// Identifies the verifying key (its first eight bytes, hex), so apps can hold several.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn sign(&self, grant: &[u8]) -> Vec<u8> {
        self.key.sign(grant).to_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use ed25519_dalek::{Signature, Verifier};

    use super::*;

    #[test]
    fn l9_grants_verify_with_the_public_key_and_tampering_fails() {
        let signer = GrantSigner::from_key(SigningKey::generate(&mut rand::rngs::OsRng));
        let grant = b"user=u1;product=DESKTOP;machine=m1";
        let signature = Signature::from_slice(&signer.sign(grant)).unwrap();
        let public = signer.key.verifying_key();
        assert!(public.verify(grant, &signature).is_ok());
        assert!(
            public
                .verify(b"user=u2;product=DESKTOP;machine=m1", &signature)
                .is_err()
        );
    }
}
