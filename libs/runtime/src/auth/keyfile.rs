//! Ed25519 key files, as other tools read them: the private key as PKCS#8 v1 PEM (RFC 8410 §7: the private key
//! only, what `openssl genpkey -algorithm ed25519` writes), readable by this user only, and its public half beside
//! it as SubjectPublicKeyInfo PEM (`<stem>.pub.pem`). Files earlier versions wrote, PKCS#8 v2 with the public key
//! inside (RFC 5958), which OpenSSL 3.0 and Python's `cryptography` refuse, keep loading.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use ed25519_dalek::{
    SigningKey, VerifyingKey,
    pkcs8::{
        DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
        spki::der::pem::LineEnding,
    },
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use sha2::{Digest, Sha256};

use super::{KeyError, KeyKind};

/// A key's `kid`: its RFC 7638 JWK thumbprint, the base64url SHA-256 of `{"crv":"Ed25519","kty":"OKP","x":"…"}`
/// (the required members in lexicographic order, no white space). The same key gets the same `kid` wherever it is
/// computed, so verifiers may keep it.
pub fn key_id(public: &VerifyingKey) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public.as_bytes())
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Creates an Ed25519 key pair at `private` and `<private stem>.pub.pem` unless `private` exists (then only a
/// missing public half is written). Returns the public key's path.
pub fn ensure_signing_key(private: &Path) -> Result<PathBuf, KeyError> {
    let public = public_key_path(private);
    let key = if private.exists() {
        if public.exists() {
            return Ok(public);
        }
        read_signing_key(private)?
    } else {
        create_signing_key(private)?
    };
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    fs::write(&public, pem).map_err(|source| KeyError::Io {
        path: public.clone(),
        source,
    })?;
    Ok(public)
}

/// Creates a new Ed25519 private key at `path` (PKCS#8 v1 PEM, mode 0600, and its directory if missing); an
/// existing file is never replaced.
pub fn create_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io {
        path: path.into(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = pkcs8_v1(&key)
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    write_private(path, pem.as_bytes()).map_err(io)?;
    Ok(key)
}

/// The private key as PKCS#8 v1 DER (RFC 8410 §7), the form every library reads.
pub(super) fn private_key_der(key: &SigningKey) -> Result<Vec<u8>, KeyError> {
    pkcs8_v1(key)
        .to_pkcs8_der()
        .map(|der| der.as_bytes().to_vec())
        .map_err(|e| KeyError::Generate(e.to_string()))
}

/// The private key alone: no public key, so the version is v1.
fn pkcs8_v1(key: &SigningKey) -> KeypairBytes {
    KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    }
}

/// Reads an Ed25519 private key from a PKCS#8 PEM file, v1 or v2.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let pem = read(path)?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::NotEd25519 {
        path: path.into(),
        what: "PKCS#8 private key",
    })
}

/// Reads an Ed25519 public key from a SubjectPublicKeyInfo PEM file (`-----BEGIN PUBLIC KEY-----`).
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let pem = read(path)?;
    VerifyingKey::from_public_key_pem(&pem).map_err(|_| KeyError::NotEd25519 {
        path: path.into(),
        what: "public key",
    })
}

fn read(path: &Path) -> Result<String, KeyError> {
    fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })
}

/// `signing-key.pem` → `signing-key.pub.pem`.
pub fn public_key_path(private: &Path) -> PathBuf {
    let stem = private
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("signing-key");
    private.with_file_name(format!("{stem}.pub.pem"))
}

/// Writes a new private key file readable by this user only (mode 0600), creating its directory if missing; an
/// existing file is never replaced.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    write_private(path, bytes)
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

/// A PEM public key tokens are verified with.
pub(super) struct PemKey {
    pub(super) kind: KeyKind,
    pub(super) key: DecodingKey,
    /// The `kid` the suite's own tokens signed by this key carry (Ed25519 keys only).
    pub(super) kid: Option<String>,
}

/// Reads a PEM public key tokens are verified with: Ed25519 or RSA.
pub(super) fn read_public_key(path: &Path) -> Result<PemKey, KeyError> {
    let pem = fs::read(path).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })?;
    if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
        let kid = std::str::from_utf8(&pem)
            .ok()
            .and_then(|pem| VerifyingKey::from_public_key_pem(pem).ok())
            .map(|public| key_id(&public));
        return Ok(PemKey {
            kind: KeyKind::Ed25519,
            key,
            kid,
        });
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        return Ok(PemKey {
            kind: KeyKind::Rsa,
            key,
            kid: None,
        });
    }
    Err(KeyError::Format { path: path.into() })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use ed25519_dalek::pkcs8::spki::der::pem;

    use super::*;

    /// The DER of a PEM private key file.
    fn der(path: &Path) -> Vec<u8> {
        let text = fs::read_to_string(path).unwrap();
        let (label, der) = pem::decode_vec(text.as_bytes()).unwrap();
        assert_eq!(label, "PRIVATE KEY");
        der
    }

    /// RFC 8410 §10.3: SEQUENCE { INTEGER 0 (v1), AlgorithmIdentifier { id-Ed25519 }, OCTET STRING { OCTET STRING
    /// (32 bytes) } } and nothing after: 48 bytes, the first 16 always these.
    const V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];

    #[test]
    fn a_new_key_is_pkcs8_v1_for_this_user_only_with_its_public_half_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("keys/signing-key.pem");
        let public = ensure_signing_key(&private).unwrap();
        assert_eq!(public, dir.path().join("keys/signing-key.pub.pem"));
        let der = der(&private);
        assert_eq!((der.len(), &der[..16]), (48, &V1_PREFIX[..]), "RFC 8410 §7");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let key = read_signing_key(&private).unwrap();
        assert_eq!(der[16..], key.to_bytes());
        assert_eq!(read_verifying_key(&public).unwrap(), key.verifying_key());
        assert!(
            fs::read_to_string(&public)
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
    }

    #[test]
    fn pkcs8_v2_files_earlier_versions_wrote_keep_loading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.pem");
        // What every earlier version wrote: the public key inside the private key's file.
        let old = SigningKey::generate(&mut rand::rngs::OsRng);
        fs::write(&path, old.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
        let der = der(&path);
        assert_eq!(&der[2..5], [0x02, 0x01, 0x01], "version 1: v2, RFC 5958");
        assert_eq!(read_signing_key(&path).unwrap().to_bytes(), old.to_bytes());
        // Loading is all it does: the file is left as it was, and its missing public half is written.
        let before = fs::read(&path).unwrap();
        let public = ensure_signing_key(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(read_verifying_key(&public).unwrap(), old.verifying_key());
    }

    #[test]
    fn an_existing_key_is_never_replaced_and_other_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("k.pem");
        ensure_signing_key(&private).unwrap();
        let first = fs::read(&private).unwrap();
        ensure_signing_key(&private).unwrap();
        assert_eq!(first, fs::read(&private).unwrap());
        assert!(create_signing_key(&private).is_err());
        assert_eq!(fs::read(&private).unwrap(), first);
        let public = public_key_path(&private);
        let err = read_signing_key(&public).unwrap_err().to_string();
        assert!(
            err.contains("k.pub.pem") && err.contains("not an Ed25519"),
            "{err}"
        );
        assert!(read_verifying_key(&private).is_err());
    }
}
