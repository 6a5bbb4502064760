//! Which claims of a verified token name the [`Principal`]: configurable for identity providers, the same as
//! always for the suite's own tokens.

use std::collections::BTreeSet;

use super::Principal;

/// The longest user id a token may name: an e-mail address's 254 (a provider may name its users by e-mail).
pub const MAX_USER_ID_CHARS: usize = 254;
/// The longest service name (`svc:<name>`, or the configured service claim).
pub const MAX_SERVICE_NAME_CHARS: usize = 64;

/// A name the suite writes as it came (audit actors, logs, the fair-share key): short, and of characters that
/// cannot break a log line, a header, a CSV cell or a terminal. User ids take what identity providers use for
/// them (UUIDs, `auth0|…`, e-mail addresses); service names are plain identifiers.
pub(super) fn ensure_safe_name(principal: &Principal) -> Result<(), &'static str> {
    let (name, max, extra, refusal): (&str, usize, &[char], &'static str) = match principal {
        Principal::User { user_id } => (
            user_id,
            MAX_USER_ID_CHARS,
            &['.', '_', '-', '@', '+', '|', ':'],
            "invalid token: the user it names must be at most 254 characters of A-Z a-z 0-9 . _ - @ + | :",
        ),
        Principal::Service { name, .. } => (
            name,
            MAX_SERVICE_NAME_CHARS,
            &['.', '_', '-'],
            "invalid token: the service it names must be at most 64 characters of A-Z a-z 0-9 . _ -",
        ),
    };
    let safe = name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c));
    if safe { Ok(()) } else { Err(refusal) }
}

/// Which claims name the principal. The suite's own tokens (`sub` = user id or `svc:<name>`, space-separated
/// `scope`) read the same under every mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    /// The claim holding a portal user's id (`sub` by default; e.g. `oid` or `email` for some providers).
    pub user_id: String,
    /// A claim whose presence makes the token a service principal named by its value (e.g. Keycloak's
    /// `client_id` on client-credentials tokens); unset: only `sub = svc:<name>` names a service.
    pub service_name: Option<String>,
    /// Claims holding a service's scopes, each a space-separated string or a list (`scope`, `scp`).
    pub scopes: Vec<String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            user_id: "sub".into(),
            service_name: None,
            scopes: vec!["scope".into(), "scp".into()],
        }
    }
}

impl ClaimMapping {
    pub(super) fn principal(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<Principal> {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let service = |name: &str| Principal::Service {
            name: name.to_string(),
            scopes: self.scopes(claims),
        };
        match text("sub")?.strip_prefix("svc:") {
            Some("") => return None,
            Some(name) => return Some(service(name)),
            None => {}
        }
        if let Some(name) = self.service_name.as_deref().and_then(text) {
            return Some(service(name));
        }
        Some(Principal::User {
            user_id: text(&self.user_id)?.to_string(),
        })
    }

    fn scopes(&self, claims: &serde_json::Map<String, serde_json::Value>) -> BTreeSet<String> {
        use serde_json::Value;
        let mut scopes = BTreeSet::new();
        for value in self.scopes.iter().filter_map(|c| claims.get(c)) {
            let items: Vec<&str> = match value {
                Value::String(s) => vec![s],
                Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            scopes.extend(
                items
                    .into_iter()
                    .flat_map(str::split_whitespace)
                    .map(str::to_string),
            );
        }
        scopes
    }
}
