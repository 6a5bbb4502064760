//! Noisy neighbours (issue 24): one caller cannot take the service from the rest. A principal that stalls
//! hundreds of requests half-way through their message and holds watch streams open gets at most its share, and
//! its stalled calls are cut at the read deadline; meanwhile another principal's calls all succeed. Watch streams
//! end at their lifetime; silent and half-open connections are closed; an oversized token gets a gRPC status.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::time::{Duration, Instant};

use bytes::Bytes;
use portal_proto::{
    identity::{GetAccountRequest, Role, identity_service_client::IdentityServiceClient},
    notification as pb,
};
use portal_runtime::error::reason_of;
use portal_testkit::{Backend, ServiceKind, TestApp, authed, smtp::SmtpSink, storage_test, wait};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic::{Code, transport::Endpoint};

/// The fair share in these tests: small, so that a handful of connections can exceed it many times over.
const SHARE: usize = 16;

/// One call opened on a raw HTTP/2 connection and left half-sent: its headers and 3 of the 5 bytes of the
/// gRPC message prefix, then nothing.
struct Stalled {
    response: h2::client::ResponseFuture,
    _body: h2::SendStream<Bytes>,
}

/// `n` stalled GetAccount calls with `token`, spread over `connections` raw HTTP/2 connections.
async fn stall(app: &TestApp, token: &str, n: usize, connections: usize) -> Vec<Stalled> {
    let mut senders = Vec::new();
    for _ in 0..connections {
        let tcp = TcpStream::connect(app.address).await.unwrap();
        let (sender, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        senders.push(sender);
    }
    let mut stalled = Vec::with_capacity(n);
    for i in 0..n {
        let sender = &mut senders[i % connections];
        let mut ready = sender.clone().ready().await.unwrap();
        let request = http::Request::post(format!(
            "http://{}/portal.identity.v1.IdentityService/GetAccount",
            app.address
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
        let (response, mut body) = ready.send_request(request, false).unwrap();
        body.send_data(Bytes::from_static(&[0, 0, 0]), false)
            .unwrap();
        stalled.push(Stalled {
            response,
            _body: body,
        });
    }
    stalled
}

/// The gRPC status of a raw HTTP/2 response (a refusal comes in the headers, trailers-only).
async fn status_of(response: h2::client::ResponseFuture) -> (String, String) {
    let response = response.await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    (header("grpc-status"), header("grpc-message"))
}

fn neighbourly(s: &mut portal_runtime::Settings) {
    s.server.principal_share = SHARE;
    s.server.concurrency_limit = 64;
    s.server.stream_limit = 96;
    s.server.request_read_timeout_ms = 2_000;
    s.notification.watch_max_secs = 3;
}

storage_test!(
    one_principal_stalling_hundreds_of_calls_and_holding_watches_cannot_starve_another,
    |backend| async move {
        let sink = SmtpSink::start().await;
        // The advisory's mail cannot go out, so the advisory stays unsettled and its watches stay open.
        sink.down();
        let url = sink.url();
        let app = TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
            neighbourly(s);
            s.smtp.url = Some(url.into());
            s.smtp.retry_first_ms = 60_000;
        })
        .await;
        let (noisy_account, _, _) = app.account_with_admin("Noisy").await;
        let noisy = app
            .new_user(
                &noisy_account,
                "noisy@noisy.example",
                Role::DownloadOnly,
                &[],
            )
            .await;
        let noisy_token = app.user_token(&noisy.user_id);
        let (quiet_account, _, quiet_token) = app.account_with_admin("Quiet").await;
        let publisher = app.service_token("watcher", "notification.publish");
        let mut notification = app.notification(&publisher).await;
        let advisory = notification
            .publish_advisory(pb::PublishAdvisoryRequest {
                kind: pb::AdvisoryKind::Security as i32,
                severity: pb::Severity::High as i32,
                title: "Unsettled".into(),
                summary: "Held open by an SMTP outage.".into(),
                target: Some(pb::publish_advisory_request::Target::AllAccounts(true)),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();

        // The attack: 300 stalled calls over 6 connections, and twice the share of watch streams.
        let stalled = stall(&app, &noisy_token, 300, 6).await;
        let mut watches = Vec::new();
        let mut watch_refusals = 0;
        for _ in 0..2 * SHARE {
            match notification
                .watch_advisory(pb::WatchAdvisoryRequest {
                    advisory_id: advisory.advisory_id.clone(),
                })
                .await
            {
                Ok(stream) => watches.push(stream.into_inner()),
                Err(status) => {
                    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                    assert_eq!(reason_of(&status).as_deref(), Some("OVERLOADED"));
                    watch_refusals += 1;
                }
            }
        }
        assert_eq!(
            watches.len(),
            SHARE,
            "one principal's watches stop at its share"
        );
        assert_eq!(watch_refusals, SHARE);

        // Meanwhile the quiet principal's calls all succeed.
        let channel = Endpoint::from_shared(format!("http://{}", app.address))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut quiet = IdentityServiceClient::new(channel);
        let mut latencies = Vec::new();
        for _ in 0..200 {
            let started = Instant::now();
            let answer = quiet
                .get_account(authed(
                    GetAccountRequest {
                        account_id: quiet_account.clone(),
                    },
                    &quiet_token,
                ))
                .await;
            latencies.push(started.elapsed());
            assert!(answer.is_ok(), "the quiet principal is served: {answer:?}");
        }
        latencies.sort();
        println!(
            "quiet principal under attack ({backend:?}): 200 of 200 GetAccount succeeded, p50 {:.2} ms, p99 {:.2} ms",
            latencies[100].as_secs_f64() * 1000.0,
            latencies[197].as_secs_f64() * 1000.0
        );

        // The noisy principal's stalled calls: past its share refused at once, the rest cut at the read deadline.
        let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
        for call in stalled {
            let (code, _) = status_of(call.response).await;
            *outcomes.entry(code).or_default() += 1;
        }
        assert_eq!(
            outcomes.get("8").copied().unwrap_or(0) + outcomes.get("4").copied().unwrap_or(0),
            300,
            "every stalled call is refused (8) or cut (4): {outcomes:?}"
        );
        assert!(
            outcomes.get("4").copied().unwrap_or(0) <= SHARE,
            "{outcomes:?}"
        );

        // Watch streams end at their lifetime, unsettled, and the share comes back.
        for mut watch in watches {
            let mut last = None;
            while let Some(stats) = watch.message().await.unwrap() {
                last = Some(stats);
            }
            assert!(
                last.is_some_and(|s| !s.settled),
                "ended by its lifetime, unsettled"
            );
        }
        wait::until(
            "the noisy principal is served again",
            Duration::from_secs(10),
            async || {
                let mut noisy_client = app.identity(&noisy_token).await;
                noisy_client
                    .get_account(GetAccountRequest {
                        account_id: noisy_account.clone(),
                    })
                    .await
                    .map(|_| ())
                    .map_err(|e| e.code())
            },
        )
        .await;
    }
);

/// Connections that send nothing, only the HTTP/2 preface, or a partial frame are closed; without a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_open_connections_are_closed() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[ServiceKind::Identity], |s| {
        s.server.idle_timeout_secs = 2;
        s.server.keepalive_interval_secs = 1;
        s.server.keepalive_timeout_secs = 1;
    })
    .await;
    let mut connections = Vec::new();
    for i in 0..60 {
        let mut tcp = TcpStream::connect(app.address).await.unwrap();
        match i % 3 {
            0 => {}
            1 => tcp
                .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                .await
                .unwrap(),
            _ => {
                tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                    .await
                    .unwrap();
                // A SETTINGS frame header promising 6 bytes, then 2 of them.
                tcp.write_all(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3])
                    .await
                    .unwrap();
            }
        }
        connections.push(tcp);
    }
    for (i, mut tcp) in connections.into_iter().enumerate() {
        // The server may say something first (its SETTINGS, a PING, a GOAWAY); what counts is that it hangs up.
        let closed = tokio::time::timeout(Duration::from_secs(20), async {
            let mut buffer = [0u8; 1024];
            loop {
                match tcp.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(
            closed.is_ok(),
            "connection {i} (kind {}) still open after 20 s",
            i % 3
        );
    }
}

/// A token over the bound is `UNAUTHENTICATED` with a reason, not HTTP 431 (`UNKNOWN`) or a GOAWAY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_token_gets_a_grpc_status_with_a_reason() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[ServiceKind::Identity], |_| {}).await;
    for size in [20 * 1024, 100 * 1024] {
        let token = "a".repeat(size);
        let mut client = IdentityServiceClient::new(app.channel().await);
        let status = client
            .get_account(authed(GetAccountRequest::default(), &token))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{size} bytes: {status:?}"
        );
        assert_eq!(
            reason_of(&status).as_deref(),
            Some("TOKEN_TOO_LARGE"),
            "{size} bytes"
        );
        // The connection survives: the next call on it is answered.
        let again = client
            .get_account(authed(GetAccountRequest::default(), "not-a-token"))
            .await
            .unwrap_err();
        assert_eq!(again.code(), Code::Unauthenticated);
    }
}
