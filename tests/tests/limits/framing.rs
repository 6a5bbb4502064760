//! The caller's own framing (issue 24): a request body that is not one well-formed gRPC message — empty, cut
//! short, with bytes after the message, with a compression flag no encoding explains, or gRPC-Web text that is
//! not base64 — is the caller's fault: `INVALID_ARGUMENT` (or `UNIMPLEMENTED` for a compression the server does
//! not take), never `INTERNAL`, over gRPC and over gRPC-Web alike, once the token is good.

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use portal_proto::identity as id;
use prost::Message;
use tonic::Code;

use portal_runtime::error::reason_of;
use portal_testkit::{Backend, TestApp};

/// The protocol a probe speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// gRPC over HTTP/2.
    Grpc,
    /// gRPC-Web over HTTP/1.1, binary.
    Web,
    /// gRPC-Web over HTTP/1.1, base64 text.
    WebText,
}

/// A unary RPC and a server-streaming one, both reading one message.
const UNARY: &str = "/portal.identity.v1.IdentityService/GetAccount";
const STREAMING: &str = "/portal.identity.v1.IdentityService/ListPointsOfContact";

/// The status a raw call ended with: from the headers (an immediate answer) or the trailers.
async fn raw_call(
    app: &TestApp,
    wire: Wire,
    path: &str,
    token: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> tonic::Status {
    let uri = format!("http://{}{path}", app.address);
    let (content_type, body) = match wire {
        Wire::Grpc => ("application/grpc", body),
        Wire::Web => ("application/grpc-web+proto", body),
        Wire::WebText => ("application/grpc-web-text", body),
    };
    let mut request = http::Request::post(uri)
        .header("content-type", content_type)
        .header("authorization", format!("Bearer {token}"));
    if wire == Wire::Grpc {
        request = request.header("te", "trailers");
    } else {
        request = request.header("x-grpc-web", "1");
    }
    if let Some(encoding) = encoding {
        request = request.header("grpc-encoding", encoding);
    }
    let request = request.body(Full::new(Bytes::from(body))).unwrap();
    let client = Client::builder(TokioExecutor::new())
        .http2_only(wire == Wire::Grpc)
        .build_http::<Full<Bytes>>();
    let response =
        tokio::time::timeout(std::time::Duration::from_secs(10), client.request(request))
            .await
            .expect("an answer within 10 s")
            .unwrap();
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.unwrap();
    let mut headers = parts.headers.clone();
    if let Some(trailers) = collected.trailers() {
        headers.extend(trailers.clone());
    }
    if wire != Wire::Grpc && headers.get("grpc-status").is_none() {
        // gRPC-Web carries the trailers in the body, after the messages, in a frame flagged 0x80.
        let mut bytes = collected.to_bytes().to_vec();
        let text = parts
            .headers
            .get("content-type")
            .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc-web-text"));
        if text {
            // Each response chunk is base64 of its own, padding and all: decoded four characters at a time.
            bytes = bytes
                .chunks(4)
                .flat_map(|quad| {
                    base64::engine::general_purpose::STANDARD
                        .decode(quad)
                        .unwrap()
                })
                .collect();
        }
        let mut rest = bytes.as_slice();
        while let [flag, a, b, c, d, tail @ ..] = rest {
            let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
            let (frame, after) = tail.split_at(len.min(tail.len()));
            if flag & 0x80 != 0 {
                for line in String::from_utf8_lossy(frame).split("\r\n") {
                    if let Some((name, value)) = line.split_once(':') {
                        headers.insert(
                            http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                            value.trim().parse().unwrap(),
                        );
                    }
                }
            }
            rest = after;
        }
    }
    tonic::Status::from_header_map(&headers).unwrap_or_else(|| tonic::Status::ok(""))
}

/// The body of `frames` as `wire` sends it.
fn sent(wire: Wire, raw: &[u8]) -> Vec<u8> {
    match wire {
        Wire::WebText => base64::engine::general_purpose::STANDARD
            .encode(raw)
            .into_bytes(),
        _ => raw.to_vec(),
    }
}

/// `message` framed: uncompressed, its length, the bytes.
fn framed(message: &[u8]) -> Vec<u8> {
    let mut body = vec![0];
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(message);
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_own_framing_is_never_internal() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.service_token("probe", "identity.admin internal");
    let account_id = app.new_account("Framing", false).await;
    // Each RPC with a request it answers OK: every probe below spoils only the framing around it.
    let requests = [
        (
            UNARY,
            framed(&id::GetAccountRequest { account_id }.encode_to_vec()),
        ),
        (
            STREAMING,
            framed(
                &id::ListPointsOfContactRequest {
                    kind: id::ContactKind::Security as i32,
                    ..Default::default()
                }
                .encode_to_vec(),
            ),
        ),
    ];
    let mut wrong = Vec::new();
    let mut calls = 0;
    for wire in [Wire::Grpc, Wire::Web, Wire::WebText] {
        for (path, valid) in &requests {
            let flagged = |flag: u8| {
                let mut body = valid.clone();
                body[0] = flag;
                body
            };
            // (what, the body before any base64, grpc-encoding, the code it must get)
            let cases: Vec<(&str, Vec<u8>, Option<&str>, Code)> = vec![
                ("the request as it is", valid.clone(), None, Code::Ok),
                ("an empty body", Vec::new(), None, Code::InvalidArgument),
                (
                    "half a frame header",
                    valid[..3].to_vec(),
                    None,
                    Code::InvalidArgument,
                ),
                (
                    "a frame cut short",
                    valid[..valid.len() - 1].to_vec(),
                    None,
                    Code::InvalidArgument,
                ),
                (
                    "bytes after the message",
                    [valid.as_slice(), &[0x0a, 0x01]].concat(),
                    None,
                    Code::InvalidArgument,
                ),
                (
                    "a second message",
                    [valid.as_slice(), valid.as_slice()].concat(),
                    None,
                    Code::InvalidArgument,
                ),
                (
                    "compression flag 222",
                    flagged(222),
                    None,
                    Code::InvalidArgument,
                ),
                (
                    "compression flag 0x80",
                    flagged(0x80),
                    None,
                    Code::InvalidArgument,
                ),
                (
                    "compressed, no grpc-encoding",
                    flagged(1),
                    None,
                    Code::InvalidArgument,
                ),
                (
                    "compressed with an encoding the server lacks",
                    flagged(1),
                    Some("snappy"),
                    Code::Unimplemented,
                ),
            ];
            for (what, raw, encoding, expected) in cases {
                calls += 1;
                let status = raw_call(&app, wire, path, &token, encoding, sent(wire, &raw)).await;
                let internal_words = status.message().contains("decoding stream")
                    || status.message().contains("Missing request message");
                if status.code() != expected || internal_words {
                    wrong.push(format!(
                        "{wire:?} {path} with {what}: {:?} {:?} ({:?}), expected {expected:?}",
                        status.code(),
                        reason_of(&status),
                        status.message()
                    ));
                }
            }
        }
    }
    for (path, _) in &requests {
        for text in ["not base64!", "AAAAAA=", "AAAA\u{0}AAA"] {
            calls += 1;
            let status = raw_call(
                &app,
                Wire::WebText,
                path,
                &token,
                None,
                text.as_bytes().to_vec(),
            )
            .await;
            if status.code() != Code::InvalidArgument {
                wrong.push(format!(
                    "WebText {path} with {text:?} (not base64): {:?} {:?} ({:?})",
                    status.code(),
                    reason_of(&status),
                    status.message()
                ));
            }
        }
    }
    // A bad token is still UNAUTHENTICATED, whatever the body: the token is looked at first.
    calls += 1;
    let status = raw_call(&app, Wire::Grpc, UNARY, "not-a-jwt", None, vec![0, 0, 0]).await;
    if status.code() != Code::Unauthenticated {
        wrong.push(format!("a bad token with a bad body: {status:?}"));
    }
    println!("{calls} calls with the caller's own framing");
    assert!(
        wrong.is_empty(),
        "{} of {calls} calls wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
