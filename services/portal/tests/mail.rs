//! N13 as a receiving domain sees it: the mail the suite sends carries a DKIM signature that an implementation
//! other than the signer's (mail-auth, Stalwart's verifier) accepts against the very record `portal mail dns`
//! prints, for the embedded default's Ed25519 key and for an RSA key OpenSSL made; and an edited mail fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::{path::Path, process::Command, time::Duration};

use portal_testkit::{
    Backend, ServiceKind, TestApp,
    dkim::{DkimResult, all_pass, txt_value, verify},
    smtp::SmtpSink,
};

const PORTAL: &str = env!("CARGO_BIN_EXE_portal");
const FROM_DOMAIN: &str = "portal.example.test";

/// Runs `portal mail dns` with `config` and the data directory; its output.
fn mail_dns(config: &Path, data_dir: &Path) -> String {
    let out = Command::new(PORTAL)
        .args(["mail", "dns", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "portal mail dns: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Sends one mail through the suite (the notice to a user added) and checks its signature both ways.
async fn signed_mail_verifies(key_file: Option<&Path>) {
    let sink = SmtpSink::start().await;
    let mut config = format!(
        "[smtp]\nfrom = \"Security Advisories <noreply@{FROM_DOMAIN}>\"\nbounce_domain = \"bounces.{FROM_DOMAIN}\"\n"
    );
    if let Some(key) = key_file {
        config.push_str(&format!(
            "[smtp.dkim]\nkey_file = {:?}\n",
            key.display().to_string()
        ));
    }
    let app = TestApp::spawn_with(Backend::Sqlite, &ServiceKind::ALL, |s| {
        s.smtp.url = Some(sink.url().into());
        s.smtp.from = format!("Security Advisories <noreply@{FROM_DOMAIN}>");
        s.smtp.bounce_domain = Some(format!("bounces.{FROM_DOMAIN}"));
        s.smtp.dkim.key_file = key_file.map(Path::to_path_buf);
        s.smtp.poll_ms = 50;
    })
    .await;
    let config_file = app.settings.data_dir.join("portal.toml");
    std::fs::write(&config_file, config).unwrap();
    let zone = mail_dns(&config_file, &app.settings.data_dir);
    let name = format!("portal._domainkey.{FROM_DOMAIN}.");
    let record = txt_value(&zone, &name);
    let kind = if key_file.is_some() { "rsa" } else { "ed25519" };
    assert!(
        record.starts_with(&format!("v=DKIM1; k={kind}; p=")),
        "{record}"
    );
    assert!(zone.contains(&format!("_dmarc.{FROM_DOMAIN}.")), "{zone}");
    assert!(!zone.contains("WARNING"), "aligned: {zone}");

    app.account_with_admin("Alpha").await;
    let mail = sink.wait_for(1, Duration::from_secs(30)).await;
    let raw = mail[0].data.as_bytes();
    assert!(
        mail[0]
            .header("DKIM-Signature")
            .is_some_and(|s| s.contains(&format!("a={kind}-sha256")))
    );

    let results = verify(raw, &name, &record).await;
    assert!(all_pass(&results), "{results:?}");
    let edited = String::from_utf8_lossy(raw).replacen("Subject: ", "Subject: Re: ", 1);
    let results = verify(edited.as_bytes(), &name, &record).await;
    assert!(
        results.iter().all(|r| matches!(r, DkimResult::Fail(_))),
        "an edited subject must fail: {results:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n13_the_default_ed25519_signature_verifies_against_the_printed_record() {
    signed_mail_verifies(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n13_an_openssl_rsa_key_signs_mail_that_verifies_against_the_printed_record() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("dkim-rsa.pem");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .output()
        .expect("openssl (Debian package openssl) makes the key");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    signed_mail_verifies(Some(&key)).await;
}
