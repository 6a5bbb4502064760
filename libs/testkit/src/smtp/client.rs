//! A plain SMTP client for tests that must see every reply — the inbound listener's `550` for a relay attempt,
//! its `250` once a report is recorded — which a mail library hides behind one error.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

/// The replies of one transaction: to MAIL, to each RCPT, to DATA, and to the message (when DATA got `354`).
#[derive(Debug, Clone, Default)]
pub struct Dialogue {
    pub mail: u16,
    pub rcpt: Vec<u16>,
    pub data: u16,
    /// The reply to the message itself (0 when it was never sent).
    pub message: u16,
    /// The last reply's text.
    pub last: String,
}

/// Sends `data` (a whole message, CRLF line endings) from `from` to `rcpts` at `address`, one command at a time,
/// and returns each reply code, once the server has closed the session. Panics when the server cannot be talked to
/// at all.
pub async fn send(address: SocketAddr, from: &str, rcpts: &[&str], data: &[u8]) -> Dialogue {
    let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(address))
        .await
        .unwrap_or_else(|_| panic!("connecting to {address} timed out"))
        .unwrap_or_else(|e| panic!("connecting to {address}: {e}"));
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut dialogue = Dialogue::default();
    reply(&mut read, &mut dialogue.last).await;
    command(
        &mut write,
        &mut read,
        "EHLO tests.example",
        &mut dialogue.last,
    )
    .await;
    dialogue.mail = command(
        &mut write,
        &mut read,
        &format!("MAIL FROM:<{from}>"),
        &mut dialogue.last,
    )
    .await;
    for rcpt in rcpts {
        let code = command(
            &mut write,
            &mut read,
            &format!("RCPT TO:<{rcpt}>"),
            &mut dialogue.last,
        )
        .await;
        dialogue.rcpt.push(code);
    }
    dialogue.data = command(&mut write, &mut read, "DATA", &mut dialogue.last).await;
    if dialogue.data == 354 {
        let mut body = Vec::with_capacity(data.len() + 8);
        for line in data.split_inclusive(|b| *b == b'\n') {
            if line.starts_with(b".") {
                body.push(b'.');
            }
            body.extend_from_slice(line);
        }
        if !body.ends_with(b"\r\n") {
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b".\r\n");
        write
            .write_all(&body)
            .await
            .unwrap_or_else(|e| panic!("sending DATA: {e}"));
        dialogue.message = reply(&mut read, &mut dialogue.last).await;
    }
    // Until the server has closed the session, it may still hold its place: a test that opens the next
    // session at once must find it free.
    if write.write_all(b"QUIT\r\n").await.is_ok() {
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), read.read_to_end(&mut rest)).await;
    }
    dialogue
}

async fn command(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &str,
    last: &mut String,
) -> u16 {
    write
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .unwrap_or_else(|e| panic!("sending {line:?}: {e}"));
    reply(read, last).await
}

/// Reads one (possibly multi-line) reply; its code.
async fn reply(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, last: &mut String) -> u16 {
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(30), read.read_line(&mut line))
            .await
            .unwrap_or_else(|_| panic!("no reply within 30 s"))
            .unwrap_or_else(|e| panic!("reading a reply: {e}"));
        if n == 0 {
            return 0;
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            *last = line.trim_end().to_string();
            return line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        }
    }
}
