//! A PostgreSQL server of the test's own, so a fault test can restart it, stop it, freeze it and kill its
//! connections without touching the shared server on 5432: `initdb` into a temp dir, `pg_ctl` on a free port, trust auth, gone
//! when dropped. The binaries are `TEST_POSTGRES_BIN`, else `pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/*/bin`. PostgreSQL refuses to run as root, so under root the cluster belongs to (and runs
//! as) the OS user `TEST_POSTGRES_OS_USER` (default `postgres`), through `runuser`.

use std::{
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::Command,
};

/// How `pg_ctl` stops the server: `Fast` rolls back open transactions and disconnects cleanly; `Immediate` is a
/// crash (no checkpoint), recovered from the WAL at the next start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    Fast,
    Immediate,
}

impl StopMode {
    fn as_arg(self) -> &'static str {
        match self {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        }
    }
}

pub struct PrivateCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    run_as: Option<String>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for PrivateCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateCluster")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TEST_POSTGRES_BIN") {
        return dir.into();
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    versions.pop().unwrap_or_else(|| {
        panic!(
            "a private PostgreSQL cluster needs the server binaries (initdb, pg_ctl): none found through \
             TEST_POSTGRES_BIN, pg_config --bindir or /usr/lib/postgresql/*/bin"
        )
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("a free port: {e}"))
}

impl PrivateCluster {
    /// Creates and starts a cluster with an empty database `portal`. Blocking (initdb takes a second or two): call it from `spawn_blocking` or
    /// before the load starts.
    pub fn start() -> Self {
        let bin = bin_dir();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let run_as = root
            .then(|| std::env::var("TEST_POSTGRES_OS_USER").unwrap_or_else(|_| "postgres".into()));
        if let Some(user) = &run_as {
            let status = Command::new("chown")
                .arg(user)
                .arg(dir.path())
                .status()
                .unwrap_or_else(|e| panic!("chown: {e}"));
            assert!(status.success(), "chown {user} {}", dir.path().display());
        }
        let cluster = Self {
            bin,
            data: dir.path().join("data"),
            port: free_port(),
            run_as,
            _dir: dir,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data.display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_again();
        cluster.sql("postgres", "CREATE DATABASE portal");
        cluster
    }

    /// `tool` of the server's binaries, run as the cluster's owner.
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) -> String {
        let program = self.bin.join(tool);
        let out = self
            .command(tool)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' -c max_connections=200",
            self.port,
            self.data.parent().unwrap_or(&self.data).display()
        );
        let log = self.data.parent().unwrap_or(&self.data).join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-l",
                &log.display().to_string(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops the server (waiting until it is down).
    pub fn stop(&self, mode: StopMode) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-m",
                mode.as_arg(),
                "-w",
                "-t",
                "60",
                "stop",
            ],
        );
    }

    /// Runs `sql` with `psql` on `database` and returns its unaligned output (one row a line).
    pub fn sql(&self, database: &str, sql: &str) -> String {
        let port = self.port.to_string();
        self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
        )
    }

    /// Starts `sql` in a `psql` session of its own and returns at once: a session holding a lock, say, until
    /// the returned process is killed (which ends the session and rolls its transaction back).
    pub fn spawn_sql(&self, database: &str, sql: &str) -> std::process::Child {
        let port = self.port.to_string();
        self.command("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                database,
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-Atc", sql])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("psql: {e}"))
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Freezes the server until the guard is dropped: SIGSTOP to the postmaster and every process it started
    /// (backends, checkpointer, WAL writer…). Connections stay open and new ones are accepted by the kernel, but
    /// nothing answers and nothing is refused — a hung host, or a network that drops packets.
    pub fn freeze(&self) -> Frozen {
        let postmaster = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|pid| {
                pid.lines()
                    .next()
                    .and_then(|l| l.trim().parse::<u32>().ok())
            })
            .unwrap_or_else(|| panic!("the postmaster's pid in {}", self.data.display()));
        let mut pids = vec![postmaster];
        pids.extend(children_of(postmaster));
        assert!(signal("STOP", &pids), "kill -STOP {pids:?}");
        Frozen { pids }
    }
}

/// A frozen server ([`PrivateCluster::freeze`]); dropped, it runs again (SIGCONT).
#[derive(Debug)]
pub struct Frozen {
    pids: Vec<u32>,
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // No panic here (a test already failing would abort); a server left stopped shows in its own test.
        if !signal("CONT", &self.pids) {
            eprintln!("kill -CONT {:?} failed", self.pids);
        }
    }
}

/// The processes whose parent is `parent`, from `/proc`.
fn children_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after the last ')'.
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}

/// Sends SIG`name` to `pids`; whether every one got it.
fn signal(name: &str, pids: &[u32]) -> bool {
    Command::new("kill")
        .arg(format!("-{name}"))
        .args(pids.iter().map(u32::to_string))
        .status()
        .is_ok_and(|s| s.success())
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl");
        let data = self.data.display().to_string();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = match &self.run_as {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--"])
                .arg(&program)
                .args(args)
                .output(),
            None => Command::new(&program).args(args).output(),
        };
    }
}
