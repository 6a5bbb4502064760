//! L9: authorizations to run are signed with the service's Ed25519 key, so the desktop app verifies them
//! offline with the public key alone, which the suite publishes in its JWKS under the key's `kid`.

use std::path::Path;

use ed25519_dalek::{Signer, SigningKey};

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
    /// Loads the PEM key at `path` (PKCS#8, v1 or v2), creating it (and `<stem>.pub.pem`) when `create` is set
    /// and it is missing.
    pub fn load(path: &Path, create: bool) -> Result<Self, portal_runtime::auth::KeyError> {
        if create {
            portal_runtime::auth::ensure_signing_key(path)?;
        }
        let key = portal_runtime::auth::read_signing_key(path)?;
        Ok(Self::from_key(key))
    }

    pub fn from_key(key: SigningKey) -> Self {
        let key_id = portal_runtime::auth::key_id(&key.verifying_key());
        Self { key, key_id }
    }

    /// Identifies the verifying key, so apps can hold several across a rotation: its `kid` in the suite's JWKS
    /// (the RFC 7638 thumbprint).
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
        assert_eq!(signer.key_id(), portal_runtime::auth::key_id(&public));
        assert!(
            public
                .verify(b"user=u2;product=DESKTOP;machine=m1", &signature)
                .is_err()
        );
    }
}
