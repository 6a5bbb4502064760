//! Outgoing mail: the SMTP relay, DKIM signing (N13) and the inbound listener for delivery reports (N14).

use std::{net::SocketAddr, path::PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// `smtp://[user:pass@]host:port` (add `?tls=required` for STARTTLS), `smtps://…` (implicit TLS); unset
    /// writes `.eml` files to `<data_dir>/mail`.
    pub url: Option<SecretString>,
    /// The sender of every mail; its domain also names Message-IDs.
    pub from: String,
    /// SMTP connections kept in the pool.
    pub pool_size: u32,
    /// Deliveries claimed per batch, and sent concurrently within it.
    pub batch_size: u64,
    /// How long a claimed batch is reserved for its worker; a crashed worker's rows are picked up after it.
    pub lease_secs: u64,
    /// Attempts before a delivery is DEAD (N3).
    pub max_attempts: u32,
    /// Delay before the first retry; it doubles (with jitter) per attempt.
    pub retry_first_ms: u64,
    /// Bound on the delay between retries.
    pub retry_max_ms: u64,
    /// How often an idle worker looks for due deliveries.
    pub poll_ms: u64,
    /// N13: the domain of every mail's envelope sender, one address per delivery (VERP), where delivery
    /// reports come back; route it to `inbound.listen`. Default: the `from` address's domain.
    pub bounce_domain: Option<String>,
    /// N13: how every mail is DKIM-signed.
    pub dkim: DkimSettings,
    /// N14: the listener delivery reports come back to.
    pub inbound: InboundSettings,
}

/// N13: DKIM signing (RFC 6376) of every mail the suite sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DkimSettings {
    /// The signing domain (`d=`); default: the `from` address's domain.
    pub domain: Option<String>,
    /// The selector (`s=`): the key is published at `<selector>._domainkey.<domain>`; default `portal`.
    pub selector: Option<String>,
    /// A PEM private key: Ed25519 (RFC 8463; PKCS#8) or RSA (PKCS#1 or PKCS#8, at least 1024 bits). Default
    /// `<data_dir>/dkim-key.pem`, an Ed25519 key created on first start.
    pub key_file: Option<PathBuf>,
}

/// N14: the inbound SMTP listener that takes delivery reports (DSNs, complaints) for the bounce domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InboundSettings {
    /// Where it listens (e.g. `0.0.0.0:2525`); off when unset.
    pub listen: Option<SocketAddr>,
    /// The largest message accepted (DSNs often return the whole original message).
    pub max_message_bytes: usize,
    /// Sessions served at once; more are answered `421` and closed.
    pub max_connections: usize,
    /// How long a session may wait for the client's next command or DATA bytes.
    pub idle_timeout_secs: u64,
    /// How long one session may last in all.
    pub session_timeout_secs: u64,
}

impl Default for InboundSettings {
    fn default() -> Self {
        Self {
            listen: None,
            max_message_bytes: 10 * 1024 * 1024,
            max_connections: 64,
            idle_timeout_secs: 30,
            session_timeout_secs: 300,
        }
    }
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            url: None,
            from: "Customer Portal <noreply@portal.invalid>".into(),
            pool_size: 16,
            batch_size: 100,
            lease_secs: 60,
            max_attempts: 8,
            retry_first_ms: 2_000,
            retry_max_ms: 600_000,
            poll_ms: 500,
            bounce_domain: None,
            dkim: DkimSettings::default(),
            inbound: InboundSettings::default(),
        }
    }
}
