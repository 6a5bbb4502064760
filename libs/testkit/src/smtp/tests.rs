//! The sink's own behaviour: what it counts as a message on its way.

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::*;

/// A hand-driven SMTP client, to put the sink in a chosen state.
struct Client {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Client {
    async fn connect(sink: &SmtpSink) -> Self {
        let (read, write) = TcpStream::connect(sink.address).await.unwrap().into_split();
        let mut client = Self {
            read: BufReader::new(read),
            write,
        };
        assert!(client.reply().await.starts_with("220"));
        client
    }

    /// The last line of the next reply (multi-line replies continue with `-` after the code).
    async fn reply(&mut self) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            self.read.read_line(&mut line).await.unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return line;
            }
        }
    }

    async fn say(&mut self, command: &str) -> String {
        self.write
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }
}

#[tokio::test]
async fn a_message_is_in_flight_from_mail_from_until_it_is_accepted() {
    let sink = SmtpSink::start().await;
    let mut client = Client::connect(&sink).await;
    client.say("EHLO test").await;
    assert_eq!(sink.in_flight(), 0);
    assert!(
        client
            .say("MAIL FROM:<a@x.example>")
            .await
            .starts_with("250")
    );
    assert!(client.say("RCPT TO:<b@x.example>").await.starts_with("250"));
    assert!(client.say("DATA").await.starts_with("354"));
    assert_eq!((sink.in_flight(), sink.count()), (1, 0));
    let accepted = client.say("Subject: hi\r\n\r\nbody\r\n.").await;
    assert!(accepted.starts_with("250"), "{accepted}");
    assert_eq!((sink.in_flight(), sink.count()), (0, 1));
    assert_eq!(sink.received()[0].header("subject").as_deref(), Some("hi"));
}

#[tokio::test]
async fn rset_or_a_dropped_connection_ends_the_transaction() {
    let sink = SmtpSink::start().await;
    let mut client = Client::connect(&sink).await;
    client.say("MAIL FROM:<a@x.example>").await;
    assert_eq!(sink.in_flight(), 1);
    client.say("RSET").await;
    assert_eq!(sink.in_flight(), 0);
    client.say("MAIL FROM:<a@x.example>").await;
    assert_eq!(sink.in_flight(), 1);
    drop(client);
    crate::wait::until(
        "the sink to see the client go",
        Duration::from_secs(5),
        async || match sink.in_flight() {
            0 => Ok(()),
            open => Err(open),
        },
    )
    .await;
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn an_outage_closes_open_connections_and_refuses_new_ones_until_up() {
    let sink = SmtpSink::start().await;
    let mut pooled = Client::connect(&sink).await;
    pooled.say("EHLO test").await;
    pooled.say("MAIL FROM:<a@x.example>").await;
    pooled.say("RCPT TO:<b@x.example>").await;
    assert!(pooled.say("DATA").await.starts_with("354"));
    sink.down();
    let refused = pooled.say("Subject: hi\r\n\r\nbody\r\n.").await;
    assert!(refused.starts_with("421"), "{refused}");
    assert_eq!(sink.count(), 0, "a message the outage cut off is not kept");
    assert!(TcpStream::connect(sink.address).await.is_err());
    sink.up().await;
    let mut client = Client::connect(&sink).await;
    assert!(client.say("NOOP").await.starts_with("250"));
}
