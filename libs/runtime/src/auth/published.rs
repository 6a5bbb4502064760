//! The suite's own public keys as a JSON Web Key Set (RFC 7517), served at `/.well-known/jwks.json` so that
//! anyone can verify what the suite signs: the tokens it mints and licensing's authorizations to run (L9). Each
//! key is named by its RFC 7638 thumbprint, the same `kid` the tokens carry in their header and grants in
//! `signing_key_id`; keys rotated out stay listed (`auth.previous_public_key_files`,
//! `licensing.previous_grant_public_key_files`) until what they signed has expired.

use std::path::Path;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bytes::Bytes;
use ed25519_dalek::VerifyingKey;
use http_body_util::Full;

use super::{KeyError, keyfile, keyfile::key_id};
use crate::Settings;

/// The JWKS document of the suite's public keys, built once at start (a rotation restarts the processes).
#[derive(Debug, Clone)]
pub struct PublishedKeys {
    document: Bytes,
    key_ids: Vec<String>,
}

impl PublishedKeys {
    /// Where it is served.
    pub const PATH: &'static str = "/.well-known/jwks.json";
    pub const CONTENT_TYPE: &'static str = "application/json";
    /// Short, so that a key added by a rotation reaches caching verifiers within minutes (and one that meets a
    /// `kid` it does not know fetches the set again anyway).
    pub const CACHE_CONTROL: &'static str = "public, max-age=300";

    /// The set of `keys` in this order, each once.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        let mut key_ids = Vec::new();
        let mut jwks = Vec::new();
        for key in keys {
            let kid = key_id(&key);
            if key_ids.contains(&kid) {
                continue;
            }
            jwks.push(serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(key.as_bytes()),
                "kid": kid,
                "use": "sig",
                "alg": "EdDSA",
            }));
            key_ids.push(kid);
        }
        let document = serde_json::json!({ "keys": jwks }).to_string();
        Self {
            document: Bytes::from(document),
            key_ids,
        }
    }

    /// What this deployment signs with: the token-signing key and the token-signing keys rotated out, then
    /// licensing's grant-signing key and the grant-signing keys rotated out. The grant-signing key is listed when
    /// it is configured, or when the data directory has one (a process that does not run licensing may not).
    pub fn from_settings(settings: &Settings) -> Result<Self, KeyError> {
        let mut keys =
            vec![keyfile::read_signing_key(&settings.signing_key_file())?.verifying_key()];
        keys.extend(read_public(&settings.auth.previous_public_key_files)?);
        let grants = settings.grant_signing_key_file();
        if settings.licensing.grant_signing_key_file.is_some() || grants.exists() {
            keys.push(keyfile::read_signing_key(&grants)?.verifying_key());
        }
        keys.extend(read_public(
            &settings.licensing.previous_grant_public_key_files,
        )?);
        Ok(Self::new(keys))
    }

    /// The `kid`s listed, in order.
    pub fn key_ids(&self) -> &[String] {
        &self.key_ids
    }

    /// The JSON document: `{"keys":[{"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"use":"sig","alg":"EdDSA"},…]}`.
    pub fn document(&self) -> Bytes {
        self.document.clone()
    }

    /// The HTTP answer to `GET` [`Self::PATH`]: the document with its content type and cache lifetime.
    pub fn response(&self) -> http::Response<Full<Bytes>> {
        use http::{HeaderValue, header};
        let mut response = http::Response::new(Full::new(self.document()));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(Self::CONTENT_TYPE),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(Self::CACHE_CONTROL),
        );
        response
    }
}

fn read_public(files: &[impl AsRef<Path>]) -> Result<Vec<VerifyingKey>, KeyError> {
    files
        .iter()
        .map(|f| keyfile::read_verifying_key(f.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use ed25519_dalek::SigningKey;
    use jsonwebtoken::jwk::{JwkSet, ThumbprintHash};

    use super::*;

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 8037 Appendix A.2/A.3: the Ed25519 example key and its thumbprint.
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        let public = VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();
        assert_eq!(
            key_id(&public),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn the_set_lists_each_key_once_as_a_jwk_other_libraries_read() {
        let (a, b) = (
            SigningKey::generate(&mut rand::rngs::OsRng).verifying_key(),
            SigningKey::generate(&mut rand::rngs::OsRng).verifying_key(),
        );
        let published = PublishedKeys::new([a, b, a]);
        assert_eq!(published.key_ids(), [key_id(&a), key_id(&b)]);
        let set: JwkSet = serde_json::from_slice(&published.document()).unwrap();
        assert_eq!(set.keys.len(), 2);
        for (jwk, key) in set.keys.iter().zip([a, b]) {
            // jsonwebtoken's own thumbprint of the JWK as it reads it agrees with the kid.
            assert_eq!(
                jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
                key_id(&key)
            );
            assert_eq!(jwk.common.key_id.as_deref(), Some(key_id(&key).as_str()));
            let value = serde_json::to_value(jwk).unwrap();
            assert_eq!(
                (&value["use"], &value["alg"], &value["kty"], &value["crv"]),
                (
                    &serde_json::json!("sig"),
                    &serde_json::json!("EdDSA"),
                    &serde_json::json!("OKP"),
                    &serde_json::json!("Ed25519")
                )
            );
        }
        let response = published.response();
        assert_eq!(
            response.headers()[http::header::CONTENT_TYPE],
            "application/json"
        );
        assert!(
            response.headers()[http::header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("max-age=")
        );
    }

    #[test]
    fn a_deployment_publishes_its_signing_keys_and_the_ones_rotated_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings {
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        };
        let current = keyfile::create_signing_key(&settings.signing_key_file()).unwrap();
        let published = PublishedKeys::from_settings(&settings).unwrap();
        assert_eq!(
            published.key_ids(),
            [key_id(&current.verifying_key())],
            "no grant-signing key in the data directory yet: only the token key"
        );

        let old = dir.path().join("old.pem");
        let old_public = keyfile::ensure_signing_key(&old).unwrap();
        let grants = keyfile::create_signing_key(&settings.grant_signing_key_file()).unwrap();
        let old_grants = dir.path().join("old-grants.pem");
        let old_grants_public = keyfile::ensure_signing_key(&old_grants).unwrap();
        settings.auth.previous_public_key_files = vec![old_public.clone()];
        settings.licensing.previous_grant_public_key_files = vec![old_grants_public];
        let published = PublishedKeys::from_settings(&settings).unwrap();
        let kid = |path: &Path| key_id(&keyfile::read_signing_key(path).unwrap().verifying_key());
        assert_eq!(
            published.key_ids(),
            [
                key_id(&current.verifying_key()),
                kid(&old),
                key_id(&grants.verifying_key()),
                kid(&old_grants),
            ]
        );

        // A configured grant-signing key must be there; a previous key must be an Ed25519 public key.
        settings.licensing.grant_signing_key_file = Some(dir.path().join("missing.pem"));
        assert!(PublishedKeys::from_settings(&settings).is_err());
        settings.licensing.grant_signing_key_file = None;
        settings.auth.previous_public_key_files = vec![old];
        assert!(PublishedKeys::from_settings(&settings).is_err());
    }
}
