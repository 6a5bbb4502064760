//! A real SMTP listener for tests: it speaks enough ESMTP for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP,
//! QUIT), keeps every message it accepts, can refuse connections for a while (an outage: new connections are
//! refused and open ones answered `421` and closed, pooled ones included), and can answer
//! chosen recipients with a permanent 550. It also counts the transactions still open (`MAIL FROM` seen, the
//! message not yet accepted or abandoned), so a test can tell that no mail is on its way. No TLS or AUTH: tests
//! use plain `smtp://`.

pub mod client;

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The value of header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut().filter(|_| line.starts_with([' ', '\t'])) {
                v.push_str(line.trim_start());
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((key, rest)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                value = Some(rest.trim().to_string());
            }
        }
        value
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    reject: HashSet<String>,
    delay: Duration,
    /// Transactions begun (`MAIL FROM`) and not yet accepted, reset or dropped.
    open: usize,
    /// Bumped by every outage: a session begun before it answers its next command with `421` and closes.
    epoch: u64,
}

pub struct SmtpSink {
    address: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("smtp sink: {e}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("smtp sink: {e}"));
        let sink = Self {
            address,
            shared: Arc::new(Mutex::new(Shared::default())),
            accept: Mutex::new(None),
        };
        sink.serve(listener);
        sink
    }

    /// Where the sink listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `smtp://127.0.0.1:<port>` for `smtp.url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    fn serve(&self, listener: TcpListener) {
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(session(stream, shared.clone()));
            }
        });
        if let Ok(mut accept) = self.accept.lock() {
            *accept = Some(task);
        }
    }

    /// Stops listening: new connections are refused until [`SmtpSink::up`], and the open ones (a client's
    /// pool) are answered `421` at their next command and closed; a message not yet accepted is not kept.
    pub fn down(&self) {
        if let Some(task) = self.accept.lock().ok().and_then(|mut a| a.take()) {
            task.abort();
        }
        if let Ok(mut shared) = self.shared.lock() {
            shared.epoch += 1;
        }
    }

    /// Listens again on the same port.
    pub async fn up(&self) {
        let listener = TcpListener::bind(self.address)
            .await
            .unwrap_or_else(|e| panic!("smtp sink rebind: {e}"));
        self.serve(listener);
    }

    /// Answer `RCPT TO` for `address` with a permanent 550.
    pub fn reject(&self, address: &str, rejected: bool) {
        if let Ok(mut shared) = self.shared.lock() {
            if rejected {
                shared.reject.insert(address.to_lowercase());
            } else {
                shared.reject.remove(&address.to_lowercase());
            }
        }
    }

    /// Wait this long before accepting each message (slows a fan-out down, e.g. to crash it mid-way).
    pub fn delay(&self, delay: Duration) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.delay = delay;
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared
            .lock()
            .map(|s| s.received.clone())
            .unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.shared
            .lock()
            .map(|s| s.received.len())
            .unwrap_or_default()
    }

    /// How many messages satisfy `matches`, without copying them (a fan-out's tens of thousands included).
    pub fn count_matching(&self, matches: impl Fn(&Received) -> bool) -> usize {
        self.shared
            .lock()
            .map(|s| s.received.iter().filter(|m| matches(m)).count())
            .unwrap_or_default()
    }

    /// Messages on their way: transactions begun with `MAIL FROM` and not yet accepted, reset or dropped.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().map(|s| s.open).unwrap_or_default()
    }

    /// Waits until at least `n` messages arrived (panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        crate::wait::until(
            &format!("{n} messages at the smtp sink"),
            timeout,
            async || {
                let received = self.received();
                if received.len() >= n {
                    Ok(received)
                } else {
                    Err(format!("{} messages", received.len()))
                }
            },
        )
        .await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.down();
    }
}

/// A session's open transaction, counted in [`Shared::open`] until it ends — also when the client goes away.
struct Transaction {
    shared: Arc<Mutex<Shared>>,
    open: bool,
}

impl Transaction {
    fn begin(&mut self) {
        if !self.open
            && let Ok(mut shared) = self.shared.lock()
        {
            shared.open += 1;
            self.open = true;
        }
    }

    fn end(&mut self) {
        if self.open
            && let Ok(mut shared) = self.shared.lock()
        {
            shared.open -= 1;
            self.open = false;
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.end();
    }
}

async fn session(stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    // Replies are small writes answering small reads: without this, Nagle and delayed ACKs add ~40 ms a command.
    let _ = stream.set_nodelay(true);
    let epoch = shared.lock().map(|s| s.epoch).unwrap_or_default();
    let gone = || shared.lock().map(|s| s.epoch != epoch).unwrap_or(true);
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 sink ESMTP ready\r\n").await.is_err() {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut transaction = Transaction {
        shared: shared.clone(),
        open: false,
    };
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let reply: String = if gone() {
            let _ = write
                .write_all(b"421 4.3.2 service shutting down\r\n")
                .await;
            return;
        } else if upper.starts_with("EHLO") {
            "250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".into()
        } else if upper.starts_with("HELO") {
            "250 sink\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            transaction.begin();
            from = address_of(&command);
            to.clear();
            "250 OK\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = address_of(&command);
            let rejected = shared
                .lock()
                .map(|s| s.reject.contains(&rcpt.to_lowercase()))
                .unwrap_or(false);
            if rejected {
                "550 5.1.1 mailbox unavailable\r\n".into()
            } else {
                to.push(rcpt);
                "250 OK\r\n".into()
            }
        } else if upper == "DATA" {
            if write
                .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                .await
                .is_err()
            {
                return;
            }
            let mut data = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == ".\r\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(unstuffed);
            }
            let delay = shared.lock().map(|s| s.delay).unwrap_or_default();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            // Checked and kept under one lock: a message is either kept before an outage or cut off by it.
            let kept = shared.lock().is_ok_and(|mut shared| {
                if shared.epoch != epoch {
                    return false;
                }
                shared.received.push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
                true
            });
            if !kept {
                let _ = write
                    .write_all(b"421 4.3.2 service shutting down\r\n")
                    .await;
                return;
            }
            transaction.end();
            "250 OK queued\r\n".into()
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            if upper == "RSET" {
                transaction.end();
            }
            // RSET, NOOP and anything else lettre may send.
            "250 OK\r\n".into()
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn address_of(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_string()
}

#[cfg(test)]
mod tests;
