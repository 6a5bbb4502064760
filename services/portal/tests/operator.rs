//! The operator's commands (`portal advisory …`, `portal users …`) driven as a pipeline drives them: the real binary
//! against a running suite, JSON output parsed, exit codes checked; progress degrades to plain lines on stderr when
//! it is not a terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use portal_testkit::{TestApp, storage_test};
use serde_json::Value;

const PORTAL: &str = env!("CARGO_BIN_EXE_portal");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}): {}\n{}", self.stdout, self.stderr)
        })
    }
}

/// Runs `portal <args>` against `app` with `token` in PORTAL_TOKEN (never on a terminal: output is piped).
async fn portal(app: &TestApp, token: &str, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(PORTAL)
        .args(args)
        .env("PORTAL_ENDPOINT", format!("http://{}", app.address))
        .env("PORTAL_TOKEN", token)
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn advisory_file(dir: &std::path::Path, name: &str, accounts: &[&str]) -> String {
    let path = dir.join(name);
    let accounts: Vec<String> = accounts.iter().map(|a| format!("{a:?}")).collect();
    std::fs::write(
        &path,
        format!(
            r#"
kind = "security"
severity = "high"
title = "Privilege escalation in the server's scheduler"
summary = "A crafted schedule runs with the service account's rights."
resolution = "Upgrade to 2026.1.3."
cve_ids = ["CVE-2026-40001"]

[[affected_products]]
product = "server"
versions = ["2026.1"]
fixed_versions = ["2026.1.3"]

[target]
accounts = [{}]
"#,
            accounts.join(", ")
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

storage_test!(
    advisory_publish_wait_status_and_watch_report_coverage_and_exit_codes,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let (alpha, _, _) = app.account_with_admin("Alpha").await;
        let operator = app.service_token("secops", "notification.publish");

        // Everyone reachable: --wait follows to the end, exit 0, one row per account.
        let file = advisory_file(dir.path(), "reachable.toml", &[&alpha]);
        let run = portal(
            &app,
            &operator,
            &[
                "advisory", "publish", "--file", &file, "--wait", "--output", "json",
            ],
        )
        .await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let report = run.json();
        let advisory_id = report["advisory_id"].as_str().unwrap().to_string();
        assert!(advisory_id.starts_with("ADV-"), "{report}");
        assert_eq!(report["settled"], true);
        assert_eq!(report["sent"], 1);
        assert_eq!(report["total"], 1);
        assert_eq!(report["accounts"][0]["account_id"], alpha.as_str());
        assert_eq!(report["accounts"][0]["coverage"], "fallback");
        assert!(
            run.stderr.contains(&format!("{advisory_id}: ")) && run.stderr.contains("sent "),
            "progress degrades to plain lines off a terminal: {}",
            run.stderr
        );

        // The same file again is the same advisory (the request id derives from the content).
        let again = portal(
            &app,
            &operator,
            &["advisory", "publish", "--file", &file, "--output", "json"],
        )
        .await;
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert_eq!(again.json()["advisory_id"], advisory_id.as_str());

        let status = portal(&app, &operator, &["advisory", "status", &advisory_id]).await;
        assert_eq!(status.code, 0, "{}", status.stderr);
        assert!(
            status.stdout.contains("settled — sent 1/1"),
            "{}",
            status.stdout
        );
        assert!(status.stdout.contains(&alpha), "{}", status.stdout);

        // An account with nobody to tell: settled, but not everyone reached (exit 3), and the table says so.
        let empty = app.new_account("Empty", false).await;
        let file = advisory_file(dir.path(), "unreachable.toml", &[&alpha, &empty]);
        let published = portal(
            &app,
            &operator,
            &["advisory", "publish", "--file", &file, "--output", "json"],
        )
        .await;
        assert_eq!(published.code, 0, "{}", published.stderr);
        let second = published.json()["advisory_id"]
            .as_str()
            .unwrap()
            .to_string();
        let watched = portal(&app, &operator, &["advisory", "watch", &second]).await;
        assert_eq!(watched.code, 3, "{}\n{}", watched.stdout, watched.stderr);
        let row = watched
            .stdout
            .lines()
            .find(|l| l.starts_with(&empty))
            .unwrap_or_else(|| panic!("no row for {empty}: {}", watched.stdout));
        assert!(row.ends_with("unreachable"), "{row}");
        assert_eq!(
            portal(&app, &operator, &["advisory", "status", &second])
                .await
                .code,
            3
        );

        // Refusals name their code and reason, exit 1; a token-less call is a usage error.
        let unknown = portal(&app, &operator, &["advisory", "status", "ADV-1999-999"]).await;
        assert_eq!(unknown.code, 1);
        assert!(
            unknown.stderr.contains("NotFound ADVISORY_NOT_FOUND"),
            "{}",
            unknown.stderr
        );
        let stranger = app.service_token("stranger", "licensing.activate");
        let denied = portal(&app, &stranger, &["advisory", "status", &advisory_id]).await;
        assert_eq!(denied.code, 1);
        assert!(
            denied.stderr.contains("PermissionDenied"),
            "{}",
            denied.stderr
        );
        let tokenless = portal(&app, "", &["advisory", "status", &advisory_id]).await;
        assert_eq!(tokenless.code, 2, "{}", tokenless.stderr);
    }
);

storage_test!(
    users_list_add_and_remove_through_the_cli,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (account, admin, admin_token) = app.account_with_admin("Acme").await;
        let added = portal(
            &app,
            &admin_token,
            &[
                "users",
                "add",
                "--account",
                &account,
                "--email",
                "ana@acme.example",
                "--name",
                "Ana",
                "--output",
                "json",
            ],
        )
        .await;
        assert_eq!(added.code, 0, "{}", added.stderr);
        let ana = added.json();
        assert_eq!(ana["role"], "download-only");
        let ana_id = ana["user_id"].as_str().unwrap().to_string();

        let listed = portal(
            &app,
            &admin_token,
            &["users", "list", "--account", &account, "--output", "json"],
        )
        .await;
        assert_eq!(listed.code, 0, "{}", listed.stderr);
        let users = listed.json();
        let emails: Vec<&str> = users
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap())
            .collect();
        assert_eq!(emails, vec![admin.email.as_str(), "ana@acme.example"]);

        let removed = portal(&app, &admin_token, &["users", "remove", &ana_id]).await;
        assert_eq!(removed.code, 0, "{}", removed.stderr);
        let table = portal(
            &app,
            &admin_token,
            &["users", "list", "--account", &account, "--removed"],
        )
        .await;
        assert_eq!(table.code, 0, "{}", table.stderr);
        let ana_row = table
            .stdout
            .lines()
            .find(|l| l.contains("ana@acme.example"))
            .unwrap();
        assert!(ana_row.ends_with("removed"), "{}", table.stdout);
        assert!(table.stdout.starts_with("USER"), "{}", table.stdout);

        // The last Administrator cannot be removed: the reason reaches the operator.
        let last = portal(&app, &admin_token, &["users", "remove", &admin.user_id]).await;
        assert_eq!(last.code, 1);
        assert!(
            last.stderr.contains("LAST_ADMINISTRATOR"),
            "{}",
            last.stderr
        );

        // Another account's user may not list this one.
        let (_, _, other_token) = app.account_with_admin("Other").await;
        let denied = portal(
            &app,
            &other_token,
            &["users", "list", "--account", &account],
        )
        .await;
        assert_eq!(denied.code, 1, "{}", denied.stderr);
        let bad_role = portal(
            &app,
            &admin_token,
            &[
                "users",
                "add",
                "--account",
                &account,
                "--email",
                "x@acme.example",
                "--role",
                "owner",
            ],
        )
        .await;
        assert_eq!(bad_role.code, 2, "{}", bad_role.stderr);
    }
);
