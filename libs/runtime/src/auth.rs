//! Bearer-token authentication: verifying `authorization: Bearer <JWT>` (Ed25519 or RSA, allow-listed
//! algorithms, issuer, audience, expiry with a small skew) against PEM keys and identity providers' key sets
//! (`jwks`), the [`Principal`] a request acts for (mapped from configurable claims), minting tokens for
//! service-to-service calls and for `portal token`, the Ed25519 key files they are signed with (`keyfile`), and
//! the suite's own public keys as a key set of its own (`published`).

use std::{
    collections::BTreeSet,
    io,
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tonic::Status;

use crate::error::{self, reason};

mod claims;
mod jwks;
#[cfg(test)]
mod jwks_tests;
mod keyfile;
mod minter;
mod published;
mod refusal;
mod verified;

pub use claims::ClaimMapping;
pub use jwks::{Jwks, JwksError, JwksSettings};
pub use keyfile::{
    create_signing_key, ensure_signing_key, key_id, public_key_path, read_signing_key,
    read_verifying_key, write_private_file,
};
pub use minter::Minter;
pub use published::PublishedKeys;
use verified::{Remembered, VerifiedTokens};

/// The scope every service-to-service call carries: what the services may ask each other.
pub const INTERNAL_SCOPE: &str = "internal";

/// Who a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A signed-in portal user; the business rules decide what they may do.
    User { user_id: String },
    /// Another system (`sub = svc:<name>`), limited to its scopes.
    Service {
        name: String,
        scopes: BTreeSet<String>,
    },
}

impl Principal {
    /// True for a service principal holding `scope` (or the `internal` scope every service call carries).
    pub fn has_scope(&self, scope: &str) -> bool {
        matches!(self, Principal::Service { scopes, .. } if scopes.contains(scope))
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Principal::User { user_id } => Some(user_id),
            Principal::Service { .. } => None,
        }
    }

    /// How the audit log names this principal (`user:<id>` or `svc:<name>`).
    pub fn actor(&self) -> String {
        match self {
            Principal::User { user_id } => format!("user:{user_id}"),
            Principal::Service { name, .. } => format!("svc:{name}"),
        }
    }
}

/// The principal a request was authenticated as, or `UNAUTHENTICATED` if the gate did not run.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| {
            error::status(
                tonic::Code::Unauthenticated,
                reason::UNAUTHENTICATED,
                "no authenticated principal",
            )
        })
}

/// JWT claims the suite issues and accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: Audience,
    pub exp: u64,
    pub iat: u64,
    /// Not before: a token is refused until then (checked when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A token's audience: one name, or a list of them as many identity providers issue (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The longest lifetime (`exp - iat`) a token may claim unless configured otherwise: a year, as long as
/// `portal token` mints.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// Algorithms a token may be signed with; everything else (`none`, HS*, EC) is refused.
const ALLOWED: &[Algorithm] = &[
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Ed25519,
    Rsa,
}

impl KeyKind {
    fn verifies(self, alg: Algorithm) -> bool {
        match self {
            KeyKind::Ed25519 => alg == Algorithm::EdDSA,
            KeyKind::Rsa => alg != Algorithm::EdDSA,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not an Ed25519 or RSA PEM key")]
    Format { path: PathBuf },
    #[error("{path}: not an Ed25519 {what} in PEM")]
    NotEd25519 { path: PathBuf, what: &'static str },
    #[error("generating the signing key: {0}")]
    Generate(String),
}

/// The claims of a token whose signature, issuer, audience and times checked out.
#[derive(Debug, Deserialize)]
struct Presented {
    exp: u64,
    iat: u64,
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// Why a token was not accepted.
enum Refusal {
    Token(jsonwebtoken::errors::Error),
    /// RFC 7515 §4.1.11: a `crit` header names extensions the recipient must understand, and we understand none.
    Critical,
    /// The token names a key (`kid`) that no configured key set has, even after fetching them again.
    UnknownKey,
    /// The token names a key only an identity provider we cannot reach could have.
    KeysUnavailable(String),
}

/// Verifies bearer tokens against PEM public keys and, when configured, identity providers' key sets.
pub struct Verifier {
    keys: Vec<keyfile::PemKey>,
    jwks: Option<Arc<Jwks>>,
    claims: ClaimMapping,
    issuer: String,
    audience: String,
    leeway: u64,
    max_lifetime: u64,
    verified: VerifiedTokens,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys.len())
            .field("jwks", &self.jwks)
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl Verifier {
    pub fn from_files(
        files: &[PathBuf],
        issuer: &str,
        audience: &str,
        leeway: Duration,
    ) -> Result<Self, KeyError> {
        let keys = files
            .iter()
            .map(|f| keyfile::read_public_key(f))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            keys,
            jwks: None,
            claims: ClaimMapping::default(),
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: leeway.as_secs(),
            max_lifetime: MAX_TOKEN_LIFETIME.as_secs(),
            verified: VerifiedTokens::new(VerifiedTokens::CAPACITY),
        })
    }

    /// Refuses tokens that claim to live longer than `max` (`exp - iat`).
    #[must_use]
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max.as_secs();
        self
    }

    /// Also accepts tokens signed by a key of these key sets (selected by `kid`).
    #[must_use]
    pub fn with_jwks(mut self, jwks: Arc<Jwks>) -> Self {
        self.jwks = Some(jwks);
        self
    }

    /// Reads the principal from these claims.
    #[must_use]
    pub fn with_claims(mut self, claims: ClaimMapping) -> Self {
        self.claims = claims;
        self
    }

    /// The identity providers' key sets, when configured (their refresh loop is the caller's to spawn).
    pub fn jwks(&self) -> Option<&Arc<Jwks>> {
        self.jwks.as_ref()
    }

    fn generation(&self) -> u64 {
        self.jwks.as_ref().map_or(0, |j| j.generation())
    }

    /// Checks an `authorization` header value. `UNAUTHENTICATED` for a missing or bad token; `UNAVAILABLE` for
    /// a token naming a key that only an identity provider which cannot be reached right now could vouch for
    /// (the token may well be good: retrying later can succeed, and a client must not throw it away).
    pub async fn verify_header(&self, header: Option<&str>) -> Result<Principal, Status> {
        let unauthenticated =
            |msg: &str| error::status(tonic::Code::Unauthenticated, reason::UNAUTHENTICATED, msg);
        let header =
            header.ok_or_else(|| unauthenticated("missing authorization: Bearer <token>"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| unauthenticated("authorization must be `Bearer <token>`"))?;
        let token = token.trim();
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = unix_now();
        if let Some(principal) = self.verified.get(&digest, now, self.generation()) {
            return Ok(principal);
        }
        // Read before verifying: a set that changes meanwhile must not vouch for this entry.
        let generation = self.generation();
        let claims = self.verify(token).await.map_err(|refusal| match refusal {
            Refusal::Token(e) => unauthenticated(refusal::describe(&e)),
            Refusal::Critical => unauthenticated(
                "invalid token: its crit header names extensions this server does not understand",
            ),
            Refusal::UnknownKey => unauthenticated(
                "invalid token: signed by a key (kid) the identity provider does not publish",
            ),
            Refusal::KeysUnavailable(why) => {
                tracing::warn!(error = %why, "a token names a key of an identity provider that cannot be reached");
                error::status(
                    tonic::Code::Unavailable,
                    reason::UNAVAILABLE,
                    "the identity provider's signing keys (auth.jwks_url) cannot be fetched right now; retry later",
                )
            }
        })?;
        self.check_claims(&claims, now).map_err(unauthenticated)?;
        let principal = self.claims.principal(&claims.other).ok_or_else(|| {
            unauthenticated(&format!(
                "token must name a user in `{}` or a service (svc:<name>)",
                self.claims.user_id
            ))
        })?;
        claims::ensure_safe_name(&principal).map_err(unauthenticated)?;
        self.verified.insert(
            digest,
            Remembered {
                principal: principal.clone(),
                valid_until: claims.exp.saturating_add(self.leeway),
                generation,
            },
            now,
        );
        Ok(principal)
    }

    /// What the signature check leaves to us: an issuer that is not one string (the check with the signature
    /// lets a list through if it holds ours), a token issued in the future, or one that claims to live longer
    /// than the configured maximum, is refused (`exp` and `nbf` are checked with the signature).
    fn check_claims(&self, claims: &Presented, now: u64) -> Result<(), &'static str> {
        if !claims
            .other
            .get("iss")
            .is_some_and(serde_json::Value::is_string)
        {
            return Err("invalid token: its issuer (iss) must be one string");
        }
        if claims.iat > now.saturating_add(self.leeway) {
            return Err("invalid token: issued in the future (iat)");
        }
        if claims.exp.saturating_sub(claims.iat) > self.max_lifetime {
            return Err("invalid token: lifetime (exp - iat) is longer than allowed");
        }
        Ok(())
    }

    /// Verifies a JWT's signature (allow-listed algorithms only), issuer, audience, `exp` and `nbf`. A key set
    /// key named by the token's `kid` is tried first, then the PEM keys; a `kid` no set has makes the sets be
    /// fetched again (at most once per `min_refresh`) before the token is refused.
    async fn verify(&self, token: &str) -> Result<Presented, Refusal> {
        use jsonwebtoken::errors::ErrorKind;
        let header = jsonwebtoken::decode_header(token).map_err(Refusal::Token)?;
        if header.crit.is_some() {
            return Err(Refusal::Critical);
        }
        if !ALLOWED.contains(&header.alg) {
            return Err(Refusal::Token(ErrorKind::InvalidAlgorithm.into()));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        let alg = header.alg;
        // Tries each key; the error is the last key's (a bad signature, an expired token, a wrong issuer…).
        let attempt = |keys: &mut dyn Iterator<Item = &DecodingKey>| {
            let mut last: jsonwebtoken::errors::Error = ErrorKind::InvalidAlgorithm.into();
            for key in keys {
                match jsonwebtoken::decode::<Presented>(token, key, &validation) {
                    Ok(data) => return Ok(data.claims),
                    Err(e) => last = e,
                }
            }
            Err(last)
        };
        let from_set = |keys: &[jwks::Key]| {
            attempt(&mut keys.iter().filter(|k| k.verifies(alg)).map(|k| &k.key))
        };
        let kid = header.kid.as_deref();
        let lookup = self.jwks.as_ref().map(|j| j.lookup(kid));
        let mut refused_by_set = None;
        if let Some(jwks::Lookup::Found(keys)) = &lookup {
            match from_set(keys) {
                Ok(claims) => return Ok(claims),
                Err(e) => refused_by_set = Some(e),
            }
        }
        let refused = match attempt(
            &mut self
                .keys
                .iter()
                .filter(|pem| pem.kind.verifies(alg))
                .map(|pem| &pem.key),
        ) {
            Ok(claims) => return Ok(claims),
            // The key the token names says more about what is wrong than a PEM key it was never signed with.
            Err(e) => refused_by_set.unwrap_or(e),
        };
        // A `kid` of one of our own PEM keys (the suite's tokens carry one): the key is here, and what is wrong
        // with the token (expired, say) is not something an identity provider's set could change.
        if kid.is_some_and(|kid| self.keys.iter().any(|pem| pem.kid.as_deref() == Some(kid))) {
            return Err(Refusal::Token(refused));
        }
        // A `kid` none of our sets has: perhaps the provider rotated its keys since we last looked.
        let (Some(jwks), Some(_), Some(jwks::Lookup::Unknown | jwks::Lookup::Unavailable(_))) =
            (&self.jwks, kid, lookup)
        else {
            return Err(Refusal::Token(refused));
        };
        jwks.refresh_for_unknown_kid().await;
        match jwks.lookup(kid) {
            jwks::Lookup::Found(keys) => from_set(&keys).map_err(Refusal::Token),
            jwks::Lookup::Unknown => Err(Refusal::UnknownKey),
            jwks::Lookup::Unavailable(why) => Err(Refusal::KeysUnavailable(why)),
        }
    }
}

#[cfg(test)]
mod tests;
