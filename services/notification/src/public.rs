//! N9, N15: the notification service's public HTTP listener (`notification.public.listen`), behind the ingress:
//! the page each advisory mail links to, `<base_url>/ack/<token>`, and the CSAF provider below
//! `<base_url>/.well-known/csaf/` (see [`crate::app::provider`]).
//!
//! A GET (or HEAD) only shows the advisory and one button: mail security scanners open every link in a mail
//! before the person does, so opening a link must never acknowledge. The button POSTs to the same URL, which
//! records the acknowledgement like `AcknowledgeAdvisory` (idempotent, audited as the person the mail was for).
//! Plain HTML without scripts or third-party assets, strict headers, per-address and global rate limits; the
//! token is never logged. The provider's files are the same for everybody: only the global limit applies to them.

mod limits;
mod pages;
mod serve;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use chrono::Utc;
use http::{Method, StatusCode};
use portal_runtime::{CallContext, Principal, auth::PublishedKeys};
use tokio::{net::TcpListener, sync::watch};

pub use limits::{Admission, RateLimits};
pub use pages::{Pages, Refusal};

use crate::{
    NotificationApi,
    app::{acknowledgement, provider::Provider},
    error::Error,
    openpgp::OpenPgpKey,
};

/// Where the CSAF provider's files sit on the listener (N15).
const PROVIDER_PREFIX: &str = "/.well-known/csaf/";
/// The provider's files are the same for everybody and change only when an advisory is published.
const PROVIDER_CACHE: &str = "public, max-age=300";

/// Pages name one person: no cache keeps them.
const NO_STORE: &str = "no-store";

/// The longest token looked at; anything longer is refused without a database read.
const MAX_TOKEN_CHARS: usize = 256;

/// What the public listener is given at start.
#[derive(Debug)]
pub struct PublicOptions {
    pub pages: Pages,
    pub limits: RateLimits,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and how long a connection may sit idle.
    pub header_timeout: Duration,
    /// The suite's published signing keys (`/.well-known/jwks.json`), as the admin listener serves them.
    pub jwks: Option<bytes::Bytes>,
    /// N15: the key the CSAF provider signs with; without one, no provider is served.
    pub openpgp_key: Option<OpenPgpKey>,
}

/// One answer: a status and an HTML (or CSS, or plain) body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Bytes,
    /// `Allow` for 405, `Retry-After` for 429/503.
    pub allow: Option<&'static str>,
    pub retry_after: Option<u64>,
    /// `no-store` but for what is the same for everybody.
    pub cache_control: &'static str,
}

impl Answer {
    fn html(status: StatusCode, body: String) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8",
            body: body.into(),
            allow: None,
            retry_after: None,
            cache_control: NO_STORE,
        }
    }

    fn text(status: StatusCode, body: &str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Bytes::copy_from_slice(body.as_bytes()),
            allow: None,
            retry_after: None,
            cache_control: NO_STORE,
        }
    }
}

impl NotificationApi {
    /// Serves the public listener until `stop` turns true; then it stops accepting, lets requests in flight
    /// finish, and returns.
    pub fn spawn_public(
        &self,
        listener: TcpListener,
        mut options: PublicOptions,
        stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let provider = options
            .openpgp_key
            .take()
            .map(|key| Provider::new(key, self.csaf.clone()));
        let site = Arc::new(Site {
            api: self.clone(),
            options,
            provider,
        });
        tokio::spawn(serve::run(site, listener, stop))
    }
}

/// The listener's state shared by its connections.
#[derive(Debug)]
pub(crate) struct Site {
    api: NotificationApi,
    options: PublicOptions,
    provider: Option<Provider>,
}

impl Site {
    /// Routes one request (its body already read and bounded by the caller).
    pub(crate) async fn answer(&self, method: &Method, path: &str, client: SocketAddr) -> Answer {
        if path == "/healthz" {
            return Answer::text(StatusCode::OK, "ok\n");
        }
        let now = std::time::Instant::now();
        let provider_file = path.strip_prefix(PROVIDER_PREFIX);
        let admission = match provider_file {
            Some(_) => self.options.limits.admit_shared(now),
            None => self.options.limits.admit(client.ip(), now),
        };
        match admission {
            Admission::Go => {}
            Admission::ClientLimited => {
                return self.refuse(Refusal::Busy, StatusCode::TOO_MANY_REQUESTS, Some(60));
            }
            Admission::Overloaded => {
                return self.refuse(Refusal::Busy, StatusCode::SERVICE_UNAVAILABLE, Some(1));
            }
        }
        if path == PublishedKeys::PATH
            && let Some(jwks) = &self.options.jwks
        {
            return match *method {
                Method::GET | Method::HEAD => Answer {
                    content_type: PublishedKeys::CONTENT_TYPE,
                    body: jwks.clone(),
                    cache_control: PublishedKeys::CACHE_CONTROL,
                    ..Answer::text(StatusCode::OK, "")
                },
                _ => not_allowed("GET, HEAD"),
            };
        }
        if path == pages::STYLESHEET_PATH {
            return match *method {
                Method::GET | Method::HEAD => Answer {
                    content_type: "text/css; charset=utf-8",
                    ..Answer::text(StatusCode::OK, self.options.pages.stylesheet())
                },
                _ => not_allowed("GET, HEAD"),
            };
        }
        if let Some(file) = provider_file {
            return match *method {
                Method::GET | Method::HEAD => self.provider_file(file).await,
                _ => not_allowed("GET, HEAD"),
            };
        }
        let Some(token) = path.strip_prefix("/ack/") else {
            return Answer::text(StatusCode::NOT_FOUND, "not found\n");
        };
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS || token.contains('/') {
            return self.refuse(Refusal::Unknown, StatusCode::NOT_FOUND, None);
        }
        match *method {
            Method::GET | Method::HEAD => self.show(token).await,
            Method::POST => self.acknowledge(token).await,
            _ => not_allowed("GET, HEAD, POST"),
        }
    }

    /// N15: a file of the CSAF provider, by its path below `/.well-known/csaf/`.
    async fn provider_file(&self, path: &str) -> Answer {
        let Some(provider) = &self.provider else {
            return Answer::text(StatusCode::NOT_FOUND, "not found\n");
        };
        match provider.file(&self.api.db, path).await {
            Ok(Some(file)) => Answer {
                status: StatusCode::OK,
                content_type: file.content_type,
                body: file.body,
                allow: None,
                retry_after: None,
                cache_control: PROVIDER_CACHE,
            },
            Ok(None) => Answer::text(StatusCode::NOT_FOUND, "not found\n"),
            Err(e) => {
                tracing::warn!(error = %e, "the CSAF provider could not be served");
                Answer {
                    retry_after: Some(30),
                    ..Answer::text(StatusCode::SERVICE_UNAVAILABLE, "unavailable\n")
                }
            }
        }
    }

    /// GET: what the link acknowledges, and whether it was; records nothing.
    async fn show(&self, token: &str) -> Answer {
        match acknowledgement::look_up(&self.api.db, token, Utc::now()).await {
            Ok(page) => self.page(self.options.pages.show(&page)),
            Err(e) => self.failed(e),
        }
    }

    /// POST: records the acknowledgement (the first one stands), as the person the mail was for.
    async fn acknowledge(&self, token: &str) -> Answer {
        let now = Utc::now();
        let page = match acknowledgement::look_up(&self.api.db, token, now).await {
            Ok(page) => page,
            Err(e) => return self.failed(e),
        };
        let context = CallContext {
            principal: Principal::User {
                user_id: page.delivery.to.user_id.clone(),
            },
            request_id: format!("ack-page-{}", page.delivery.delivery_id),
            trace_id: String::new(),
        };
        match acknowledgement::acknowledge_looked_up(&self.api.db, &context, &page, now).await {
            Ok((done, fresh)) => {
                if fresh {
                    tracing::info!(advisory = %done.advisory_id, account = %done.account_id, "advisory acknowledged on the page");
                }
                self.page(self.options.pages.acknowledged(&page, &done, fresh))
            }
            Err(e) => self.failed(e),
        }
    }

    fn page(&self, rendered: Result<String, String>) -> Answer {
        match rendered {
            Ok(body) => Answer::html(StatusCode::OK, body),
            Err(e) => {
                tracing::error!(error = %e, "rendering the acknowledgement page failed");
                self.refuse(
                    Refusal::Unavailable,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                )
            }
        }
    }

    /// A token that names nothing is 404 whether it was edited, forged or its row is gone; an expired one 410.
    fn failed(&self, error: Error) -> Answer {
        match error {
            Error::AckTokenInvalid | Error::AdvisoryNotFound => {
                self.refuse(Refusal::Unknown, StatusCode::NOT_FOUND, None)
            }
            Error::AckTokenExpired => self.refuse(Refusal::Expired, StatusCode::GONE, None),
            other => {
                tracing::warn!(error = %other, "the acknowledgement page could not be served");
                self.refuse(
                    Refusal::Unavailable,
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some(30),
                )
            }
        }
    }

    fn refuse(&self, refusal: Refusal, status: StatusCode, retry_after: Option<u64>) -> Answer {
        let body = self
            .options
            .pages
            .refused(refusal)
            .unwrap_or_else(|_| format!("{}\n", status.canonical_reason().unwrap_or("error")));
        Answer {
            retry_after,
            ..Answer::html(status, body)
        }
    }
}

fn not_allowed(allow: &'static str) -> Answer {
    Answer {
        allow: Some(allow),
        ..Answer::text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
    }
}
