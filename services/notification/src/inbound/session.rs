//! One inbound SMTP session (RFC 5321), enough for any relay to hand over a report: EHLO/HELO, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT. Recipients are checked at RCPT (a sealed return path, or `550`); a message is taken
//! only once its DATA is complete and recorded, so a relay that gets anything but `250` keeps it and retries.

use smtp_proto::{
    Error as ParseError, Request,
    request::receiver::{DataReceiver, RequestReceiver},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

use super::{InboundLimits, MAX_RECIPIENTS};
use crate::NotificationApi;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Commands refused as malformed before the session is closed.
const MAX_ERRORS: u32 = 10;

/// Answers a connection over the limit and closes it.
pub(super) async fn refuse_busy(mut stream: TcpStream) {
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.write_all(b"421 4.7.0 Too many connections, try again later\r\n"),
    )
    .await;
}

/// Serves one session, within the session's time limit, holding `permit` (one of the listener's connections)
/// until the session is over — given back before the socket closes, so a client that sees the close can count
/// on the place being free.
pub(super) async fn serve(
    api: &NotificationApi,
    stream: TcpStream,
    limits: InboundLimits,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let deadline = Instant::now() + limits.session_timeout;
    let mut session = Session {
        api,
        stream,
        limits,
        unread: Vec::new(),
        hello: false,
        mail: false,
        deliveries: Vec::new(),
        errors: 0,
    };
    match tokio::time::timeout_at(deadline, session.run()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "inbound SMTP session ended early"),
        Err(_) => {
            let _ = session
                .send("421 4.4.2 Session lasted too long, closing connection")
                .await;
        }
    }
    drop(permit);
}

struct Session<'a> {
    api: &'a NotificationApi,
    stream: TcpStream,
    limits: InboundLimits,
    /// Bytes received and not parsed yet (pipelined commands, the start of DATA).
    unread: Vec<u8>,
    hello: bool,
    /// `MAIL FROM` seen in this transaction.
    mail: bool,
    /// The deliveries this transaction's recipients name.
    deliveries: Vec<String>,
    errors: u32,
}

/// Whether the session goes on after a command.
enum Next {
    Continue,
    Close,
}

impl Session<'_> {
    async fn run(&mut self) -> std::io::Result<()> {
        let greeting = format!(
            "220 {} ESMTP delivery reports only",
            self.api.mailer.bounce_domain()
        );
        self.send(&greeting).await?;
        let mut receiver = RequestReceiver::default();
        loop {
            let (parsed, consumed) = {
                let mut bytes = self.unread.iter();
                let parsed = receiver.ingest(&mut bytes).map(Request::into_owned);
                (parsed, self.unread.len() - bytes.as_slice().len())
            };
            self.unread.drain(..consumed);
            let next = match parsed {
                Ok(request) => self.handle(request).await?,
                Err(ParseError::NeedsMoreData { .. }) => {
                    if self.fill().await? {
                        Next::Continue
                    } else {
                        Next::Close
                    }
                }
                Err(ParseError::ResponseTooLong) => self.refuse("500 5.5.2 Line too long").await?,
                Err(ParseError::UnknownCommand) => {
                    self.refuse("500 5.5.1 Command not recognised").await?
                }
                Err(_) => self.refuse("501 5.5.4 Syntax error").await?,
            };
            if let Next::Close = next {
                return Ok(());
            }
        }
    }

    async fn handle(&mut self, request: Request<String>) -> std::io::Result<Next> {
        match request {
            Request::Ehlo { .. } => {
                self.reset();
                self.hello = true;
                let reply = format!(
                    "250-{}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES",
                    self.api.mailer.bounce_domain(),
                    self.limits.max_message_bytes
                );
                self.send(&reply).await?;
            }
            Request::Helo { .. } => {
                self.reset();
                self.hello = true;
                let reply = format!("250 {}", self.api.mailer.bounce_domain());
                self.send(&reply).await?;
            }
            Request::Mail { from } => {
                if !self.hello {
                    self.send("503 5.5.1 Say EHLO first").await?;
                } else if self.mail {
                    self.send("503 5.5.1 Sender already given").await?;
                } else if from.size > self.limits.max_message_bytes {
                    self.send("552 5.3.4 Message too big").await?;
                } else {
                    self.mail = true;
                    self.send("250 2.1.0 OK").await?;
                }
            }
            Request::Rcpt { to } => {
                if !self.mail {
                    self.send("503 5.5.1 Say MAIL FROM first").await?;
                } else if self.deliveries.len() >= MAX_RECIPIENTS {
                    self.send("452 4.5.3 Too many recipients").await?;
                } else {
                    match self.api.report_address(&to.address) {
                        Some(delivery_id) => {
                            self.deliveries.push(delivery_id);
                            self.send("250 2.1.5 OK").await?;
                        }
                        None => {
                            tracing::info!(recipient = %to.address, "inbound SMTP: refused a recipient that is not a delivery report address");
                            portal_runtime::metrics::delivery_report("refused");
                            self.send(
                                "550 5.7.1 Not a delivery report address here; relaying denied",
                            )
                            .await?;
                        }
                    }
                }
            }
            Request::Data => return self.data().await,
            Request::Rset => {
                self.reset();
                self.send("250 2.0.0 OK").await?;
            }
            Request::Noop { .. } => self.send("250 2.0.0 OK").await?,
            Request::Quit => {
                self.send("221 2.0.0 Bye").await?;
                return Ok(Next::Close);
            }
            Request::Vrfy { .. } | Request::Expn { .. } => {
                self.send("252 2.5.0 Cannot verify addresses").await?
            }
            _ => return self.refuse("502 5.5.1 Command not implemented").await,
        }
        Ok(Next::Continue)
    }

    /// DATA: reads the message to its final dot (a bigger one than allowed is read and thrown away), then
    /// records it for every recipient's delivery, and says `250` only once all are recorded.
    async fn data(&mut self) -> std::io::Result<Next> {
        if !self.mail {
            self.send("503 5.5.1 Say MAIL FROM first").await?;
            return Ok(Next::Continue);
        }
        if self.deliveries.is_empty() {
            self.send("554 5.5.1 No valid recipients").await?;
            return Ok(Next::Continue);
        }
        self.send("354 End data with <CR><LF>.<CR><LF>").await?;
        let mut receiver = DataReceiver::new();
        let mut message = Vec::new();
        let mut too_big = false;
        loop {
            let (done, consumed) = {
                let mut bytes = self.unread.iter();
                let done = receiver.ingest(&mut bytes, &mut message);
                (done, self.unread.len() - bytes.as_slice().len())
            };
            self.unread.drain(..consumed);
            if message.len() > self.limits.max_message_bytes {
                too_big = true;
                message.clear();
            }
            if done {
                break;
            }
            if !self.fill().await? {
                return Ok(Next::Close);
            }
        }
        let deliveries = std::mem::take(&mut self.deliveries);
        self.reset();
        if too_big {
            self.send("552 5.3.4 Message too big").await?;
            return Ok(Next::Continue);
        }
        let mut failed = false;
        for delivery_id in &deliveries {
            if let Err(e) = self.api.take_report(delivery_id, &message).await {
                tracing::warn!(delivery_id, error = %e, "recording a delivery report failed; the relay will send it again");
                failed = true;
            }
        }
        if failed {
            self.send("451 4.3.0 Could not record the report now; try again later")
                .await?;
        } else {
            self.send("250 2.0.0 Report recorded").await?;
        }
        Ok(Next::Continue)
    }

    fn reset(&mut self) {
        self.mail = false;
        self.deliveries.clear();
    }

    /// Answers a malformed or refused command; too many of them end the session.
    async fn refuse(&mut self, reply: &str) -> std::io::Result<Next> {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            self.send("421 4.7.0 Too many errors, closing connection")
                .await?;
            return Ok(Next::Close);
        }
        self.send(reply).await?;
        Ok(Next::Continue)
    }

    /// Reads more bytes; `false` when the client closed. A client silent past the idle timeout is told so
    /// and cut off.
    async fn fill(&mut self) -> std::io::Result<bool> {
        let mut chunk = vec![0; READ_CHUNK];
        match tokio::time::timeout(self.limits.idle_timeout, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) => Ok(false),
            Ok(Ok(n)) => {
                self.unread.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => {
                let _ = self
                    .send("421 4.4.2 Idle too long, closing connection")
                    .await;
                Ok(false)
            }
        }
    }

    async fn send(&mut self, reply: &str) -> std::io::Result<()> {
        let line = format!("{reply}\r\n");
        match tokio::time::timeout(
            self.limits.idle_timeout,
            self.stream.write_all(line.as_bytes()),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }
}
