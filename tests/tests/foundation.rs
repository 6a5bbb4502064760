//! The foundation end to end: health and reflection for every service, and authentication at the gate.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portal_proto::identity::{GetAccountRequest, identity_service_client::IdentityServiceClient};
use portal_runtime::error::reason_of;
use portal_testkit::{Backend, ServiceKind, TestApp, authed, storage_test};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const ALL: [&str; 4] = [
    "portal.identity.v1.IdentityService",
    "portal.licensing.v1.LicensingService",
    "portal.billing.v1.BillingService",
    "portal.notification.v1.NotificationService",
];

storage_test!(health_is_serving_for_every_service, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let mut health = HealthClient::new(app.channel().await);
    for name in ALL.iter().chain([""].iter()) {
        let response = health
            .check(HealthCheckRequest {
                service: name.to_string(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{name}");
    }
});

storage_test!(
    a_single_service_process_reports_only_itself,
    |backend| async move {
        let app = TestApp::spawn_with(backend, &[ServiceKind::Billing], |_| {}).await;
        let mut health = HealthClient::new(app.channel().await);
        let billing = health
            .check(HealthCheckRequest {
                service: ALL[2].into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(billing.status(), ServingStatus::Serving);
        let identity = health
            .check(HealthCheckRequest {
                service: ALL[0].into(),
            })
            .await
            .unwrap_err();
        assert_eq!(identity.code(), Code::NotFound);
    }
);

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_every_service() {
    use tokio_stream::StreamExt;
    let app = TestApp::spawn(Backend::Sqlite).await;

    use tonic_reflection::pb::v1 as r1;
    let mut v1 = r1::server_reflection_client::ServerReflectionClient::new(app.channel().await);
    let request = r1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(r1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = v1
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let Some(Ok(r1::ServerReflectionResponse {
        message_response:
            Some(r1::server_reflection_response::MessageResponse::ListServicesResponse(list)),
        ..
    })) = stream.next().await
    else {
        panic!("no v1 list-services response")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for name in ALL.iter().chain(["grpc.health.v1.Health"].iter()) {
        assert!(
            names.iter().any(|n| n == name),
            "v1 reflection lacks {name}: {names:?}"
        );
    }

    use tonic_reflection::pb::v1alpha as ra;
    let mut alpha = ra::server_reflection_client::ServerReflectionClient::new(app.channel().await);
    let request = ra::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            ra::server_reflection_request::MessageRequest::FileContainingSymbol(
                "portal.identity.v1.IdentityService".into(),
            ),
        ),
    };
    let mut stream = alpha
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let Some(Ok(ra::ServerReflectionResponse {
        message_response:
            Some(ra::server_reflection_response::MessageResponse::FileDescriptorResponse(files)),
        ..
    })) = stream.next().await
    else {
        panic!("no v1alpha file descriptor response")
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

/// Calls a gated RPC with `token` and returns the status code and ErrorInfo reason.
async fn call_with(app: &TestApp, token: Option<&str>) -> (Code, Option<String>) {
    let mut client = IdentityServiceClient::new(app.channel().await);
    let message = GetAccountRequest {
        account_id: "acc-1".into(),
    };
    let request = match token {
        Some(token) => authed(message, token),
        None => tonic::Request::new(message),
    };
    match client.get_account(request).await {
        Ok(_) => (Code::Ok, None),
        Err(status) => (status.code(), reason_of(&status)),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(aud: &str, exp: u64) -> serde_json::Value {
    serde_json::json!({ "sub": "svc:test", "scope": "identity.admin", "iss": "portal", "aud": aud, "iat": now(), "exp": exp })
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
}

fn own_key(app: &TestApp) -> EncodingKey {
    EncodingKey::from_ed_pem(&std::fs::read(app.signing_key_file()).unwrap()).unwrap()
}

#[tokio::test]
async fn a_minted_token_authenticates() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (code, _) = call_with(&app, Some(&app.service_token("test", "identity.admin"))).await;
    assert_ne!(code, Code::Unauthenticated);
    let (code, _) = call_with(&app, Some(&app.user_token("user-1"))).await;
    assert_ne!(code, Code::Unauthenticated);
}

#[tokio::test]
async fn a_call_without_a_token_is_unauthenticated() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(
        call_with(&app, None).await,
        (Code::Unauthenticated, Some("TOKEN_INVALID".into()))
    );
    assert_eq!(
        call_with(&app, Some("not-a-jwt")).await.0,
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn alg_none_is_unauthenticated() {
    use base64_url as b64;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let header = b64::encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64::encode(claims("portal", now() + 600).to_string().as_bytes());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert_eq!(
            call_with(&app, Some(&token)).await.0,
            Code::Unauthenticated,
            "{token}"
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_unauthenticated() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Past the 30 s leeway.
    let token = sign(
        Algorithm::EdDSA,
        &own_key(&app),
        &claims("portal", now() - 120),
    );
    assert_eq!(call_with(&app, Some(&token)).await.0, Code::Unauthenticated);
    let fresh = sign(
        Algorithm::EdDSA,
        &own_key(&app),
        &claims("portal", now() + 120),
    );
    assert_ne!(
        call_with(&app, Some(&fresh)).await.0,
        Code::Unauthenticated,
        "control: the same key and claims, unexpired"
    );
}

#[tokio::test]
async fn a_wrong_audience_or_issuer_is_unauthenticated() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = sign(
        Algorithm::EdDSA,
        &own_key(&app),
        &claims("someone-else", now() + 600),
    );
    assert_eq!(call_with(&app, Some(&token)).await.0, Code::Unauthenticated);
    let mut wrong_issuer = claims("portal", now() + 600);
    wrong_issuer["iss"] = "evil".into();
    let token = sign(Algorithm::EdDSA, &own_key(&app), &wrong_issuer);
    assert_eq!(call_with(&app, Some(&token)).await.0, Code::Unauthenticated);
}

#[tokio::test]
async fn a_foreign_key_is_unauthenticated() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let foreign = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = foreign.to_pkcs8_pem(LineEnding::LF).unwrap();
    let token = sign(
        Algorithm::EdDSA,
        &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
        &claims("portal", now() + 600),
    );
    assert_eq!(call_with(&app, Some(&token)).await.0, Code::Unauthenticated);
}

#[tokio::test]
async fn hmac_signed_with_the_public_key_is_unauthenticated() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // The classic algorithm confusion: HS256 keyed with the verifier's own public key.
    let public = std::fs::read(portal_runtime::auth::public_key_path(
        &app.signing_key_file(),
    ))
    .unwrap();
    let token = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&public),
        &claims("portal", now() + 600),
    );
    assert_eq!(call_with(&app, Some(&token)).await.0, Code::Unauthenticated);
}

#[tokio::test]
async fn rsa_tokens_verify_against_a_configured_rsa_key() {
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
    let dir = tempfile::tempdir().unwrap();
    let rsa_key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let rsa_public = dir.path().join("idp.pub.pem");
    std::fs::write(
        &rsa_public,
        rsa_key
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap(),
    )
    .unwrap();
    let rsa_private = rsa_key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    let rsa_encoding = EncodingKey::from_rsa_pem(rsa_private.as_bytes()).unwrap();

    let app = TestApp::spawn_with(Backend::Sqlite, &[ServiceKind::Identity], |s| {
        let own = portal_runtime::auth::public_key_path(&s.signing_key_file());
        s.auth.public_key_files = vec![own, rsa_public.clone()];
    })
    .await;
    let token = sign(
        Algorithm::RS256,
        &rsa_encoding,
        &claims("portal", now() + 600),
    );
    assert_ne!(call_with(&app, Some(&token)).await.0, Code::Unauthenticated);
    // An RSA key must not verify an EdDSA token, nor the Ed25519 key an RS256 one signed elsewhere.
    let other = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let other = EncodingKey::from_rsa_pem(
        other
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let token = sign(Algorithm::RS256, &other, &claims("portal", now() + 600));
    assert_eq!(call_with(&app, Some(&token)).await.0, Code::Unauthenticated);
}

#[tokio::test]
async fn health_needs_no_token() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut health = HealthClient::new(app.channel().await);
    assert!(
        health
            .check(HealthCheckRequest {
                service: String::new()
            })
            .await
            .is_ok()
    );
}

/// A local identity provider: answers every HTTP request with its current key set, or 503 while it has none.
/// Plain HTTP/1.1 over a tokio socket, one request per connection.
async fn identity_provider(document: std::sync::Arc<std::sync::Mutex<Option<String>>>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let document = document.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = document.lock().unwrap().clone();
                let response = match body {
                    Some(body) => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    None => "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".into(),
                };
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    url
}

/// A token as the identity provider issues it, signed with `key` and naming `kid`.
fn idp_token(key: &EncodingKey, kid: &str, claims: serde_json::Value) -> String {
    let mut claims = claims;
    claims["iss"] = "https://idp.example".into();
    claims["aud"] = "portal".into();
    claims["iat"] = now().into();
    claims["exp"] = (now() + 600).into();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_an_identity_provider_authenticate_through_its_jwks() {
    use portal_proto::identity::{CreateAccountRequest, CreateUserRequest, GetUserRequest, Role};
    use std::time::Duration;

    // The provider is down when the suite starts.
    let document = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let jwks_url = identity_provider(document.clone()).await;
    let app = TestApp::spawn_with(Backend::Sqlite, &ServiceKind::ALL, |s| {
        s.auth.issuer = "https://idp.example".into();
        s.auth.jwks_url = vec![jwks_url];
        s.auth.jwks_min_refresh_secs = 1;
        s.auth.service_name_claim = Some("client_id".into());
    })
    .await;
    let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let key =
        EncodingKey::from_ed_pem(signing.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
    // A client-credentials token: a service named by `client_id`, its scopes as an `scp` list.
    let machine = idp_token(
        &key,
        "idp-1",
        serde_json::json!({ "sub": "service-account-ops", "client_id": "ops", "scp": ["identity.admin"] }),
    );
    let mut identity = IdentityServiceClient::new(app.channel().await);
    let create_account = || {
        authed(
            CreateAccountRequest {
                name: "Acme".into(),
                academic: false,
                request_id: String::new(),
            },
            &machine,
        )
    };

    let down = identity.create_account(create_account()).await.unwrap_err();
    assert_eq!(down.code(), Code::Unavailable, "{down:?}");
    assert_eq!(reason_of(&down).as_deref(), Some("DEPENDENCY_UNAVAILABLE"));
    // The suite's own tokens do not depend on the provider.
    let account_id = app.new_account("Own", false).await;
    assert!(!account_id.is_empty());

    // The provider comes up; the suite picks its key set up without a restart.
    let x = base64_url::encode(signing.verifying_key().as_bytes());
    *document.lock().unwrap() = Some(
        serde_json::json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "idp-1", "x": x }] })
            .to_string(),
    );
    let account = portal_testkit::wait::until(
        "the provider's key set to be fetched",
        Duration::from_secs(10),
        async || {
            identity
                .create_account(create_account())
                .await
                .map(|r| r.into_inner())
        },
    )
    .await;
    let user = identity
        .create_user(authed(
            CreateUserRequest {
                account_id: account.account_id.clone(),
                email: "ann@acme.example".into(),
                display_name: "Ann".into(),
                role: Role::Administrator as i32,
                additional_permissions: Vec::new(),
                request_id: String::new(),
            },
            &machine,
        ))
        .await
        .unwrap()
        .into_inner();

    // A user's token from the provider acts for that portal user.
    let person = idp_token(&key, "idp-1", serde_json::json!({ "sub": user.user_id }));
    let got = identity
        .get_user(authed(
            GetUserRequest {
                user_id: user.user_id.clone(),
                without_persona: false,
            },
            &person,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.email, "ann@acme.example");

    // A scope the provider did not grant is not there.
    let denied = identity
        .create_account(authed(
            CreateAccountRequest {
                name: "Other".into(),
                academic: false,
                request_id: String::new(),
            },
            &idp_token(&key, "idp-1", serde_json::json!({ "sub": "sa", "client_id": "reporting", "scp": "notification.publish" })),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // A key the provider does not publish is refused.
    let unknown = identity
        .create_account(authed(
            create_account().into_inner(),
            &idp_token(
                &key,
                "idp-9",
                serde_json::json!({ "sub": "sa", "client_id": "ops", "scp": ["identity.admin"] }),
            ),
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated);
}
