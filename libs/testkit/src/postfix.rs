//! A private Postfix instance for tests: a real MTA between the suite and a test sink, so the suite's bounce
//! handling meets the DSNs (RFC 3464 `multipart/report` bounces and delay warnings) a real relay writes, not
//! hand-made ones. It listens on `127.0.0.1:<free port>`, relays all mail to one address (an
//! [`SmtpSink`](crate::smtp::SmtpSink), which can refuse recipients with a 550), and routes mail for the bounce
//! domain (the VERP envelope senders) to another: its DSNs reach the suite's inbound listener within ~0.1 s of
//! the refusal.
//!
//! Needs the Debian package `postfix` (`scripts/prepare.sh` installs it) and root: `postfix start` runs the master
//! as root, which drops to the `postfix` user for everything else. The system's own instance is not used.
//!
//! Each instance lives in a temp dir of its own — `conf/` (main.cf, master.cf, the transport map), `queue/`,
//! `data/` (master.lock) and `maillog`; Postfix keeps the master's pid in `queue/pid/`. Postfix tells instances
//! apart by config dir, so parallel tests (nextest's processes) never share one. Starting takes ~0.5–1 s. A test
//! killed outright (no `Drop`) does not leave its instance running: the shell that ran `postfix start` stays
//! behind, detached, and stops it once the test process is gone. Why the settings that are not Postfix's
//! defaults:
//!
//! - `postfix -c <dir>` as root needs no `alternate_config_directories` in the system's main.cf. `postfix start`
//!   creates the queue's subdirectories and the data dir (owned by `postfix`, as it must be) but not the queue
//!   dir itself, which the master `chdir`s to first. The instance dir is made world-traversable (0755): the
//!   master opens `data/master.lock` as the `postfix` user, and a 0700 temp dir makes that fail.
//! - `maillog_file` (with `maillog_file_prefixes` allowing it, and the `postlog` service in master.cf): there
//!   is no syslog here, and without a log file `postfix start` exits 1 without a word. The maillog is also what
//!   a failed start reports.
//! - master.cf lists `smtpd` on `127.0.0.1:<port>` (not 25), the services a relay needs, and nothing chrooted:
//!   Debian's default chroots into the queue dir, which would need copies of /etc files there.
//! - `compatibility_level = 3.6`: no backwards-compatibility warnings, current defaults (Debian 12 has 3.7).
//! - `inet_interfaces = loopback-only`, `inet_protocols = ipv4`, `mynetworks = 127.0.0.0/8` with
//!   `smtpd_relay_restrictions = permit_mynetworks, reject`: only the loopback may relay, and nothing depends on
//!   the machine having IPv6.
//! - `mydestination =` (and no alias maps): nothing is delivered locally; every address goes on by SMTP, and
//!   no `/etc/aliases` database is needed.
//! - `myhostname = relay.example.test`: a fixed name in the DSNs (`Reporting-MTA`, `MAILER-DAEMON@…`) instead
//!   of the machine's, and no lookup of it.
//! - `smtp_dns_support_level = disabled`, `smtpd_peername_lookup = no`: the sandbox has no DNS; next hops are
//!   bracketed IP literals (no MX lookups) and clients are not reverse-resolved.
//! - `smtputf8_enable = no`: DSNs stay RFC 3464 (`message/delivery-status`), never the RFC 6533
//!   `message/global-delivery-status` a message sent with SMTPUTF8 would get; the suite's mail is ASCII.
//! - `transport_maps = texthash:…` (`<bounce domain> smtp:[127.0.0.1]:<port>`): the DSN goes to the VERP sender,
//!   which must reach the suite's inbound listener rather than the relay host; `texthash` needs no `postmap`.
//! - `queue_run_delay`, `minimal_backoff_time` = 1 s, `maximal_backoff_time` = 2 s: a deferred message is retried
//!   within seconds, not minutes. `delay_warning_time = 1s`: a 4xx (or an unreachable sink) is reported at once
//!   as a delay DSN (`Action: delayed`); Postfix logs warnings that its delay template's "hours" round to 0,
//!   which only touch the DSN's prose. `maximal_queue_lifetime = bounce_queue_lifetime = 1m`: a message still
//!   deferred after a minute bounces, and an undeliverable DSN is dropped, within a test's time.

use std::{
    io,
    net::SocketAddr,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    time::Instant,
};

const POSTFIX: &str = "/usr/sbin/postfix";

/// How long [`Postfix::start`] may take before it gives up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Tries with a fresh port when the one picked was taken meanwhile (another test bound it between our probe
/// and Postfix's bind).
const PORT_ATTEMPTS: usize = 3;

/// How much of the maillog an error shows.
const LOG_TAIL_LINES: usize = 30;

/// A running private Postfix; stopped, and its directory removed, when dropped.
#[derive(Debug)]
pub struct Postfix {
    dir: tempfile::TempDir,
    port: u16,
    /// The shell that ran `postfix start` and now stops the instance if this process dies without dropping it
    /// (a killed test), so no stray Postfix keeps retrying deliveries to ports that later tests reuse.
    watchdog: Option<Child>,
}

impl Postfix {
    /// Whether the Postfix binaries are installed.
    pub fn available() -> bool {
        Path::new(POSTFIX).exists()
    }

    /// Starts a private instance: listens on 127.0.0.1:<free port>, relays everything to `relay_to`, and routes
    /// mail for `bounce_domain` to `bounces_to`. Returns once its smtpd answers; the error of a failed start
    /// carries the tail of the instance's maillog.
    pub async fn start(
        relay_to: SocketAddr,
        bounce_domain: &str,
        bounces_to: SocketAddr,
    ) -> io::Result<Postfix> {
        if !Self::available() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("postfix is not installed ({POSTFIX} is missing): run scripts/prepare.sh"),
            ));
        }
        let relay_to = ipv4_literal(relay_to)?;
        let bounces_to = ipv4_literal(bounces_to)?;
        if bounce_domain.is_empty()
            || !bounce_domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bounce domain {bounce_domain:?} is not a plain domain name"),
            ));
        }

        let dir = tempfile::Builder::new()
            .prefix("portal-postfix-")
            .tempdir()?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        let conf = dir.path().join("conf");
        std::fs::create_dir(&conf)?;
        std::fs::create_dir(dir.path().join("queue"))?;
        std::fs::write(
            conf.join("main.cf"),
            main_cf(dir.path(), &relay_to, &conf.join("transport")),
        )?;
        std::fs::write(
            conf.join("transport"),
            format!("{bounce_domain} smtp:{bounces_to}\n"),
        )?;

        // From here on, dropping `postfix` stops whatever was started.
        let mut postfix = Postfix {
            dir,
            port: 0,
            watchdog: None,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        for attempt in 1..=PORT_ATTEMPTS {
            postfix.port = free_port()?;
            std::fs::write(conf.join("master.cf"), master_cf(postfix.port))?;
            let logged_before = postfix.log().len();
            match postfix.launch(deadline).await {
                Ok(()) => {}
                Err(_)
                    if attempt < PORT_ATTEMPTS
                        && postfix
                            .log()
                            .get(logged_before..)
                            .is_some_and(|new| new.contains("Address already in use")) =>
                {
                    continue;
                }
                Err(e) => return Err(postfix.failure(&e.to_string())),
            }
            return match postfix.wait_ready(deadline).await {
                Ok(()) => Ok(postfix),
                Err(e) => Err(postfix.failure(&e)),
            };
        }
        Err(postfix.failure("every port tried was taken"))
    }

    /// `smtp://127.0.0.1:<port>`, for `smtp.url`.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    fn maillog(&self) -> PathBuf {
        self.dir.path().join("maillog")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.maillog()).unwrap_or_default()
    }

    /// `postfix start`, run by a shell of its own that afterwards waits for this process to end and then stops
    /// the instance and removes its directory, unless `Drop` did already. The shell is in its own process group
    /// (out of reach of a test runner killing ours), and doing both in one shell means a test killed during the
    /// start cannot have its cleanup run before the master exists. Returns once the master has bound its ports
    /// and started (`master -w`), or failed.
    async fn launch(&mut self, deadline: Instant) -> io::Result<()> {
        self.stop_watchdog();
        let status = self.dir.path().join("start.status");
        let output = self.dir.path().join("start.out");
        let _ = std::fs::remove_file(&status);
        self.watchdog = Some(
            Command::new("/bin/sh")
                .arg("-c")
                .arg(concat!(
                    r#""$3" -c "$2/conf" start >"$2/start.out" 2>&1; "#,
                    r#"echo $? >"$2/start.status.new"; mv "$2/start.status.new" "$2/start.status"; "#,
                    r#"while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done; "#,
                    r#"if [ -d "$2" ]; then "$3" -c "$2/conf" stop; rm -rf "$2"; fi"#,
                ))
                .arg("postfix-watchdog")
                .arg(std::process::id().to_string())
                .arg(self.dir.path())
                .arg(POSTFIX)
                .stdin(Stdio::null())
                // Not the test's pipes: a runner reading them would wait for this shell to exit.
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()?,
        );
        let code = loop {
            if let Ok(code) = std::fs::read_to_string(&status) {
                break code;
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!(
                    "`postfix start` took over {START_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        if code.trim() == "0" {
            return Ok(());
        }
        Err(io::Error::other(format!(
            "`postfix start` failed (exit status {}): {}",
            code.trim(),
            std::fs::read_to_string(&output).unwrap_or_default().trim()
        )))
    }

    fn stop_watchdog(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }

    /// Waits for an smtpd greeting: the master listening is not enough when smtpd itself cannot run.
    async fn wait_ready(&self, deadline: Instant) -> Result<(), String> {
        let mut last = String::from("no attempt");
        while Instant::now() < deadline {
            match tokio::time::timeout_at(deadline, greeting(self.port)).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = "no greeting".into(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "smtpd on 127.0.0.1:{} did not answer within {START_TIMEOUT:?}: {last}",
            self.port
        ))
    }

    fn failure(&self, what: &str) -> io::Error {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        io::Error::other(format!(
            "starting postfix in {}: {what}\n--- {} (last {LOG_TAIL_LINES} lines) ---\n{tail}",
            self.dir.path().display(),
            self.maillog().display(),
        ))
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.stop_watchdog();
        // `stop` waits (up to 5 s, then kills the master's process group) until the master is gone; it fails
        // harmlessly when the instance never started. The temp dir is removed after this.
        let _ = Command::new(POSTFIX)
            .arg("-c")
            .arg(self.conf())
            .arg("stop")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Postfix's next-hop syntax for `address`; the instance speaks IPv4 only.
fn ipv4_literal(address: SocketAddr) -> io::Result<String> {
    match address {
        SocketAddr::V4(v4) => Ok(format!("[{}]:{}", v4.ip(), v4.port())),
        SocketAddr::V6(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{address}: the test Postfix relays over IPv4 only"),
        )),
    }
}

fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

async fn greeting(port: u16) -> io::Result<()> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    if !line.starts_with("220") {
        return Err(io::Error::other(format!("greeting {:?}", line.trim_end())));
    }
    let _ = write.write_all(b"QUIT\r\n").await;
    Ok(())
}

fn main_cf(dir: &Path, relay_to: &str, transport: &Path) -> String {
    let dir = dir.display();
    let transport = transport.display();
    format!(
        "# A private test instance, written by portal_testkit::postfix (see there for why each setting).
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
myhostname = relay.example.test
mydestination =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtputf8_enable = no
relayhost = {relay_to}
transport_maps = texthash:{transport}
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 1s
maximal_queue_lifetime = 1m
bounce_queue_lifetime = 1m
"
    )
}

fn master_cf(port: u16) -> String {
    format!(
        "# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"
    )
}

#[cfg(test)]
mod tests;
