//! The verifier against an identity provider's key set served over HTTP by a local server: selection by `kid`,
//! key rotation, a provider that is down, and the rate limit on refreshes for unknown `kid`s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use base64::Engine;
use bytes::Bytes;
use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::Code;

use super::{Jwks, JwksSettings, Principal, Verifier, unix_now};
use crate::error::reason_of;

/// A local identity provider: serves whatever key set it was last told to (503 while "down") and counts fetches.
struct Provider {
    url: String,
    document: Arc<Mutex<Option<String>>>,
    fetches: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Provider {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let document = Arc::new(Mutex::new(None::<String>));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (doc, count) = (document.clone(), fetches.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (doc, count) = (doc.clone(), count.clone());
                let service = hyper::service::service_fn(move |_request| {
                    count.fetch_add(1, Ordering::SeqCst);
                    let body = doc.lock().unwrap().clone();
                    async move {
                        let response = match body {
                            Some(body) => http::Response::new(Full::new(Bytes::from(body))),
                            None => http::Response::builder()
                                .status(503)
                                .body(Full::new(Bytes::new()))
                                .unwrap(),
                        };
                        Ok::<_, Infallible>(response)
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Self {
            url,
            document,
            fetches,
            server,
        }
    }

    fn publish(&self, keys: &[&IdpKey]) {
        let keys: Vec<_> = keys.iter().map(|k| k.jwk()).collect();
        *self.document.lock().unwrap() = Some(serde_json::json!({ "keys": keys }).to_string());
    }

    fn go_down(&self) {
        *self.document.lock().unwrap() = None;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn verifier(&self, min_refresh: Duration) -> (Arc<Jwks>, Verifier) {
        let jwks = Arc::new(
            Jwks::new(JwksSettings {
                urls: vec![self.url.clone()],
                refresh: Duration::from_secs(300),
                min_refresh,
                timeout: Duration::from_secs(2),
            })
            .unwrap(),
        );
        let verifier = Verifier::from_files(
            &[],
            "https://idp.example",
            "portal",
            Duration::from_secs(30),
        )
        .unwrap()
        .with_jwks(jwks.clone());
        (jwks, verifier)
    }
}

/// One of the provider's Ed25519 signing keys.
struct IdpKey {
    kid: String,
    encoding: EncodingKey,
    x: String,
}

impl IdpKey {
    fn new(kid: &str) -> Self {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        Self {
            kid: kid.into(),
            encoding: EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
            x: base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(key.verifying_key().as_bytes()),
        }
    }

    fn jwk(&self) -> serde_json::Value {
        serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": self.kid, "x": self.x })
    }

    /// A token for `sub` as the provider would issue it.
    fn token(&self, sub: &str) -> String {
        let now = unix_now();
        let claims = serde_json::json!({ "sub": sub, "iss": "https://idp.example", "aud": "portal", "iat": now, "exp": now + 600 });
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }
}

async fn check(verifier: &Verifier, token: &str) -> Result<Principal, tonic::Status> {
    verifier
        .verify_header(Some(&format!("Bearer {token}")))
        .await
}

fn user(id: &str) -> Principal {
    Principal::User { user_id: id.into() }
}

#[tokio::test]
async fn a_token_is_verified_with_the_key_its_kid_names() {
    let idp = Provider::start().await;
    let (a, b) = (IdpKey::new("a"), IdpKey::new("b"));
    idp.publish(&[&a, &b]);
    let (jwks, verifier) = idp.verifier(Duration::from_secs(10));
    assert!(jwks.refresh().await);
    assert_eq!(check(&verifier, &a.token("u1")).await.unwrap(), user("u1"));
    assert_eq!(check(&verifier, &b.token("u2")).await.unwrap(), user("u2"));
    // Signed by `a` but claiming to be `b`'s: the key `b` names does not verify it.
    let mut forged = Header::new(Algorithm::EdDSA);
    forged.kid = Some("b".into());
    let now = unix_now();
    let claims = serde_json::json!({ "sub": "u3", "iss": "https://idp.example", "aud": "portal", "iat": now, "exp": now + 600 });
    let token = jsonwebtoken::encode(&forged, &claims, &a.encoding).unwrap();
    let refused = check(&verifier, &token).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    // The issuer check is the verifier's, whichever key signed.
    let foreign = serde_json::json!({ "sub": "u4", "iss": "https://other.example", "aud": "portal", "iat": now, "exp": now + 600 });
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("a".into());
    let token = jsonwebtoken::encode(&header, &foreign, &a.encoding).unwrap();
    assert_eq!(
        check(&verifier, &token).await.unwrap_err().code(),
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn rotation_accepts_both_keys_during_the_overlap_and_refuses_a_removed_one() {
    let idp = Provider::start().await;
    let (old, new) = (IdpKey::new("2026-01"), IdpKey::new("2026-02"));
    idp.publish(&[&old]);
    let (jwks, verifier) = idp.verifier(Duration::ZERO);
    assert!(jwks.refresh().await);
    let old_token = old.token("u1");
    assert!(check(&verifier, &old_token).await.is_ok());

    // The provider starts signing with the new key: its unknown kid makes the verifier fetch the set again.
    idp.publish(&[&old, &new]);
    let fetched = idp.fetches();
    assert_eq!(
        check(&verifier, &new.token("u2")).await.unwrap(),
        user("u2")
    );
    assert_eq!(idp.fetches(), fetched + 1);
    assert!(
        check(&verifier, &old_token).await.is_ok(),
        "overlap: old key still valid"
    );
    assert!(check(&verifier, &old.token("u3")).await.is_ok());

    // The old key is withdrawn; after the next refresh its tokens are refused, even one verified before.
    idp.publish(&[&new]);
    assert!(jwks.refresh().await);
    let refused = check(&verifier, &old_token).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(refused.message().contains("kid"), "{}", refused.message());
    assert!(check(&verifier, &new.token("u2")).await.is_ok());
}

#[tokio::test]
async fn the_last_good_set_keeps_working_while_the_provider_is_down() {
    let idp = Provider::start().await;
    let key = IdpKey::new("k1");
    idp.publish(&[&key]);
    let (jwks, verifier) = idp.verifier(Duration::ZERO);
    assert!(jwks.refresh().await);

    idp.go_down();
    assert!(!jwks.refresh().await, "the refresh fails");
    assert_eq!(
        check(&verifier, &key.token("u1")).await.unwrap(),
        user("u1")
    );

    // A key we never saw cannot be checked while the provider is down: not the caller's fault.
    let unseen = check(&verifier, &IdpKey::new("k2").token("u2"))
        .await
        .unwrap_err();
    assert_eq!(unseen.code(), Code::Unavailable);
    assert_eq!(
        reason_of(&unseen).as_deref(),
        Some("DEPENDENCY_UNAVAILABLE")
    );
}

#[tokio::test]
async fn with_no_set_ever_fetched_calls_are_unavailable_until_the_provider_answers() {
    let idp = Provider::start().await;
    let key = IdpKey::new("k1");
    let (_jwks, verifier) = idp.verifier(Duration::ZERO);
    let refused = check(&verifier, &key.token("u1")).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    assert!(
        refused.message().contains("auth.jwks_url"),
        "{}",
        refused.message()
    );
    // The provider comes back: the next call fetches the set and is served.
    idp.publish(&[&key]);
    assert_eq!(
        check(&verifier, &key.token("u1")).await.unwrap(),
        user("u1")
    );
}

#[tokio::test]
async fn a_provider_that_never_answers_is_given_up_on_at_the_deadline() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let jwks = Jwks::new(JwksSettings {
        urls: vec![url],
        refresh: Duration::from_secs(300),
        min_refresh: Duration::from_secs(10),
        timeout: Duration::from_millis(300),
    })
    .unwrap();
    let started = std::time::Instant::now();
    assert!(!jwks.refresh().await);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn unknown_kids_refresh_at_most_once_per_interval() {
    let idp = Provider::start().await;
    let key = IdpKey::new("k1");
    idp.publish(&[&key]);
    let (_jwks, verifier) = idp.verifier(Duration::from_secs(3600));
    // The first unknown kid (nothing fetched yet) fetches; a burst of made-up kids after it does not.
    assert!(check(&verifier, &key.token("u1")).await.is_ok());
    assert_eq!(idp.fetches(), 1);
    let burst = (0..20).map(|i| {
        let token = IdpKey::new(&format!("made-up-{i}")).token("u1");
        let verifier = &verifier;
        async move { check(verifier, &token).await }
    });
    for refused in futures::future::join_all(burst).await {
        assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
    }
    assert_eq!(idp.fetches(), 1, "no fetch within the interval");

    // With a short interval, an unknown kid fetches again once it has passed.
    let (_jwks, verifier) = idp.verifier(Duration::from_secs(1));
    let fresh = IdpKey::new("k2");
    assert!(check(&verifier, &key.token("u1")).await.is_ok());
    let before = idp.fetches();
    idp.publish(&[&key, &fresh]);
    assert_eq!(
        check(&verifier, &fresh.token("u2"))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated,
        "within the interval the new key is not fetched"
    );
    assert_eq!(idp.fetches(), before);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        check(&verifier, &fresh.token("u2")).await.unwrap(),
        user("u2")
    );
    assert_eq!(idp.fetches(), before + 1);
}

#[tokio::test]
async fn the_suites_own_kid_is_not_looked_up_in_an_identity_providers_set() {
    let idp = Provider::start().await;
    idp.go_down();
    let jwks = Arc::new(
        Jwks::new(JwksSettings {
            urls: vec![idp.url.clone()],
            refresh: Duration::from_secs(300),
            min_refresh: Duration::ZERO,
            timeout: Duration::from_secs(2),
        })
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("signing-key.pem");
    let public = super::ensure_signing_key(&private).unwrap();
    let verifier = Verifier::from_files(&[public], "portal", "portal", Duration::from_secs(30))
        .unwrap()
        .with_jwks(jwks);
    let minter = super::Minter::from_file(&private, "portal", "portal").unwrap();
    assert_eq!(
        check(&verifier, &minter.user("u1", Duration::from_secs(60)))
            .await
            .unwrap(),
        user("u1")
    );

    // Expired, and naming our own key: refused for what it is, not UNAVAILABLE for a provider that is down.
    let now = unix_now();
    let claims = serde_json::json!({ "sub": "u1", "iss": "portal", "aud": "portal", "iat": now - 600, "exp": now - 300 });
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(minter.kid().to_string());
    let key = EncodingKey::from_ed_pem(&std::fs::read(&private).unwrap()).unwrap();
    let expired = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let refused = check(&verifier, &expired).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused.message().contains("expired"),
        "{}",
        refused.message()
    );
    assert_eq!(idp.fetches(), 0, "nothing to ask the provider about");
}
