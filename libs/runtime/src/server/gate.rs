//! The [`Gate`] in front of every portal service: load shedding, authentication, fair shares, request bounds and
//! trace context, and the refusals it answers with.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use tokio::sync::Semaphore;
use tonic::{Code, body::Body, server::NamedService};
use tower::Service;
use tracing::Instrument;

use super::shares::{Share, Shares};
use crate::{
    auth::{INTERNAL_SCOPE, Verifier},
    error::{self, reason},
    limits::{Limits, MAX_MESSAGE_BYTES},
    metrics, telemetry,
};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What stands in front of every portal service: sheds calls beyond the open-stream limit at once; authenticates
/// the bearer token (a token seen before costs a hash and a lookup); holds each caller from outside the suite to
/// its fair share of open calls ([`shares`](super::shares)); reads the request message within the read deadline
/// and refuses one with a field over its bound ([`crate::limits`]) before the handler decodes it; only then takes
/// a concurrency permit, so that a stalled request holds none; and adopts the caller's trace context. Every refusal
/// is `RESOURCE_EXHAUSTED`, `UNAUTHENTICATED`, `INVALID_ARGUMENT` or `DEADLINE_EXCEEDED` with a reason.
#[derive(Clone)]
pub struct Gate<S> {
    pub(super) inner: S,
    pub(super) permits: Arc<Semaphore>,
    pub(super) streams: Arc<Semaphore>,
    pub(super) shares: Arc<Shares>,
    pub(super) verifier: Arc<Verifier>,
    pub(super) limits: Arc<Limits>,
    pub(super) read_timeout: std::time::Duration,
    pub(super) max_token_bytes: usize,
}

impl<S: NamedService> NamedService for Gate<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for Gate<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is decided per call (the permit below), so a full server answers fast instead of queueing.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let Ok(stream) = self.streams.clone().try_acquire_owned() else {
            metrics::rpc(request.uri().path(), "8", 0.0);
            return Box::pin(refuse(request, overloaded()));
        };
        // The service that was polled ready is the one that must be called: the call takes it, and this Gate
        // keeps the fresh clone for the next one.
        let mut gate = self.clone();
        std::mem::swap(&mut gate.inner, &mut self.inner);
        Box::pin(async move {
            let method = request.uri().path().to_string();
            let authorization = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.as_bytes().len());
            if authorization.is_some_and(|len| len > gate.max_token_bytes) {
                metrics::rpc(&method, "16", 0.0);
                return refuse(request, token_too_large(gate.max_token_bytes)).await;
            }
            let authorization = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // Verification may have to fetch an identity provider's key set (a `kid` not seen yet).
            let principal = match gate.verifier.verify_header(authorization.as_deref()).await {
                Ok(principal) => principal,
                Err(status) => return refuse(request, status).await,
            };
            // The limits below are for calls from outside the suite. A call between its own services is made for a
            // call already admitted (ListKeys asks identity who its caller is): shed, it failed that call
            // UNAVAILABLE halfway, after it had spent its share (a quarter of all calls at twice the capacity, in
            // `portal-bench --overload`). It takes no permit or share and stays bounded by the open-stream limit and
            // by the calls that made it.
            let internal = principal.has_scope(INTERNAL_SCOPE);
            let share = if internal {
                None
            } else {
                match gate.shares.take(principal.actor()) {
                    Some(share) => Some(share),
                    None => {
                        metrics::rpc(&method, "8", 0.0);
                        return refuse(request, over_share()).await;
                    }
                }
            };
            request.extensions_mut().insert(principal);
            let span = tracing::info_span!("rpc", otel.name = %method, otel.kind = "server", rpc.method = %method, trace_id = tracing::field::Empty);
            telemetry::adopt_remote_parent(&span, request.headers());
            span.record("trace_id", telemetry::trace_id(&span));
            async move {
                let started = std::time::Instant::now();
                let response = match tokio::time::timeout(
                    gate.read_timeout,
                    within_bounds(request, &gate.limits),
                )
                .await
                {
                    Err(_) => Ok(too_slow(gate.read_timeout).into_http()),
                    Ok(Err(status)) => Ok(status.into_http()),
                    Ok(Ok(request)) => {
                        // Only a call whose message is in takes a concurrency permit.
                        let permit = if internal {
                            Ok(None)
                        } else {
                            gate.permits.clone().try_acquire_owned().map(Some)
                        };
                        match permit {
                            Err(_) => Ok(overloaded().into_http()),
                            Ok(permit) => {
                                let response = gate.inner.call(request).await.map(|r| {
                                    blame_the_caller(r)
                                        .map(|body| Body::new(Held::new(body, stream, share)))
                                });
                                drop(permit);
                                response
                            }
                        }
                    }
                };
                // An error answered at once carries grpc-status in the headers; success comes in the trailers.
                let code = match &response {
                    Ok(r) => r
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("0")
                        .to_string(),
                    Err(_) => "2".to_string(),
                };
                metrics::rpc(&method, &code, started.elapsed().as_secs_f64());
                response
            }
            .instrument(span)
            .await
        })
    }
}

fn overloaded() -> tonic::Status {
    error::status(
        Code::ResourceExhausted,
        reason::OVERLOADED,
        "server is at its concurrency or open-stream limit; retry with backoff",
    )
}

fn over_share() -> tonic::Status {
    error::status(
        Code::ResourceExhausted,
        reason::OVERLOADED,
        "this caller has as many calls open as one caller may; finish or cancel some, then retry with backoff",
    )
}

fn too_slow(limit: std::time::Duration) -> tonic::Status {
    error::status(
        Code::DeadlineExceeded,
        reason::REQUEST_TOO_SLOW,
        format!(
            "the request message did not arrive within {} ms of its headers",
            limit.as_millis()
        ),
    )
}

fn token_too_large(limit: usize) -> tonic::Status {
    error::status(
        Code::Unauthenticated,
        reason::TOKEN_TOO_LARGE,
        format!("the bearer token is longer than the {limit} bytes accepted"),
    )
}

/// Answers a call with `status` before any handler reads it. Over HTTP/1.1 (gRPC-Web) the request body is read
/// first — at most a little more than the largest message the server accepts, for at most a second — because
/// answering a request whose body is still arriving makes the server close the connection under the client, which
/// then sees a broken pipe instead of the status. Over HTTP/2 the stream is simply reset, so nothing is read.
async fn refuse(
    request: http::Request<Body>,
    status: tonic::Status,
) -> Result<http::Response<Body>, Infallible> {
    use http_body_util::BodyExt;
    if request.version() < http::Version::HTTP_2 {
        let body = http_body_util::Limited::new(request.into_body(), 4 * 1024 * 1024 + 5);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), body.collect()).await;
    }
    Ok(status.into_http())
}

/// Reads the request's message (the one of a unary or server-streaming call; tonic decodes no other) and checks
/// every field against its bound ([`crate::limits`]): `INVALID_ARGUMENT` (`INVALID_FIELD`) naming the first field
/// over it. Reading stops once the message is in, without waiting for the end of the body, which is handed on as
/// it came. A message larger than the server decodes, a compressed one or a body that is not gRPC-framed is
/// handed on unchecked, for tonic to refuse as it always has.
async fn within_bounds(
    request: http::Request<Body>,
    limits: &Limits,
) -> Result<http::Request<Body>, tonic::Status> {
    use http_body_util::BodyExt;
    if !limits.knows(request.uri().path()) {
        return Ok(request);
    }
    let (parts, mut body) = request.into_parts();
    // The usual case, the message in one chunk, is kept as it came; more chunks are joined.
    let mut one: Option<bytes::Bytes> = None;
    let mut joined = bytes::BytesMut::new();
    let framed = loop {
        let read: &[u8] = one.as_deref().unwrap_or(&joined);
        if let [flag, a, b, c, d, ..] = read {
            let end = 5 + u32::from_be_bytes([*a, *b, *c, *d]) as usize;
            if *flag != 0 || end > MAX_MESSAGE_BYTES + 5 {
                break None;
            }
            if read.len() >= end {
                break Some(end);
            }
        }
        match body.frame().await {
            None => break None,
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                match one.take() {
                    None if joined.is_empty() => one = Some(data),
                    earlier => {
                        if let Some(earlier) = earlier {
                            joined.extend_from_slice(&earlier);
                        }
                        joined.extend_from_slice(&data);
                    }
                }
            }
            Some(Err(status)) => return Err(status),
        }
    };
    let read = one.unwrap_or_else(|| joined.freeze());
    if let Some(message) = framed.and_then(|end| read.get(5..end)) {
        limits
            .check(parts.uri.path(), message)
            .map_err(|violation| {
                error::invalid(reason::INVALID_ARGUMENT, "invalid request", &[violation])
            })?;
    }
    let body = Body::new(Replay {
        read: Some(read),
        rest: body,
    });
    Ok(http::Request::from_parts(parts, body))
}

/// A request body whose beginning was already read.
struct Replay {
    read: Option<bytes::Bytes>,
    rest: Body,
}

impl http_body::Body for Replay {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match self.read.take() {
            Some(read) if !read.is_empty() => Poll::Ready(Some(Ok(http_body::Frame::data(read)))),
            _ => Pin::new(&mut self.rest).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.read.as_ref().is_none_or(bytes::Bytes::is_empty) && self.rest.is_end_stream()
    }
}

/// tonic answers a request body it cannot read before any handler runs, as if the server were at fault:
/// `INTERNAL` naming the message and field for a body that is not the method's protobuf message, and
/// `OUT_OF_RANGE` for one over the size limit. Both are the caller's fault, so they leave as `INVALID_ARGUMENT`
/// (reason `INVALID_FIELD`) and `RESOURCE_EXHAUSTED` (reason `MESSAGE_TOO_LARGE`), without the decoder's text.
/// Handlers never answer with these messages: their internal errors say only "internal error".
fn blame_the_caller(response: http::Response<Body>) -> http::Response<Body> {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    // grpc-message is percent-encoded on the wire.
    let message = percent_encoding::percent_decode_str(header("grpc-message")).decode_utf8_lossy();
    let status = match (header("grpc-status"), message.as_ref()) {
        ("13", message) if message.starts_with("failed to decode Protobuf message") => {
            error::invalid(
                reason::INVALID_ARGUMENT,
                "the request body is not a valid message of this method",
                &[],
            )
        }
        ("11", message) if message.contains("message length too large") => error::status(
            Code::ResourceExhausted,
            reason::MESSAGE_TOO_LARGE,
            "the request message is larger than the server accepts",
        ),
        _ => return response,
    };
    status.into_http()
}

/// A response body that holds its open-stream permit and its caller's share until the body ends or is dropped
/// (a client hanging up).
struct Held {
    body: Body,
    _permit: tokio::sync::OwnedSemaphorePermit,
    _share: Option<Share>,
}

impl Held {
    fn new(body: Body, permit: tokio::sync::OwnedSemaphorePermit, share: Option<Share>) -> Self {
        Self {
            body,
            _permit: permit,
            _share: share,
        }
    }
}

impl http_body::Body for Held {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
