//! The `portal` binary as a user runs it: `up` prints one line when serving, `token` output authenticates,
//! SIGTERM stops it cleanly, bad flags and bad configuration exit with code 2 and a clear message.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use tonic::{Code, Request, metadata::MetadataValue, transport::Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const PORTAL: &str = env!("CARGO_BIN_EXE_portal");

struct Running {
    child: Child,
    address: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `portal up` on a free port and waits for its ready line.
fn up(data_dir: &std::path::Path) -> Running {
    let mut child = Command::new(PORTAL)
        .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("PORTAL_NOTIFICATION__PUBLIC__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("portal: serving identity, licensing, billing, notification on "),
        "{line}"
    );
    let address = line.trim().rsplit(' ').next().unwrap().to_string();
    Running { child, address }
}

fn token(data_dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(PORTAL)
        .arg("token")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn up_serves_every_service_and_minted_tokens_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = up(dir.path());
    assert!(
        dir.path().join("signing-key.pem").exists(),
        "the signing key is created on first start"
    );

    let channel = Endpoint::from_shared(format!("http://{}", running.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    for name in [
        "portal.identity.v1.IdentityService",
        "portal.licensing.v1.LicensingService",
        "portal.billing.v1.BillingService",
        "portal.notification.v1.NotificationService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: name.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{name}");
    }

    use portal_proto::identity::{
        GetAccountRequest, identity_service_client::IdentityServiceClient,
    };
    let mut identity = IdentityServiceClient::new(channel);
    let unauthenticated = identity
        .get_account(GetAccountRequest {
            account_id: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
    for args in [
        &["--user", "user-1"][..],
        &["--service", "ops", "--scope", "identity.admin"][..],
    ] {
        let token = token(dir.path(), args);
        let mut request = Request::new(GetAccountRequest {
            account_id: "x".into(),
        });
        let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
        let code = match identity.get_account(request).await {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        };
        assert_ne!(code, Code::Unauthenticated, "{args:?}");
    }

    // SIGTERM: a clean exit.
    let pid = running.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || {
        let status = running.child.wait();
        drop(running);
        status
    });
    let status = tokio::time::timeout(Duration::from_secs(30), status)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_bad_flag_exits_2() {
    let out = Command::new(PORTAL)
        .args(["up", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
}

#[test]
fn bad_configuration_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(PORTAL)
        .args(["up", "--data-dir"])
        .arg(dir.path())
        .env("PORTAL_SERVER__CONCURRENCY_LIMIT", "many")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("concurrency_limit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(PORTAL)
        .args(["up", "--listen", "not-an-address", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let config = dir.path().join("portal.toml");
    std::fs::write(&config, "[database]\nurl = \"mysql://nope\"\n").unwrap();
    let out = Command::new(PORTAL)
        .args(["up", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("database.url"));

    std::fs::write(
        &config,
        "[[notification.csaf_products]]\nproduct = \"TOASTER\"\nnames = [\"Example Toaster\"]\n",
    )
    .unwrap();
    let out = Command::new(PORTAL)
        .args(["up", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("notification.csaf_products[0].product"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn token_without_a_key_explains_itself() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(PORTAL)
        .args(["token", "--user", "u", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("portal up"));
}

#[test]
fn migrate_applies_every_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(PORTAL)
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for service in ["identity", "licensing", "billing", "notification"] {
        assert!(
            dir.path().join(format!("{service}.db")).exists(),
            "{service}"
        );
    }
}

/// Every path under `dir`, recursively.
#[cfg(unix)]
fn tree(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            paths.extend(tree(&path));
        }
        paths.push(path);
    }
    paths
}

#[cfg(unix)]
#[test]
fn the_data_directory_and_everything_in_it_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // An existing, world-readable data directory (as earlier versions left it) is narrowed too.
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let running = up(&data);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let paths = tree(&data);
    assert!(
        paths
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "db")),
        "{paths:?}"
    );
    for path in &paths {
        assert_eq!(
            mode(path) & 0o077,
            0,
            "{} is {:o}",
            path.display(),
            mode(path)
        );
    }
    drop(running);
}
