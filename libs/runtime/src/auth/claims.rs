//! Which claims of a verified token name the [`Principal`]: configurable for identity providers, the same as
//! always for the suite's own tokens.

use std::collections::BTreeSet;

use super::Principal;

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
