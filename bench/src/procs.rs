//! The processes a run measures or leans on: the suite (`portal up`), the echo baseline, Postfix's
//! `smtp-sink`, and a PostgreSQL database of the run's own. Each is killed (and the database dropped) on drop.

use std::{
    io::{BufRead, BufReader, Read},
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// A free port on 127.0.0.1 (bound and released; the child binds it a moment later).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process killed when dropped.
#[derive(Debug)]
pub struct Guard(pub Child);

impl Guard {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Peak resident set size so far (`VmHWM`), in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        self.status_mib("VmHWM:")
    }

    /// A size line of `/proc/<pid>/status` (`VmRSS:`, `RssAnon:`, `RssFile:` …), in MiB.
    pub fn status_mib(&self, field: &str) -> Option<f64> {
        status_mib(self.pid(), field)
    }
}

/// A size line of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:` …), in MiB.
pub fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for a line of the child's stdout starting with `prefix`; returns that line.
fn wait_for_line(child: &mut Child, prefix: &str, timeout: Duration) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("child has no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    let wanted = prefix.to_string();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && line.starts_with(&wanted) {
                let _ = tx.send(line);
                sent = true;
            }
        }
    });
    rx.recv_timeout(timeout)
        .with_context(|| format!("no line starting with {prefix:?} within {timeout:?}"))
}

/// The echo baseline: this binary again, as `portal-bench echo-server`.
pub fn start_echo() -> anyhow::Result<(Guard, String)> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["echo-server", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the echo server")?;
    let line = wait_for_line(&mut child, "listening ", Duration::from_secs(10))?;
    let address = line.trim_start_matches("listening ").to_string();
    Ok((Guard(child), address))
}

/// Postfix's discard sink, counting messages (`-c`); the count is read from its running counter line.
#[derive(Debug)]
pub struct Sink {
    _guard: Guard,
    pub port: u16,
    counter: Arc<Mutex<u64>>,
}

impl Sink {
    pub fn start() -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut command = Command::new("smtp-sink");
        command.arg("-c");
        // smtp-sink refuses to run as root without a user to drop to.
        if std::env::var("USER").as_deref() == Ok("root") || is_root() {
            command.args(["-u", "nobody"]);
        }
        let mut child = command
            .arg(format!("127.0.0.1:{port}"))
            .arg("256")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting smtp-sink (Debian package postfix; scripts/bench.sh installs it)")?;
        let mut stdout = child.stdout.take().context("smtp-sink has no stdout")?;
        let counter = Arc::new(Mutex::new(0));
        let seen = counter.clone();
        // The counter line is rewritten with \r: "sess=N quit=N mesg=N".
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            let mut pending = String::new();
            while let Ok(n) = stdout.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                pending.push_str(&String::from_utf8_lossy(&buffer[..n]));
                while let Some(end) = pending.find(['\r', '\n']) {
                    let line: String = pending.drain(..=end).collect();
                    if let Some(m) = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("mesg="))
                        .and_then(|m| m.trim().parse::<u64>().ok())
                        && let Ok(mut count) = seen.lock()
                    {
                        *count = (*count).max(m);
                    }
                }
            }
        });
        let sink = Self {
            _guard: Guard(child),
            port,
            counter,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("smtp-sink did not start listening on {port}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(sink)
    }

    /// Messages the sink accepted so far.
    pub fn count(&self) -> u64 {
        self.counter.lock().map(|c| *c).unwrap_or(0)
    }

    /// Waits until the sink has accepted `target` messages; false if `timeout` passed first.
    pub async fn wait_for(&self, target: u64, timeout: Duration) -> bool {
        let started = Instant::now();
        while self.count() < target {
            if started.elapsed() > timeout {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Postfix's own load source into this sink: 16 sessions, 4 KB messages. Returns messages per second.
    pub fn ceiling(&self, messages: u64) -> anyhow::Result<f64> {
        let before = self.count();
        let started = Instant::now();
        let status = Command::new("smtp-source")
            .args(["-s", "16", "-l", "4096", "-m", &messages.to_string()])
            .arg(format!("127.0.0.1:{}", self.port))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running smtp-source")?;
        if !status.success() {
            bail!("smtp-source failed: {status}");
        }
        let elapsed = started.elapsed();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.count() < before + messages && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(messages as f64 / elapsed.as_secs_f64())
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A PostgreSQL database made for this run and dropped afterwards.
#[derive(Debug)]
pub struct Database {
    admin_url: String,
    name: String,
    pub url: String,
}

impl Database {
    /// `admin_url` is a server URL ending in a database to connect to for CREATE/DROP DATABASE.
    pub fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("portal_bench_{}", std::process::id());
        psql(admin_url, &format!("DROP DATABASE IF EXISTS {name}"))?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(admin_url);
        Ok(Self {
            admin_url: admin_url.to_string(),
            url: format!("{base}/{name}"),
            name,
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let status = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdout(Stdio::null())
        .status()
        .context("running psql")?;
    if !status.success() {
        bail!("psql {sql:?} failed: {status}");
    }
    Ok(())
}

/// The suite under test: `portal up` from the directory this binary was built into.
#[derive(Debug)]
pub struct Suite {
    pub guard: Guard,
    pub address: String,
    pub data_dir: PathBuf,
    /// N14: the inbound SMTP listener delivery reports go to, and the domain of the return paths.
    pub inbound: String,
    pub bounce_domain: String,
}

impl Suite {
    pub fn start(
        portal: &Path,
        data_dir: &Path,
        database_url: Option<&str>,
        smtp_port: u16,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let inbound = format!("127.0.0.1:{}", free_port()?);
        share_signing_key(data_dir)?;
        let bounce_domain = "bounces.bench.example".to_string();
        let mut command = Command::new(portal);
        command
            .arg("up")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", &address])
            .args(["--smtp-url", &format!("smtp://127.0.0.1:{smtp_port}")])
            .env("PORTAL_TELEMETRY__LOG_FILTER", "warn")
            .env("PORTAL_SMTP__INBOUND__LISTEN", &inbound)
            .env("PORTAL_NOTIFICATION__PUBLIC__LISTEN", "127.0.0.1:0")
            .env("PORTAL_SMTP__BOUNCE_DOMAIN", &bounce_domain)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", portal.display()))?;
        wait_for_line(&mut child, "portal: serving", Duration::from_secs(60))?;
        Ok(Self {
            guard: Guard(child),
            address,
            data_dir: data_dir.to_path_buf(),
            inbound,
            bounce_domain,
        })
    }
}

/// Gives every suite of this run the same signing key: values sealed with it (the return paths the bounce
/// scenario computes, N13) use one secret per process, set once, so both backends' suites must share it.
fn share_signing_key(data_dir: &Path) -> anyhow::Result<()> {
    let shared = std::env::temp_dir().join(format!("portal-bench-key-{}", std::process::id()));
    let private = shared.join("signing-key.pem");
    let public = portal_runtime::auth::ensure_signing_key(&private)?;
    std::fs::create_dir_all(data_dir)?;
    std::fs::copy(&private, data_dir.join("signing-key.pem"))?;
    std::fs::copy(&public, data_dir.join("signing-key.pub.pem"))?;
    Ok(())
}

/// Where the `portal` binary is: next to this one (both built by `cargo build -p portal -p portal-bench`).
pub fn portal_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .context("binary has no directory")?
        .join("portal");
    if !path.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p portal` (scripts/bench.sh does)",
            path.display()
        );
    }
    Ok(path)
}

/// Where `SocketAddr` parsing is needed by the echo subcommand.
pub fn parse_address(value: &str) -> anyhow::Result<SocketAddr> {
    value
        .parse()
        .with_context(|| format!("bad address {value:?}"))
}
