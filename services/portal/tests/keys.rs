//! Keys other tools can read (issue 29): the key files the suite writes open in OpenSSL and Python's
//! `cryptography`, and a token Python signs with one is accepted; files earlier versions wrote (PKCS#8 v2) keep
//! signing; the suite's public keys are published as a JWKS on the admin listener, against which PyJWT verifies
//! the suite's tokens and authorizations to run (L9), before and after a key rotation.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
};

use portal_proto::{
    identity::{GetAccountRequest, Role},
    licensing::{self as pb, DeploymentKind},
};
use portal_runtime::auth::{self, PublishedKeys};
use portal_testkit::{Backend, ServiceKind, TestApp, python};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::{Request, metadata::MetadataValue};

const PORTAL: &str = env!("CARGO_BIN_EXE_portal");

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name)
}

/// All four services with the admin listener on a free port.
async fn app_with_admin() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, &ServiceKind::ALL, |s| {
        s.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await
}

/// `GET path` on the admin listener: the response head and body.
async fn get(admin: SocketAddr, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(admin).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: portal\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_lowercase(), body.to_string())
}

fn jwks_url(app: &TestApp) -> String {
    format!("http://{}{}", app.admin.unwrap(), PublishedKeys::PATH)
}

/// `openssl pkey` with `args`; its stdout.
fn openssl_pkey(args: &[&str], file: &Path) -> String {
    let out = Command::new("openssl")
        .arg("pkey")
        .args(args)
        .arg("-in")
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("openssl (scripts/prepare.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "openssl pkey {args:?} -in {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn kid_of(private: &Path) -> String {
    auth::key_id(&auth::read_signing_key(private).unwrap().verifying_key())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Calls GetAccount with `token`: the call's code.
async fn get_account(app: &TestApp, account_id: &str, token: &str) -> tonic::Code {
    let mut identity = portal_proto::identity::identity_service_client::IdentityServiceClient::new(
        app.channel().await,
    );
    let mut request = Request::new(GetAccountRequest {
        account_id: account_id.into(),
    });
    let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    match identity.get_account(request).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

/// An authorization to run (L9) for a new Creator on a new LBLM site of a new account, as `{kid, grant,
/// signature}` (hex) for verify.py.
async fn grant(app: &TestApp, account: &str) -> serde_json::Value {
    let (account_id, _, admin_token) = app.account_with_admin(account).await;
    let email = format!("creator@{}.example", account.to_lowercase());
    let creator = app
        .new_user(&account_id, &email, Role::DownloadOnly, &[])
        .await;
    let mut admin = app.licensing(&admin_token).await;
    let site = admin
        .register_deployment(pb::RegisterDeploymentRequest {
            account_id,
            kind: DeploymentKind::CloudSite as i32,
            name: "Cloud".into(),
            lblm_enabled: true,
            creator_seats: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    admin
        .set_site_role(pb::SetSiteRoleRequest {
            deployment_id: site.deployment_id.clone(),
            email: email.clone(),
            site_role: pb::SiteRole::Creator as i32,
        })
        .await
        .unwrap();
    let granted = app
        .licensing(&app.user_token(&creator.user_id))
        .await
        .authorize_to_run(pb::AuthorizeToRunRequest {
            deployment_id: site.deployment_id,
            email,
            product: portal_proto::common::Product::Desktop as i32,
            machine_fingerprint: "mac-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    serde_json::json!({
        "kid": granted.signing_key_id,
        "grant": hex(&granted.grant),
        "signature": hex(&granted.signature),
    })
}

/// verify.py against `app`'s JWKS: what PyJWT made of `tokens` and `grants`.
fn verify(
    python: &python::Python,
    app: &TestApp,
    grants: &[serde_json::Value],
    tokens: &[&str],
) -> serde_json::Value {
    let grants = serde_json::Value::from(grants.to_vec()).to_string();
    let mut args = vec![
        jwks_url(app),
        app.settings.auth.issuer.clone(),
        app.settings.auth.audience.clone(),
        grants,
    ];
    args.extend(tokens.iter().map(|t| t.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = python.run(&script("verify.py"), &args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("verify.py printed {out:?}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_files_open_in_openssl_and_python_and_a_token_python_signs_is_accepted() {
    let app = app_with_admin().await;
    let dir = &app.settings.data_dir;
    let (signing, grants, dkim) = (
        app.signing_key_file(),
        app.settings.grant_signing_key_file(),
        dir.join("dkim-key.pem"),
    );
    for private in [&signing, &grants, &dkim] {
        // OpenSSL 3.0 refused the PKCS#8 v2 files earlier versions wrote ("unsupported").
        let public = openssl_pkey(&["-pubout"], private);
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", private.display());
        }
        let beside = auth::public_key_path(private);
        if private != &dkim {
            // The public half beside it is the same key, as OpenSSL derives it from the private one.
            assert_eq!(std::fs::read_to_string(&beside).unwrap(), public);
            openssl_pkey(&["-pubin", "-noout"], &beside);
        }
    }

    let Some(python) = python::required("key_files_open_in_openssl_and_python") else {
        return;
    };
    let kid = kid_of(&signing);
    let public_files = [
        auth::public_key_path(&signing),
        grants.clone(),
        auth::public_key_path(&grants),
        dkim.clone(),
    ];
    let mut args = vec![
        signing.display().to_string(),
        kid.clone(),
        app.settings.auth.issuer.clone(),
        app.settings.auth.audience.clone(),
    ];
    args.extend(public_files.iter().map(|f| f.display().to_string()));
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out: serde_json::Value =
        serde_json::from_str(&python.run(&script("open_and_sign.py"), &args)).unwrap();
    let x = |private: &Path| {
        let public = auth::read_signing_key(private).unwrap().verifying_key();
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            public.as_bytes(),
        )
    };
    // Python read the very keys the suite uses, from the private and the public files alike.
    for (file, private) in [
        (&signing, &signing),
        (&public_files[0], &signing),
        (&public_files[1], &grants),
        (&public_files[2], &grants),
        (&public_files[3], &dkim),
    ] {
        assert_eq!(
            out["keys"][file.display().to_string()],
            x(private),
            "{}",
            file.display()
        );
    }

    let (account_id, _, _) = app.account_with_admin("Acme").await;
    let token = out["token"].as_str().unwrap();
    assert_eq!(get_account(&app, &account_id, token).await, tonic::Code::Ok);
    // The same claims signed by a key the suite does not know are refused: acceptance is the key's doing.
    let foreign = dir.join("foreign.pem");
    auth::ensure_signing_key(&foreign).unwrap();
    args[0] = foreign.to_str().unwrap();
    let out: serde_json::Value =
        serde_json::from_str(&python.run(&script("open_and_sign.py"), &args[..4])).unwrap();
    assert_eq!(
        get_account(&app, &account_id, out["token"].as_str().unwrap()).await,
        tonic::Code::Unauthenticated
    );
}

#[test]
fn a_pkcs8_v2_key_an_earlier_version_wrote_keeps_signing_and_portal_token_names_its_kid() {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
    let dir = tempfile::tempdir().unwrap();
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let v2 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
    std::fs::write(dir.path().join("signing-key.pem"), v2.as_bytes()).unwrap();
    let token = |output: &str| {
        let out = Command::new(PORTAL)
            .args(["token", "--service", "ops", "--scope", "identity.admin"])
            .args(["--output", output, "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let kid = auth::key_id(&key.verifying_key());
    let (json, _) = token("json");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["kid"], kid.as_str());
    let header = jsonwebtoken::decode_header(json["token"].as_str().unwrap()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
    let (text, stderr) = token("text");
    assert!(stderr.contains(&kid), "{stderr}");
    let verifier = auth::Verifier::from_files(
        &[write_public(dir.path(), &key)],
        "portal",
        "portal",
        std::time::Duration::from_secs(30),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for token in [json["token"].as_str().unwrap(), text.trim()] {
        let principal = runtime
            .block_on(verifier.verify_header(Some(&format!("Bearer {token}"))))
            .unwrap();
        assert!(principal.has_scope("identity.admin"));
    }
    assert_eq!(
        std::fs::read(dir.path().join("signing-key.pem")).unwrap(),
        v2.as_bytes(),
        "the file is left as it was"
    );
}

fn write_public(dir: &Path, key: &ed25519_dalek::SigningKey) -> PathBuf {
    use ed25519_dalek::pkcs8::{EncodePublicKey, spki::der::pem::LineEnding};
    let path = dir.join("v2.pub.pem");
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyjwt_verifies_the_suites_tokens_and_grants_against_its_published_keys() {
    let app = app_with_admin().await;
    let (head, body) = get(app.admin.unwrap(), PublishedKeys::PATH).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("cache-control: public, max-age="), "{head}");
    let set: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token_kid = kid_of(&app.signing_key_file());
    let grant_kid = kid_of(&app.settings.grant_signing_key_file());
    let kids: Vec<&str> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [token_kid.as_str(), grant_kid.as_str()]);
    for key in set["keys"].as_array().unwrap() {
        assert_eq!(
            (&key["kty"], &key["crv"], &key["use"], &key["alg"]),
            (
                &serde_json::json!("OKP"),
                &serde_json::json!("Ed25519"),
                &serde_json::json!("sig"),
                &serde_json::json!("EdDSA")
            )
        );
    }

    let grant = grant(&app, "Acme").await;
    assert_eq!(
        grant["kid"],
        grant_kid.as_str(),
        "signing_key_id is the kid"
    );
    let Some(python) = python::required("pyjwt_verifies_the_suites_tokens_and_grants") else {
        return;
    };
    let token = app.service_token("ops", "identity.admin");
    let verified = verify(&python, &app, &[grant], &[&token]);
    assert_eq!(
        verified["tokens"],
        serde_json::json!([{ "kid": token_kid, "sub": "svc:ops", "scope": "identity.admin" }])
    );
    assert_eq!(verified["grants"], serde_json::json!([true]));
    assert_eq!(verified["kids"], serde_json::json!([token_kid, grant_kid]));
    assert_eq!(
        (
            &verified["tampered_tokens_refused"],
            &verified["tampered_grants_refused"]
        ),
        (&serde_json::json!(true), &serde_json::json!(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_rotation_old_and_new_keys_are_published_and_what_either_signed_verifies() {
    let old = app_with_admin().await;
    let (account_id, _, _) = old.account_with_admin("Acme").await;
    let old_token = old.service_token("ops", "identity.admin");
    let old_grant = grant(&old, "Before").await;

    // README "Rotating the suite's keys": new key files, the old public halves listed as previous.
    let dir = old.settings.data_dir.clone();
    let (signing, grants) = (dir.join("signing-2.pem"), dir.join("grant-signing-2.pem"));
    let signing_public = auth::ensure_signing_key(&signing).unwrap();
    auth::ensure_signing_key(&grants).unwrap();
    let new = old
        .spawn_sharing(&ServiceKind::ALL, |s| {
            s.auth.signing_key_file = Some(signing.clone());
            s.auth.public_key_files = vec![signing_public];
            s.auth.previous_public_key_files = vec![dir.join("signing-key.pub.pem")];
            s.licensing.grant_signing_key_file = Some(grants.clone());
            s.licensing.previous_grant_public_key_files =
                vec![dir.join("grant-signing-key.pub.pem")];
        })
        .await;
    let new_token = new.service_token("ops", "identity.admin");
    let new_grant = grant(&new, "After").await;
    let (old_kid, new_kid) = (kid_of(&old.signing_key_file()), kid_of(&signing));
    let (old_grant_kid, new_grant_kid) = (
        kid_of(&old.settings.grant_signing_key_file()),
        kid_of(&grants),
    );
    assert_ne!(old_kid, new_kid);
    assert_eq!(
        (&old_grant["kid"], &new_grant["kid"]),
        (
            &serde_json::json!(old_grant_kid),
            &serde_json::json!(new_grant_kid)
        )
    );
    let (_, body) = get(new.admin.unwrap(), PublishedKeys::PATH).await;
    let set: serde_json::Value = serde_json::from_str(&body).unwrap();
    let kids: Vec<&str> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        [
            new_kid.as_str(),
            old_kid.as_str(),
            new_grant_kid.as_str(),
            old_grant_kid.as_str()
        ]
    );

    // The rotated suite still accepts the tokens the old key signed.
    for token in [&old_token, &new_token] {
        assert_eq!(get_account(&new, &account_id, token).await, tonic::Code::Ok);
    }
    let Some(python) = python::required("during_a_rotation_old_and_new_keys_are_published") else {
        return;
    };
    let verified = verify(
        &python,
        &new,
        &[old_grant, new_grant],
        &[&old_token, &new_token],
    );
    let kids_verified: Vec<&str> = verified["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids_verified, [old_kid.as_str(), new_kid.as_str()]);
    assert_eq!(verified["grants"], serde_json::json!([true, true]));
}
