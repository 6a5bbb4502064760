//! `portal advisory` as the PSIRT's pipeline runs it against a running suite: `publish --csaf FILE` prints the
//! advisory it published (exit 0), `export ADV-…` prints valid CSAF, a refused document exits 1 naming the
//! failing JSON paths, and a missing token exits 2.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::process::Output;

use portal_testkit::{Backend, TestApp};
use tokio::process::Command;

const PORTAL: &str = env!("CARGO_BIN_EXE_portal");
const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/csaf/example-sa-2026-0142.json"
);

async fn portal(app: &TestApp, token: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(PORTAL);
    command
        .arg("advisory")
        .args(args)
        .args(["--endpoint", &format!("http://{}", app.address)])
        .env_remove("PORTAL_TOKEN");
    if let Some(token) = token {
        command.env("PORTAL_TOKEN", token);
    }
    command.output().await.unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisory_publish_and_export_drive_a_running_suite() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.service_token("psirt", "notification.publish");

    let out = portal(
        &app,
        Some(&token),
        &["publish", "--csaf", EXAMPLE, "--all-accounts"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = stdout(&out);
    let first = printed.lines().next().unwrap();
    assert!(
        first.starts_with("published ADV-") && first.contains("[CRITICAL]"),
        "{printed}"
    );
    assert!(
        printed.contains("csaf: EXA-SA-2026-0142 version 2"),
        "{printed}"
    );
    assert!(
        printed.contains("cves: CVE-2026-41001, CVE-2026-41002, CVE-2026-41003"),
        "{printed}"
    );
    let advisory_id = first.split(' ').nth(1).unwrap().to_string();

    // A rerun publishes nothing new: the same advisory.
    let again = portal(
        &app,
        Some(&token),
        &["publish", "--csaf", EXAMPLE, "--all-accounts"],
    )
    .await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).starts_with(&format!("published {advisory_id} ")));

    // The token may also come as a flag.
    let out = portal(&app, None, &["export", &advisory_id, "--token", &token]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(document["document"]["tracking"]["id"], "EXA-SA-2026-0142");
    assert_eq!(
        document["document"]["tracking"]["aliases"],
        serde_json::json!([advisory_id])
    );
    portal_notification::domain::csaf::n11_check_schema(&document).unwrap();

    // A document that fails the schema: exit 1, each failing path on stderr.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    let mut broken = document.clone();
    broken["document"]["csaf_version"] = serde_json::json!("3.0");
    std::fs::write(&bad, serde_json::to_vec(&broken).unwrap()).unwrap();
    let out = portal(
        &app,
        Some(&token),
        &[
            "publish",
            "--csaf",
            bad.to_str().unwrap(),
            "--product",
            "server",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("InvalidArgument"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("  /document/csaf_version: "),
        "{}",
        stderr(&out)
    );

    // No token, an unknown product, no target: usage errors, exit 2.
    let out = portal(&app, None, &["export", &advisory_id]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("PORTAL_TOKEN"), "{}", stderr(&out));
    let out = portal(
        &app,
        Some(&token),
        &["publish", "--csaf", EXAMPLE, "--product", "toaster"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = portal(&app, Some(&token), &["publish", "--csaf", EXAMPLE]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // A caller without the publishing scope is refused: exit 1.
    let out = portal(
        &app,
        Some(&app.service_token("billing", "internal")),
        &["publish", "--csaf", EXAMPLE, "--all-accounts"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("PermissionDenied"),
        "{}",
        stderr(&out)
    );
}
