//! The public listener's connections: HTTP/1.1 (TLS ends at the ingress), a bounded number at once, headers
//! within a timeout, request bodies bounded, the same security headers on every answer, and a drain on stop.

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{net::TcpListener, sync::watch};

use super::{Answer, Site};

/// The largest request body read: the button's form is empty.
const MAX_BODY_BYTES: usize = 4 * 1024;

/// Sent with every answer (and `Cache-Control`, `no-store` but for the key set): no framing, no referrer (the URL
/// holds the token), no sniffing, and
/// nothing loaded from anywhere but this listener.
const SECURITY_HEADERS: [(&str, &str); 6] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    ),
];

pub(super) async fn run(site: Arc<Site>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(site.options.max_connections));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            () = stopped(&mut stop) => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, client) = tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::debug!(error = %e, "public listener: accept failed");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let site = site.clone();
        let header_timeout = site.options.header_timeout;
        let mut stop = stop.clone();
        connections.spawn(async move {
            let _permit = permit;
            let service = service_fn(move |request| {
                let site = site.clone();
                async move { Ok::<_, Infallible>(handle(&site, request, client).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Resolves once `stop` turns true (or its sender is gone), holding no guard across an await.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

async fn handle(
    site: &Site,
    request: Request<Incoming>,
    client: SocketAddr,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let answer = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(_) => site.answer(&parts.method, parts.uri.path(), client).await,
        Err(_) => Answer::text(http::StatusCode::PAYLOAD_TOO_LARGE, "request too large\n"),
    };
    respond(answer)
}

fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(answer.body));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(answer.cache_control),
    );
    if let Some(allow) = answer.allow {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    if let Some(seconds) = answer.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
