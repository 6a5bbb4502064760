//! The authentication half of the authorization matrix (issue 14): every RPC of every contract — read from the
//! descriptor set the suite serves, so an RPC added tomorrow is covered without a new row — answers each kind of
//! bad token with UNAUTHENTICATED, before it looks at the request, in words that show nothing of the token
//! parser's internals; and, given a valid token and an empty request,
//! it answers with a caller's or a not-found error or OK, never INTERNAL or UNKNOWN (hostile input is the
//! caller's fault, not a crash).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use prost::Message;
use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};

use portal_testkit::{Backend, TestApp, raw::Raw};

#[path = "authorization/principals.rs"]
mod principals;

/// One RPC of the contracts: its HTTP/2 path and whether the server streams.
#[derive(Debug, Clone)]
struct Rpc {
    path: String,
    server_streaming: bool,
}

/// Every RPC of `portal.*`, from the descriptor set reflection serves.
fn every_rpc() -> Vec<Rpc> {
    let set = prost_types::FileDescriptorSet::decode(portal_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut rpcs = Vec::new();
    for file in &set.file {
        let package = file.package();
        if !package.starts_with("portal.") {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                assert!(
                    !method.client_streaming(),
                    "a client-streaming RPC needs a row of its own here: {}",
                    method.name()
                );
                rpcs.push(Rpc {
                    path: format!("/{package}.{}/{}", service.name(), method.name()),
                    server_streaming: method.server_streaming(),
                });
            }
        }
    }
    rpcs
}

/// Calls `rpc` with an empty request (every field at its default) and `token`; the status code it ends with
/// (OK when a unary call or a stream's first message succeeded).
async fn call(channel: &Channel, rpc: &Rpc, token: Option<&str>) -> Code {
    match invoke(channel, rpc, token, Vec::new()).await {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// Calls `rpc` with the encoded request `body` and `token`: Ok when a unary call, or a stream's first message
/// (or its clean end), succeeded; else the status it ended with.
async fn invoke(
    channel: &Channel,
    rpc: &Rpc,
    token: Option<&str>,
    body: Vec<u8>,
) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let mut request = Request::new(body);
    request.set_timeout(std::time::Duration::from_secs(30));
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
        );
    }
    let path = rpc.path.parse().unwrap();
    if rpc.server_streaming {
        let response = grpc.server_streaming(request, path, Raw).await?;
        response.into_inner().message().await.map(|_| ())
    } else {
        grpc.unary(request, path, Raw).await.map(|_| ())
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A service principal's claims holding every scope, so only the token's own defect can refuse it.
fn claims() -> serde_json::Value {
    serde_json::json!({
        "sub": "svc:probe",
        "scope": "identity.admin licensing.issue licensing.activate billing.payments billing.catalog notification.publish internal",
        "iss": "portal",
        "aud": "portal",
        "iat": now(),
        "exp": now() + 600,
    })
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
}

/// What a token parser's error text gives away (serde's positions and field names, base64 offsets); a refusal
/// shows none of it.
const PARSER_INTERNALS: [&str; 7] = [
    "JSON",
    "line ",
    "column",
    "missing field",
    "invalid type",
    "Base64",
    "`",
];

/// Each kind of bad token a probe tries, named.
fn bad_tokens(app: &TestApp) -> Vec<(&'static str, Option<String>)> {
    let own = EncodingKey::from_ed_pem(&std::fs::read(app.signing_key_file()).unwrap()).unwrap();
    let foreign = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng)
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap();
    let foreign = EncodingKey::from_ed_pem(foreign.as_bytes()).unwrap();
    let public = std::fs::read(portal_runtime::auth::public_key_path(
        &app.signing_key_file(),
    ))
    .unwrap();
    let with = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut claims = claims();
        change(&mut claims);
        claims
    };
    let unsigned = format!(
        "{}.{}.",
        base64_url::encode(br#"{"alg":"none","typ":"JWT"}"#),
        base64_url::encode(claims().to_string().as_bytes())
    );
    vec![
        ("no token", None),
        ("not a JWT", Some("not-a-jwt".into())),
        ("alg none", Some(unsigned)),
        (
            "foreign key",
            Some(sign(Algorithm::EdDSA, &foreign, &claims())),
        ),
        (
            "HS256 keyed with the public key",
            Some(sign(
                Algorithm::HS256,
                &EncodingKey::from_secret(&public),
                &claims(),
            )),
        ),
        (
            "expired",
            Some(sign(
                Algorithm::EdDSA,
                &own,
                &with(&|c| {
                    c["iat"] = (now() - 7200).into();
                    c["exp"] = (now() - 3600).into();
                }),
            )),
        ),
        (
            "nbf an hour ahead",
            Some(sign(
                Algorithm::EdDSA,
                &own,
                &with(&|c| c["nbf"] = (now() + 3600).into()),
            )),
        ),
        (
            "wrong audience",
            Some(sign(
                Algorithm::EdDSA,
                &own,
                &with(&|c| c["aud"] = "someone-else".into()),
            )),
        ),
        (
            "wrong issuer",
            Some(sign(
                Algorithm::EdDSA,
                &own,
                &with(&|c| c["iss"] = "evil".into()),
            )),
        ),
        (
            "a crit header (RFC 7515: an extension we do not understand)",
            Some({
                let mut header = Header::new(Algorithm::EdDSA);
                header.crit = Some(vec!["exp".into()]);
                jsonwebtoken::encode(&header, &claims(), &own).unwrap()
            }),
        ),
        (
            "iss as an array holding ours",
            Some(sign(
                Algorithm::EdDSA,
                &own,
                &with(&|c| c["iss"] = serde_json::json!(["portal"])),
            )),
        ),
        (
            "a 3,000-character service name with NUL, CR and LF",
            Some(sign(
                Algorithm::EdDSA,
                &own,
                &with(&|c| {
                    c["sub"] = format!("svc:{}\0\r\nX-Audit: forged", "a".repeat(3000)).into()
                }),
            )),
        ),
        (
            "no iat",
            Some(sign(
                Algorithm::EdDSA,
                &own,
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("iat");
                }),
            )),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_refuses_every_bad_token_and_never_fails_internally_on_an_empty_request() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let channel = app.channel().await;
    let rpcs = every_rpc();
    assert!(
        rpcs.len() >= 54,
        "{} RPCs in the descriptor set",
        rpcs.len()
    );
    let bad = bad_tokens(&app);

    let good = sign(
        Algorithm::EdDSA,
        &EncodingKey::from_ed_pem(&std::fs::read(app.signing_key_file()).unwrap()).unwrap(),
        &claims(),
    );
    let (_, _, admin) = app.account_with_admin("Acme").await;
    let mut wrong = Vec::new();
    for rpc in &rpcs {
        for (kind, token) in &bad {
            match invoke(&channel, rpc, token.as_deref(), Vec::new()).await {
                Err(status) if status.code() == Code::Unauthenticated => {
                    let shown = status.message();
                    if let Some(internal) = PARSER_INTERNALS.iter().find(|i| shown.contains(**i)) {
                        wrong.push(format!(
                            "{} with {kind}: the refusal shows {internal:?}: {shown:?}",
                            rpc.path
                        ));
                    }
                }
                other => wrong.push(format!(
                    "{} with {kind}: {:?}",
                    rpc.path,
                    other.map_err(|s| s.code())
                )),
            }
        }
        for (who, token) in [("every scope", &good), ("an Administrator", &admin)] {
            let code = call(&channel, rpc, Some(token)).await;
            if matches!(
                code,
                Code::Unauthenticated | Code::Internal | Code::Unknown | Code::Unimplemented
            ) {
                wrong.push(format!(
                    "{} with {who} and an empty request: {code:?}",
                    rpc.path
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} calls answered wrongly:\n{}",
        wrong.len(),
        rpcs.len() * (bad.len() + 2),
        wrong.join("\n")
    );
}
