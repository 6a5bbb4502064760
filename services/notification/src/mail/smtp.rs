//! The SMTP side of the mailer: a pool of lettre connections over sockets this module opens itself, with
//! `TCP_NODELAY` set. lettre 0.11's own transport leaves Nagle's algorithm on, and it writes the message body
//! and the closing `.` in two writes, so every mail waited ~40 ms for the server's delayed ACK (~170 mails/s
//! from a pool of 8). Connections are reused while they work and dropped after any error or a spell idle.

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::Mutex,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use lettre::{
    address::Envelope,
    transport::smtp::{
        Error as SmtpError,
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters},
        extension::ClientId,
    },
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::Semaphore,
};

use super::{MailError, SendFailure};

/// How the connection is secured, as lettre's URLs say it: `smtp://` (plain), `smtp://…?tls=required` or
/// `?tls=opportunistic` (STARTTLS), `smtps://` (implicit TLS).
#[derive(Clone)]
enum Security {
    Plain,
    StartTls { required: bool, tls: TlsParameters },
    Implicit(TlsParameters),
}

/// Where and how to reach the SMTP server.
#[derive(Clone)]
struct Server {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
}

impl Server {
    fn parse(url: &str) -> Result<Self, MailError> {
        let bad = |why: String| MailError::Url(why);
        let url = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        let host = url
            .host_str()
            .ok_or_else(|| bad("the SMTP URL has no host".into()))?
            .trim_matches(['[', ']'])
            .to_string();
        let tls_mode = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.to_string());
        let tls = || TlsParameters::new(host.clone()).map_err(|e| bad(e.to_string()));
        let (security, default_port) = match (url.scheme(), tls_mode.as_deref()) {
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some("required")) => (
                Security::StartTls {
                    required: true,
                    tls: tls()?,
                },
                587,
            ),
            ("smtp", Some("opportunistic")) => (
                Security::StartTls {
                    required: false,
                    tls: tls()?,
                },
                587,
            ),
            ("smtps", _) => (Security::Implicit(tls()?), 465),
            (scheme, tls) => {
                return Err(bad(format!(
                    "unknown scheme {scheme:?} or tls={tls:?}: use smtp://, smtp://…?tls=required|opportunistic or smtps://"
                )));
            }
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|e| bad(format!("SMTP credentials: {e}")))
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        Ok(Self {
            port: url.port().unwrap_or(default_port),
            host,
            security,
            credentials,
            hello,
        })
    }
}

/// A pool of at most `size` connections; senders beyond it wait for one.
pub(super) struct Pool {
    server: Server,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    permits: Semaphore,
    timeout: Duration,
    idle_timeout: Duration,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("host", &self.server.host)
            .field("port", &self.server.port)
            .finish_non_exhaustive()
    }
}

impl Pool {
    pub(super) fn new(url: &str, size: u32, timeout: Duration) -> Result<Self, MailError> {
        Ok(Self {
            server: Server::parse(url)?,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(usize::try_from(size.max(1)).unwrap_or(1)),
            timeout,
            idle_timeout: Duration::from_secs(30),
        })
    }

    /// Sends one formatted message. A reused connection that turns out to be dead (the server closed it while
    /// idle) is replaced once before the attempt counts as failed.
    pub(super) async fn send(
        &self,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<(), SendFailure> {
        let _permit = self.permits.acquire().await.map_err(|_| SendFailure {
            permanent: false,
            message: "mailer is shutting down".into(),
        })?;
        let mut reused = self.take_idle();
        loop {
            let was_reused = reused.is_some();
            let mut connection = match reused.take() {
                Some(connection) => connection,
                None => self.connect().await?,
            };
            match tokio::time::timeout(self.timeout, connection.send(envelope, message)).await {
                Ok(Ok(_)) => {
                    self.give_back(connection);
                    return Ok(());
                }
                Ok(Err(e)) if was_reused && !e.is_response() => {
                    tracing::debug!(error = %e, "pooled SMTP connection was dead; reconnecting");
                }
                Ok(Err(e)) => return Err(failure(e)),
                Err(_) => {
                    return Err(SendFailure {
                        permanent: false,
                        message: format!("SMTP server did not answer within {:?}", self.timeout),
                    });
                }
            }
        }
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().ok()?;
        while let Some((connection, since)) = idle.pop() {
            if since.elapsed() < self.idle_timeout && !connection.has_broken() {
                return Some(connection);
            }
        }
        None
    }

    fn give_back(&self, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push((connection, Instant::now()));
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendFailure> {
        let server = &self.server;
        let connect = async {
            let tcp = TcpStream::connect((server.host.as_str(), server.port))
                .await
                .map_err(io_failure)?;
            tcp.set_nodelay(true).map_err(io_failure)?;
            let mut connection = match &server.security {
                Security::Implicit(tls) => {
                    let stream = NoDelayTls::handshake(tcp, tls.clone()).await?;
                    AsyncSmtpConnection::connect_with_transport(Box::new(stream), &server.hello)
                        .await
                        .map_err(failure)?
                }
                Security::Plain | Security::StartTls { .. } => {
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &server.hello)
                        .await
                        .map_err(failure)?
                }
            };
            if let Security::StartTls { required, tls } = &server.security
                && (*required || connection.can_starttls())
            {
                connection
                    .starttls(tls.clone(), &server.hello)
                    .await
                    .map_err(failure)?;
            }
            if let Some(credentials) = &server.credentials {
                connection
                    .auth(DEFAULT_MECHANISMS, credentials)
                    .await
                    .map_err(failure)?;
            }
            Ok(connection)
        };
        match tokio::time::timeout(self.timeout, connect).await {
            Ok(result) => result,
            Err(_) => Err(SendFailure {
                permanent: false,
                message: format!("connecting to the SMTP server took over {:?}", self.timeout),
            }),
        }
    }
}

/// The envelope and bytes of a message, as the pool sends them.
pub(super) fn envelope(message: &lettre::Message) -> (Envelope, Vec<u8>) {
    (message.envelope().clone(), message.formatted())
}

fn failure(e: SmtpError) -> SendFailure {
    SendFailure {
        permanent: e.is_permanent(),
        message: e.to_string(),
    }
}

fn io_failure(e: std::io::Error) -> SendFailure {
    SendFailure {
        permanent: false,
        message: format!("SMTP connection: {e}"),
    }
}

/// Implicit TLS over our own no-delay socket: lettre's TLS stream type, driven through its futures-io traits.
#[allow(deprecated)]
struct NoDelayTls {
    inner: tokio_util::compat::Compat<lettre::transport::smtp::client::AsyncNetworkStream>,
    peer: SocketAddr,
}

impl std::fmt::Debug for NoDelayTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoDelayTls")
            .field("peer", &self.peer)
            .finish()
    }
}

#[allow(deprecated)]
impl NoDelayTls {
    async fn handshake(tcp: TcpStream, tls: TlsParameters) -> Result<Self, SendFailure> {
        use lettre::transport::smtp::client::AsyncNetworkStream;
        use tokio_util::compat::FuturesAsyncReadCompatExt;
        let peer = tcp.peer_addr().map_err(io_failure)?;
        let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
        stream.upgrade_tls(tls).await.map_err(failure)?;
        Ok(Self {
            inner: stream.compat(),
            peer,
        })
    }
}

impl AsyncTokioStream for NoDelayTls {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

impl AsyncRead for NoDelayTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for NoDelayTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn n5_smtp_urls_name_the_security_and_default_port() {
        let plain = Server::parse("smtp://127.0.0.1:2525").unwrap();
        assert!(matches!(plain.security, Security::Plain) && plain.port == 2525);
        let starttls = Server::parse("smtp://user:p%40ss@mail.example?tls=required").unwrap();
        assert!(matches!(
            starttls.security,
            Security::StartTls { required: true, .. }
        ));
        assert_eq!(starttls.port, 587);
        assert!(starttls.credentials.is_some());
        let implicit = Server::parse("smtps://mail.example").unwrap();
        assert!(matches!(implicit.security, Security::Implicit(_)) && implicit.port == 465);
        assert!(Server::parse("http://mail.example").is_err());
        assert!(Server::parse("smtp://mail.example?tls=sometimes").is_err());
    }
}
