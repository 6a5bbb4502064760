//! N13: DKIM (RFC 6376). The key is a PEM file, like the token signing key: Ed25519 (RFC 8463, PKCS#8, what
//! `openssl genpkey -algorithm ed25519` writes) or RSA (PKCS#1 or PKCS#8, what `openssl genrsa` writes). The
//! embedded default creates an Ed25519 key on first start. Signing itself is lettre's; this module reads the key,
//! says which headers are signed, and prints the DNS record that publishes the public half.

use std::path::Path;

use base64::{Engine, engine::general_purpose::STANDARD};
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use lettre::message::{
    dkim::{
        DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
        DkimSigningKey,
    },
    header::HeaderName,
};
use rsa::{
    RsaPrivateKey,
    pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _},
    pkcs8::{EncodePublicKey as _, LineEnding},
    traits::PublicKeyParts as _,
};

use super::MailError;

/// RSA keys shorter than this are refused (RFC 8301 §3.2: verifiers must not accept fewer than 1024 bits).
const MIN_RSA_BITS: usize = 1024;

/// The headers every signature covers: who, what, when, which message, and that it was sent automatically.
/// Not `Content-Type`: lettre writes a multipart body's `Content-Type` with the body, outside the headers its
/// signer sees, so it would sign the header as absent and every verifier would fail the mail (found by the
/// independent verifier in `services/portal/tests/mail.rs`). The body hash covers the MIME structure anyway.
const SIGNED: [&str; 7] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Auto-Submitted",
];

/// A DKIM private key as read from its file.
#[derive(Debug)]
pub struct DkimKey {
    algorithm: DkimSigningAlgorithm,
    /// The private key as lettre takes it: PKCS#1 PEM (RSA) or the base64 secret bytes (Ed25519).
    private: String,
    /// The public key as the DNS record's `p=` carries it: SubjectPublicKeyInfo (RSA), raw bytes (Ed25519).
    public: String,
}

impl DkimKey {
    /// Reads the PEM key at `path`.
    pub fn from_file(path: &Path) -> Result<Self, MailError> {
        let failed = |why: String| MailError::Dkim(format!("{}: {why}", path.display()));
        let pem = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        Self::from_pem(&pem).map_err(failed)
    }

    fn from_pem(pem: &str) -> Result<Self, String> {
        if pem.contains("BEGIN RSA PRIVATE KEY") {
            let key = RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| e.to_string())?;
            return Self::rsa(&key);
        }
        if !pem.contains("BEGIN PRIVATE KEY") {
            return Err(
                "not a PEM private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`)".into(),
            );
        }
        if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            return Ok(Self {
                algorithm: DkimSigningAlgorithm::Ed25519,
                private: STANDARD.encode(key.to_bytes()),
                public: STANDARD.encode(key.verifying_key().to_bytes()),
            });
        }
        let key = <RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_pem(pem)
            .map_err(|e| format!("neither an Ed25519 nor an RSA key: {e}"))?;
        Self::rsa(&key)
    }

    fn rsa(key: &RsaPrivateKey) -> Result<Self, String> {
        let bits = key.size() * 8;
        if bits < MIN_RSA_BITS {
            return Err(format!(
                "an RSA key of {bits} bits; DKIM needs at least {MIN_RSA_BITS}"
            ));
        }
        let private = key
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?
            .to_string();
        let public = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            algorithm: DkimSigningAlgorithm::Rsa,
            private,
            public: STANDARD.encode(public.as_bytes()),
        })
    }

    /// `ed25519` or `rsa`, as the record's `k=` says it.
    pub fn key_type(&self) -> &'static str {
        match self.algorithm {
            DkimSigningAlgorithm::Ed25519 => "ed25519",
            DkimSigningAlgorithm::Rsa => "rsa",
        }
    }

    /// N13: the TXT record to publish at `<selector>._domainkey.<domain>`.
    pub fn dns_record(&self) -> String {
        format!("v=DKIM1; k={}; p={}", self.key_type(), self.public)
    }

    /// How the mailer signs: relaxed canonicalization of headers and body, which survives relays that rewrap
    /// headers or trailing whitespace.
    pub(super) fn config(&self, domain: &str, selector: &str) -> Result<DkimConfig, MailError> {
        let key = DkimSigningKey::new(&self.private, self.algorithm)
            .map_err(|e| MailError::Dkim(e.to_string()))?;
        Ok(DkimConfig::new(
            selector.to_string(),
            domain.to_string(),
            key,
            SIGNED
                .into_iter()
                .map(HeaderName::new_from_ascii_str)
                .collect(),
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        ))
    }
}

/// Creates an Ed25519 DKIM key at `path` unless one is there: PKCS#8 v1 PEM, readable by this user only, written
/// as the suite writes its other keys (`portal_runtime::auth::create_signing_key`).
pub fn ensure_key(path: &Path) -> Result<(), MailError> {
    if path.exists() {
        return Ok(());
    }
    portal_runtime::auth::create_signing_key(path)
        .map(drop)
        .map_err(|e| MailError::Dkim(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn n13_an_ed25519_key_is_created_once_and_published_raw() {
        let dir = std::env::temp_dir().join(portal_runtime::new_id("dkim"));
        let path = dir.join("dkim-key.pem");
        ensure_key(&path).unwrap();
        let first = std::fs::read(&path).unwrap();
        ensure_key(&path).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            first,
            "an existing key is kept"
        );
        // PKCS#8 v1 (RFC 8410 §7), as `openssl genpkey -algorithm ed25519` writes it: 48 bytes, version 0.
        let pem = String::from_utf8(first).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body).unwrap();
        assert_eq!((der.len(), &der[2..5]), (48, &[0x02, 0x01, 0x00][..]));
        let key = DkimKey::from_file(&path).unwrap();
        assert_eq!(key.key_type(), "ed25519");
        let record = key.dns_record();
        let p = record.rsplit_once("p=").unwrap().1;
        assert_eq!(
            STANDARD.decode(p).unwrap().len(),
            32,
            "RFC 8463: the raw public key"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn n13_rsa_keys_are_read_as_pkcs1_or_pkcs8_and_short_ones_refused() {
        use rsa::pkcs8::EncodePrivateKey as _;
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pkcs1 = key.to_pkcs1_pem(LineEnding::LF).unwrap();
        let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let a = DkimKey::from_pem(&pkcs1).unwrap();
        let b = DkimKey::from_pem(&pkcs8).unwrap();
        assert_eq!(a.key_type(), "rsa");
        assert_eq!(a.dns_record(), b.dns_record());
        let short = RsaPrivateKey::new(&mut rand::rngs::OsRng, 512).unwrap();
        let err = DkimKey::from_pem(&short.to_pkcs1_pem(LineEnding::LF).unwrap()).unwrap_err();
        assert!(err.contains("512 bits"), "{err}");
        assert!(DkimKey::from_pem("hello").is_err());
    }
}
