//! Mail (N5): multipart plain-text + HTML rendered from templates (minijinja), sent over a pool of lettre SMTP
//! connections on no-delay sockets ([`smtp`]: STARTTLS or implicit TLS, optional auth from the URL), or written
//! as `.eml` files in the data directory when no SMTP server is configured. Every mail is DKIM-signed
//! ([`dkim`]), says it was sent automatically (`Auto-Submitted`, RFC 3834), and leaves with an envelope sender
//! of its own at the bounce domain, so what comes back names its delivery (N13).

use std::{path::PathBuf, time::Duration};

pub mod dkim;
pub mod dns;
mod smtp;

use lettre::{
    Address, AsyncFileTransport, AsyncTransport, Message, Tokio1Executor,
    address::Envelope,
    message::{
        Attachment, Mailbox, MultiPart, SinglePart,
        dkim::{DkimConfig, dkim_sign},
        header::{ContentType, HeaderName, HeaderValue},
    },
};
use minijinja::Environment;

use crate::domain;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp url: {0}")]
    Url(String),
    #[error("mail directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sender address {0:?} is invalid")]
    From(String),
    #[error("templates: {0}")]
    Template(#[from] minijinja::Error),
    #[error("DKIM key {0}")]
    Dkim(String),
    #[error("bounce domain {0:?} does not make an e-mail address")]
    BounceDomain(String),
}

/// The domain of the sender address `from` (`Name <user@domain>` or a bare address).
pub fn sender_domain(from: &str) -> Result<String, MailError> {
    let from: Mailbox = from
        .parse()
        .map_err(|_| MailError::From(from.to_string()))?;
    Ok(from.email.domain().to_ascii_lowercase())
}

/// Why one send failed, and whether trying again can help.
#[derive(Debug, Clone)]
pub struct SendFailure {
    pub permanent: bool,
    pub message: String,
}

enum Transport {
    Smtp(Box<smtp::Pool>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Where acknowledgement links point until [`Mailer::with_public_base`] says otherwise: the public listener's
/// default address.
const DEFAULT_PUBLIC_BASE: &str = "http://127.0.0.1:8080";

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    domain: String,
    /// N13: where envelope senders (and so delivery reports) are; the `from` domain until configured.
    bounce_domain: String,
    /// N13: how mail is signed; unsigned only where no key was given (unit tests).
    dkim: Option<DkimConfig>,
    /// N9: the public listener's URL, which acknowledgement links start with.
    public_base: String,
    templates: Environment<'static>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// What a template sees.
#[derive(Debug, Serialize)]
pub struct View<'a, T: Serialize> {
    pub recipient_name: &'a str,
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub fallback: bool,
    /// N8: an Administrator told because every designated contact's mail bounced.
    pub escalation: bool,
    #[serde(flatten)]
    pub content: T,
}

impl Mailer {
    /// SMTP when `smtp_url` is set (a pool of `pool_size` no-delay connections, each send bounded by a timeout),
    /// else `.eml` files under `mail_dir`.
    pub fn new(
        smtp_url: Option<&str>,
        mail_dir: PathBuf,
        from: &str,
        pool_size: u32,
    ) -> Result<Self, MailError> {
        let from: Mailbox = from
            .parse()
            .map_err(|_| MailError::From(from.to_string()))?;
        let domain = from.email.domain().to_string();
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(Box::new(smtp::Pool::new(
                url,
                pool_size,
                Duration::from_secs(15),
            )?)),
            None => {
                std::fs::create_dir_all(&mail_dir).map_err(|source| MailError::Directory {
                    path: mail_dir.clone(),
                    source,
                })?;
                Transport::Files(AsyncFileTransport::<Tokio1Executor>::new(mail_dir))
            }
        };
        let mut templates = Environment::new();
        templates.add_template("advisory.txt", include_str!("templates/advisory.txt"))?;
        templates.add_template("advisory.html", include_str!("templates/advisory.html"))?;
        templates.add_template("notice.txt", include_str!("templates/notice.txt"))?;
        templates.add_template("notice.html", include_str!("templates/notice.html"))?;
        Ok(Self {
            transport,
            from,
            bounce_domain: domain.clone(),
            domain,
            dkim: None,
            public_base: DEFAULT_PUBLIC_BASE.to_string(),
            templates,
        })
    }

    /// N13: envelope senders at `bounce_domain` instead of the `from` address's domain.
    pub fn with_bounce_domain(mut self, bounce_domain: &str) -> Result<Self, MailError> {
        let probe = domain::bounce::n13_return_path("dlv-0", bounce_domain);
        probe
            .parse::<Address>()
            .map_err(|_| MailError::BounceDomain(bounce_domain.to_string()))?;
        self.bounce_domain = bounce_domain.to_ascii_lowercase();
        Ok(self)
    }

    /// N13: every mail signed with `key` for `domain` (default: the `from` address's) under `selector`.
    pub fn with_dkim(
        mut self,
        key: &dkim::DkimKey,
        domain: Option<&str>,
        selector: &str,
    ) -> Result<Self, MailError> {
        let domain = domain.unwrap_or(&self.domain).to_string();
        self.dkim = Some(key.config(&domain, selector)?);
        Ok(self)
    }

    /// The domain Message-IDs are made in.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// N13/N14: the domain envelope senders are at, where delivery reports come back.
    /// N9: acknowledgement links start with `base` (the public listener's URL, without a trailing slash).
    pub fn with_public_base(mut self, base: &str) -> Self {
        self.public_base = base.trim_end_matches('/').to_string();
        self
    }

    /// N9: the link in an advisory mail that acknowledges it: the public listener's page for `token`.
    pub fn acknowledgement_url(&self, token: &str) -> String {
        domain::acknowledgement::n9_link(&self.public_base, token)
    }

    pub fn bounce_domain(&self) -> &str {
        &self.bounce_domain
    }

    /// Renders `name.txt` and `name.html` into a multipart message of delivery `delivery_id`: its stable
    /// Message-ID (N3), its own envelope sender (N13), marked as sent automatically and DKIM-signed.
    pub fn compose<T: Serialize>(
        &self,
        name: &str,
        subject: &str,
        to: (&str, &str),
        delivery_id: &str,
        view: &View<'_, T>,
        attachments: &[(String, String, Vec<u8>)],
    ) -> Result<Message, SendFailure> {
        let permanent = |message: String| SendFailure {
            permanent: true,
            message,
        };
        let text = self
            .templates
            .get_template(&format!("{name}.txt"))
            .and_then(|t| t.render(view))
            .map_err(|e| permanent(e.to_string()))?;
        let html = self
            .templates
            .get_template(&format!("{name}.html"))
            .and_then(|t| t.render(view))
            .map_err(|e| permanent(e.to_string()))?;
        let to: Mailbox = format!("{} <{}>", to.0.replace(['<', '>', '"'], ""), to.1)
            .parse()
            .or_else(|_| to.1.parse())
            .map_err(|e: lettre::address::AddressError| {
                permanent(format!("recipient {}: {e}", to.1))
            })?;
        let alternative = MultiPart::alternative_plain_html(text, html);
        let body = if attachments.is_empty() {
            alternative
        } else {
            attachments.iter().fold(
                MultiPart::mixed().multipart(alternative),
                |mixed, (filename, content_type, bytes)| {
                    let content_type =
                        ContentType::parse(content_type).unwrap_or(ContentType::TEXT_PLAIN);
                    let part: SinglePart =
                        Attachment::new(filename.clone()).body(bytes.clone(), content_type);
                    mixed.singlepart(part)
                },
            )
        };
        let return_path: Address =
            domain::bounce::n13_return_path(delivery_id, &self.bounce_domain)
                .parse()
                .map_err(|e: lettre::address::AddressError| {
                    permanent(format!("return path: {e}"))
                })?;
        let envelope = Envelope::new(Some(return_path), vec![to.email.clone()])
            .map_err(|e| permanent(e.to_string()))?;
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(domain::n3_message_id(delivery_id, &self.domain)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .envelope(envelope)
            .multipart(body)
            .map_err(|e| permanent(e.to_string()))?;
        if let Some(dkim) = &self.dkim {
            dkim_sign(&mut message, dkim);
        }
        Ok(message)
    }

    pub async fn send(&self, message: Message) -> Result<(), SendFailure> {
        match &self.transport {
            Transport::Smtp(pool) => {
                let (envelope, bytes) = smtp::envelope(&message);
                pool.send(&envelope, &bytes).await
            }
            Transport::Files(files) => {
                files
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendFailure {
                        permanent: false,
                        message: e.to_string(),
                    })
            }
        }
    }
}
