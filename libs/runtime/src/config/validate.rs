//! Validation, once, of the loaded settings: each bad value is named by its key.

use secrecy::ExposeSecret;

use super::{ConfigError, Settings};

impl Settings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if let Some(url) = &self.database.url {
            let url = url.expose_secret();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return invalid("database.url", "must start with sqlite: or postgres://");
            }
        }
        if let Some(url) = &self.smtp.url {
            let url = url.expose_secret();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return invalid("smtp.url", "must start with smtp:// or smtps://");
            }
        }
        if self.database.max_connections == Some(0) {
            return invalid("database.max_connections", "must be at least 1");
        }
        if self.database.acquire_timeout_ms == 0 {
            return invalid("database.acquire_timeout_ms", "must be positive");
        }
        if self.database.statement_timeout_ms == 0 {
            return invalid("database.statement_timeout_ms", "must be positive");
        }
        if self.server.concurrency_limit == 0 {
            return invalid("server.concurrency_limit", "must be at least 1");
        }
        if self.server.request_timeout_ms == 0 || self.server.client_timeout_ms == 0 {
            return invalid("server.request_timeout_ms", "timeouts must be positive");
        }
        if self.server.principal_share == 0 {
            return invalid("server.principal_share", "must be at least 1");
        }
        if self.server.request_read_timeout_ms == 0 {
            return invalid("server.request_read_timeout_ms", "must be positive");
        }
        if self.server.keepalive_interval_secs == 0
            || self.server.keepalive_timeout_secs == 0
            || self.server.idle_timeout_secs <= self.server.keepalive_interval_secs
        {
            return invalid(
                "server.idle_timeout_secs",
                "keepalive_interval_secs and keepalive_timeout_secs must be positive, and idle_timeout_secs longer than the keepalive interval (answered pings keep live connections open)",
            );
        }
        if self.server.max_header_list_bytes < 16 * 1024
            || self.server.max_token_bytes == 0
            || self.server.max_token_bytes >= self.server.max_header_list_bytes as usize
        {
            return invalid(
                "server.max_token_bytes",
                "max_header_list_bytes must be at least 16384 and max_token_bytes positive and below it",
            );
        }
        if self.auth.issuer.is_empty() {
            return invalid("auth.issuer", "must not be empty");
        }
        if self.auth.audience.is_empty() {
            return invalid("auth.audience", "must not be empty");
        }
        if self.smtp.batch_size == 0 || self.smtp.batch_size > 10_000 {
            return invalid("smtp.batch_size", "must be between 1 and 10000");
        }
        if self.smtp.pool_size == 0
            || self.smtp.max_attempts == 0
            || self.smtp.lease_secs == 0
            || self.smtp.poll_ms == 0
        {
            return invalid(
                "smtp",
                "pool_size, max_attempts, lease_secs and poll_ms must be positive",
            );
        }
        if let Some(domain) = &self.smtp.bounce_domain
            && !is_domain(domain)
        {
            return invalid(
                "smtp.bounce_domain",
                "must be a domain name like bounces.example.com",
            );
        }
        if let Some(domain) = &self.smtp.dkim.domain
            && !is_domain(domain)
        {
            return invalid("smtp.dkim.domain", "must be a domain name like example.com");
        }
        if let Some(selector) = &self.smtp.dkim.selector
            && !is_domain(selector)
        {
            return invalid(
                "smtp.dkim.selector",
                "must be letters, digits, hyphens and dots, like portal or 2026a",
            );
        }
        let inbound = &self.smtp.inbound;
        if !(64 * 1024..=100 * 1024 * 1024).contains(&inbound.max_message_bytes) {
            return invalid(
                "smtp.inbound.max_message_bytes",
                "must be between 65536 and 104857600",
            );
        }
        if inbound.max_connections == 0
            || inbound.idle_timeout_secs == 0
            || inbound.session_timeout_secs == 0
        {
            return invalid(
                "smtp.inbound",
                "max_connections, idle_timeout_secs and session_timeout_secs must be positive",
            );
        }
        if self.notification.watch_max_secs == 0 {
            return invalid("notification.watch_max_secs", "must be at least 1");
        }
        if let Err((key, reason)) = self.notification.public.check() {
            return invalid(key, reason);
        }
        if self.licensing.grant_ttl_hours == 0 || self.licensing.grant_ttl_hours > 24 * 90 {
            return invalid("licensing.grant_ttl_hours", "must be between 1 and 2160");
        }
        if self.licensing.expiry_sweep_secs == 0 {
            return invalid("licensing.expiry_sweep_secs", "must be at least 1");
        }
        for url in &self.auth.jwks_url {
            let parsed = url::Url::parse(url).ok();
            if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
                return invalid("auth.jwks_url", "each must be an http:// or https:// URL");
            }
        }
        if self.auth.jwks_refresh_secs == 0
            || self.auth.jwks_min_refresh_secs == 0
            || self.auth.jwks_timeout_ms == 0
        {
            return invalid(
                "auth.jwks_refresh_secs",
                "jwks_refresh_secs, jwks_min_refresh_secs and jwks_timeout_ms must be positive",
            );
        }
        if self.auth.user_id_claim.trim().is_empty() {
            return invalid("auth.user_id_claim", "must not be empty");
        }
        for origin in &self.server.cors_allowed_origins {
            // An origin is exactly scheme://host[:port], as browsers send it: no path, no trailing slash.
            let exact = url::Url::parse(origin).is_ok_and(|u| {
                u.origin().is_tuple() && u.origin().ascii_serialization() == *origin
            });
            if origin != "*" && !exact {
                return invalid(
                    "server.cors_allowed_origins",
                    "each must be `*` or an origin like https://portal.example.com (no path or trailing slash)",
                );
            }
        }
        if self.auth.service_token_ttl_secs < 60 {
            return invalid("auth.service_token_ttl_secs", "must be at least 60");
        }
        Ok(())
    }
}

/// A DNS name of letters, digits and hyphens in dot-separated labels (RFC 1035's preferred syntax).
fn is_domain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}
