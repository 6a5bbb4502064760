//! Keys from an identity provider's JSON Web Key Set (`auth.jwks_url`): fetched over HTTP(S) with a deadline,
//! selected by `kid`, refreshed periodically and when a token names a key not seen yet (at most once per
//! `min_refresh`), and served from each URL's last good set while its provider is down.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse},
};
use sha2::{Digest, Sha256};

use super::KeyKind;

/// A key set larger than this is refused: real ones are a few kilobytes.
const MAX_BODY: usize = 1024 * 1024;

/// Where the key sets are and how often they are fetched.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    pub urls: Vec<String>,
    /// Time between periodic refreshes.
    pub refresh: Duration,
    /// The least time between two fetches: a token naming an unknown `kid` triggers at most one per interval, and
    /// a provider that is down is retried this often.
    pub min_refresh: Duration,
    /// Deadline on one fetch (connect, headers and body).
    pub timeout: Duration,
}

/// One verification key from a key set.
#[derive(Clone)]
pub(super) struct Key {
    pub(super) kid: Option<String>,
    pub(super) kind: KeyKind,
    /// The algorithm the set pins this key to (`alg`), if any.
    pub(super) alg: Option<Algorithm>,
    pub(super) key: DecodingKey,
}

impl Key {
    pub(super) fn verifies(&self, alg: Algorithm) -> bool {
        self.kind.verifies(alg) && self.alg.is_none_or(|pinned| pinned == alg)
    }
}

/// What the set says about a `kid`.
pub(super) enum Lookup {
    Found(Vec<Key>),
    /// No fetched set has the key (and the provider answered the last fetch).
    Unknown,
    /// The key is not in any set we have, and the provider could not be asked: never fetched, or the last
    /// attempt failed.
    Unavailable(String),
}

struct Source {
    url: String,
    uri: http::Uri,
    /// The last good set and a digest of the document it came from; `None` until the first successful fetch.
    keys: Option<(Vec<Key>, [u8; 32])>,
    /// Why the last attempt failed, if it did.
    error: Option<String>,
}

struct State {
    sources: Vec<Source>,
    last_attempt: Option<Instant>,
    /// Changes whenever a set changes, so tokens verified against an older set are checked again.
    generation: u64,
}

/// The key sets of one or more identity providers.
pub struct Jwks {
    settings: JwksSettings,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    state: RwLock<State>,
    /// One fetch at a time: callers that find an unknown `kid` while one runs wait for it, then use its result.
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("urls", &self.settings.urls)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("auth.jwks_url {url}: {reason}")]
pub struct JwksError {
    url: String,
    reason: String,
}

impl Jwks {
    /// Checks the URLs; fetches nothing yet (see [`Jwks::spawn_refresh`] and [`Jwks::refresh`]).
    pub fn new(settings: JwksSettings) -> Result<Self, JwksError> {
        let sources = settings
            .urls
            .iter()
            .map(|url| {
                let invalid = |reason: &str| JwksError {
                    url: url.clone(),
                    reason: reason.into(),
                };
                let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
                match uri.scheme_str() {
                    Some("http" | "https") if uri.host().is_some() => Ok(Source {
                        url: url.clone(),
                        uri,
                        keys: None,
                        error: None,
                    }),
                    _ => Err(invalid("must be an http:// or https:// URL with a host")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The system's roots (a company CA included) when it has any, else the Mozilla roots built in.
        let builder = HttpsConnectorBuilder::new();
        let builder = match builder.with_native_roots() {
            Ok(native) => native,
            Err(_) => HttpsConnectorBuilder::new().with_webpki_roots(),
        };
        let connector = builder.https_or_http().enable_http1().build();
        Ok(Self {
            settings,
            client: Client::builder(TokioExecutor::new()).build(connector),
            state: RwLock::new(State {
                sources,
                last_attempt: None,
                generation: 0,
            }),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// Fetches every set now and then every `refresh` (every `min_refresh` while a provider is failing).
    pub fn spawn_refresh(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let jwks = self.clone();
        tokio::spawn(async move {
            loop {
                let healthy = jwks.refresh().await;
                let pause = if healthy {
                    jwks.settings.refresh
                } else {
                    jwks.settings.min_refresh
                };
                tokio::time::sleep(pause.max(Duration::from_secs(1))).await;
            }
        })
    }

    /// A counter that moves whenever a key set changes.
    pub(super) fn generation(&self) -> u64 {
        self.state.read().map_or(0, |s| s.generation)
    }

    /// The keys a token naming `kid` (or no `kid`: every key) may be verified with.
    pub(super) fn lookup(&self, kid: Option<&str>) -> Lookup {
        let Ok(state) = self.state.read() else {
            return Lookup::Unavailable("key set lock poisoned".into());
        };
        let found: Vec<Key> = state
            .sources
            .iter()
            .filter_map(|s| s.keys.as_ref())
            .flat_map(|(keys, _)| keys.iter())
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .cloned()
            .collect();
        if !found.is_empty() {
            return Lookup::Found(found);
        }
        // The key may be in a set we could not fetch.
        match state
            .sources
            .iter()
            .find(|s| s.keys.is_none() || s.error.is_some())
        {
            Some(source) => Lookup::Unavailable(
                source
                    .error
                    .clone()
                    .unwrap_or_else(|| format!("{}: not fetched yet", source.url)),
            ),
            None => Lookup::Unknown,
        }
    }

    /// For a token naming a `kid` no set has: fetches again unless a fetch started less than `min_refresh` ago.
    pub(super) async fn refresh_for_unknown_kid(&self) {
        let _one = self.fetching.lock().await;
        let recent = self
            .state
            .read()
            .ok()
            .and_then(|s| s.last_attempt)
            .is_some_and(|at| at.elapsed() < self.settings.min_refresh);
        if !recent {
            self.fetch_all().await;
        }
    }

    /// Fetches every set now; true when every provider answered with a usable set.
    pub async fn refresh(&self) -> bool {
        let _one = self.fetching.lock().await;
        self.fetch_all().await
    }

    async fn fetch_all(&self) -> bool {
        let uris: Vec<(String, http::Uri)> = match self.state.write() {
            Ok(mut state) => {
                state.last_attempt = Some(Instant::now());
                state
                    .sources
                    .iter()
                    .map(|s| (s.url.clone(), s.uri.clone()))
                    .collect()
            }
            Err(_) => return false,
        };
        let fetched =
            futures::future::join_all(uris.iter().map(|(_, uri)| self.fetch(uri.clone()))).await;
        let Ok(mut state) = self.state.write() else {
            return false;
        };
        let mut changed = false;
        let mut healthy = true;
        for (source, result) in state.sources.iter_mut().zip(fetched) {
            match result {
                Ok((keys, digest)) => {
                    if source.keys.as_ref().is_none_or(|(_, old)| *old != digest) {
                        tracing::info!(url = %source.url, keys = keys.len(), "fetched the identity provider's key set");
                        changed = true;
                    }
                    source.keys = Some((keys, digest));
                    source.error = None;
                }
                Err(reason) => {
                    // The last good set stays in use.
                    tracing::warn!(url = %source.url, error = %reason, kept = source.keys.is_some(), "could not fetch the identity provider's key set");
                    source.error = Some(format!("{}: {reason}", source.url));
                    healthy = false;
                }
            }
        }
        if changed {
            state.generation += 1;
        }
        healthy
    }

    async fn fetch(&self, uri: http::Uri) -> Result<(Vec<Key>, [u8; 32]), String> {
        let request = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let body = tokio::time::timeout(self.settings.timeout, async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            if response.status() != http::StatusCode::OK {
                return Err(format!("answered HTTP {}", response.status()));
            }
            Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .map_err(|e| format!("reading the body: {e}"))
        })
        .await
        .map_err(|_| format!("no answer within {:?}", self.settings.timeout))??;
        let keys = parse(&body)?;
        Ok((keys, Sha256::digest(&body).into()))
    }
}

/// The usable keys of a JWKS document. Keys for encryption, of other types (EC, HMAC `oct`) or that do not parse
/// are skipped: a set is still usable when the provider also publishes keys the suite does not accept.
fn parse(body: &[u8]) -> Result<Vec<Key>, String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON Web Key Set: {e}"))?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter_map(|jwk| key(&jwk))
        .collect())
}

fn key(jwk: &Jwk) -> Option<Key> {
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return None;
    }
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            KeyKind::Ed25519
        }
        _ => return None,
    };
    let alg = match jwk.common.key_algorithm {
        Some(alg) => Some(alg.to_string().parse::<Algorithm>().ok()?),
        None => None,
    };
    Some(Key {
        kid: jwk.common.key_id.clone(),
        kind,
        alg,
        key: DecodingKey::from_jwk(jwk).ok()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn unusable_keys_are_skipped_and_usable_ones_kept() {
        let body = serde_json::json!({ "keys": [
            { "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" },
            { "kty": "EC", "kid": "ec", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" },
            { "kty": "RSA", "kid": "enc", "use": "enc", "n": "sXch", "e": "AQAB" },
            { "kty": "OKP", "kid": "ed", "crv": "Ed25519", "alg": "EdDSA", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
            { "kty": "RSA", "kid": "rsa", "alg": "RS256", "n": "sXch", "e": "AQAB" },
            { "kty": "mystery", "kid": "new" },
        ]});
        let keys = parse(body.to_string().as_bytes()).unwrap();
        let kids: Vec<_> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, ["ed", "rsa"]);
        let rsa = &keys[1];
        assert!(rsa.verifies(Algorithm::RS256) && !rsa.verifies(Algorithm::PS256));
        assert!(!keys[0].verifies(Algorithm::RS256));
        assert!(parse(b"{\"nokeys\": []}").is_err());
    }

    #[test]
    fn a_url_must_be_http_or_https() {
        let settings = |url: &str| JwksSettings {
            urls: vec![url.into()],
            refresh: Duration::from_secs(300),
            min_refresh: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
        };
        assert!(Jwks::new(settings("ftp://idp.example/keys")).is_err());
        assert!(Jwks::new(settings("/keys")).is_err());
        assert!(Jwks::new(settings("https://idp.example/.well-known/jwks.json")).is_ok());
    }
}
