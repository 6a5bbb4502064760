//! Server bootstrap: one listener serving any set of portal services plus `grpc.health.v1` and server reflection
//! (v1 and v1alpha), to gRPC clients over HTTP/2 and to gRPC-Web clients (browsers, HTTP/1.1) with CORS for the
//! configured origins; every portal service sits behind the [`Gate`] (load shedding, authentication, trace
//! context) whichever protocol the call came in on; shutdown reports NOT_SERVING, stops accepting and drains
//! in-flight RPCs within a deadline.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures::StreamExt as _;
use tokio::{net::TcpListener, sync::Semaphore};
use tonic::{
    Code,
    body::Body,
    server::NamedService,
    service::{Routes, RoutesBuilder},
    transport::{Server, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::Service;
use tracing::Instrument;

use crate::{
    auth::{INTERNAL_SCOPE, Verifier},
    config::ServerSettings,
    error::{self, reason},
    limits::{Limits, MAX_MESSAGE_BYTES},
    metrics, telemetry,
};

mod idle;
mod shares;

use shares::{Share, Shares};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A listener plus the services it will serve.
pub struct Host {
    listener: TcpListener,
    address: SocketAddr,
    routes: RoutesBuilder,
    health: HealthReporter,
    names: Vec<&'static str>,
    settings: ServerSettings,
    permits: Arc<Semaphore>,
    streams: Arc<Semaphore>,
    shares: Arc<Shares>,
    verifier: Arc<Verifier>,
    limits: Arc<Limits>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("address", &self.address)
            .field("services", &self.names)
            .finish()
    }
}

impl Host {
    /// Binds `address` (port 0 picks a free port; see [`Host::address`]).
    pub async fn bind(
        address: SocketAddr,
        settings: ServerSettings,
        verifier: Arc<Verifier>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let (health, health_service) = tonic_health::server::health_reporter();
        let mut routes = Routes::builder();
        routes.add_service(health_service);
        routes
            .add_service(reflection_v1()?)
            .add_service(reflection_v1alpha()?);
        let permits = Arc::new(Semaphore::new(settings.concurrency_limit));
        let streams = Arc::new(Semaphore::new(settings.stream_limit));
        let shares = Shares::new(settings.principal_share);
        let limits = Arc::new(Limits::of_contracts().map_err(std::io::Error::other)?);
        Ok(Self {
            listener,
            address,
            routes,
            health,
            names: Vec::new(),
            settings,
            permits,
            streams,
            shares,
            verifier,
            limits,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The health reporter, for services that want to flip their own status.
    pub fn health(&self) -> HealthReporter {
        self.health.clone()
    }

    /// Adds a portal service behind the gate; it reports SERVING once [`Host::serve`] runs.
    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        let gate = Gate {
            inner: service,
            permits: self.permits.clone(),
            streams: self.streams.clone(),
            shares: self.shares.clone(),
            verifier: self.verifier.clone(),
            limits: self.limits.clone(),
            read_timeout: self.settings.request_read_timeout(),
            max_token_bytes: self.settings.max_token_bytes,
        };
        self.routes.add_service(gate);
        self
    }

    /// Serves until `shutdown` resolves, then drains: NOT_SERVING, a short delay for load balancers, no new
    /// connections or streams, and in-flight RPCs get until the drain deadline.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), tonic::transport::Error> {
        let Host {
            listener,
            routes,
            health,
            names,
            settings,
            ..
        } = self;
        for name in &names {
            health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        health.set_service_status("", ServingStatus::Serving).await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let idle = settings.idle_timeout();
        let incoming = TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .map(move |accepted| accepted.map(|stream| idle::Idle::new(stream, idle)));
        let server = Server::builder()
            .timeout(settings.request_timeout())
            .max_concurrent_streams(settings.max_streams_per_connection)
            // Dead peers and silent ones end: a PING unanswered within the keepalive timeout closes the connection,
            // and nothing read for the idle timeout does too (idle.rs).
            .http2_keepalive_interval(Some(settings.keepalive_interval()))
            .http2_keepalive_timeout(Some(settings.keepalive_timeout()))
            // Headers up to this size reach the Gate, which answers an oversized token with a gRPC status; h2's
            // 16 KiB default answered a 20 KB token with HTTP 431 (UNKNOWN to clients) and larger ones with GOAWAY.
            .http2_max_header_list_size(settings.max_header_list_bytes)
            // gRPC-Web arrives over HTTP/1.1 as well as HTTP/2. CORS answers browsers' preflights before anything
            // else; tonic-web then turns a gRPC-Web call into plain gRPC, so the Gate and the services below see
            // (and answer) every call the same way, and their answer is turned back into gRPC-Web.
            .accept_http1(true)
            .layer(cors(&settings.cors_allowed_origins))
            .layer(tonic_web::GrpcWebLayer::new())
            // Bad gRPC framing in the body is the caller's fault, INVALID_ARGUMENT, never INTERNAL (framing.rs).
            .layer(crate::framing::FramingLayer::new())
            .add_routes(routes.routes())
            // tonic applies its own TCP settings only to listeners it binds; ours is bound early (port 0 in tests),
            // so no-delay is set on each accepted socket here. Without it, any response written in more than one
            // write waits ~40 ms for the client's delayed ACK (Nagle).
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            });
        tokio::pin!(server);
        tokio::select! {
            result = &mut server => return result,
            () = shutdown => {}
        }
        tracing::info!("shutting down: reporting NOT_SERVING and draining");
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for name in &names {
            health
                .set_service_status(*name, ServingStatus::NotServing)
                .await;
        }
        tokio::time::sleep(settings.shutdown_delay()).await;
        let _ = stop.send(());
        match tokio::time::timeout(settings.drain_timeout(), server).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(deadline = ?settings.drain_timeout(), "drain deadline passed; abandoning in-flight RPCs");
                Ok(())
            }
        }
    }
}

/// Cross-origin access for gRPC-Web from browser pages on `origins` (`*`: any page); none by default. A preflight
/// from any other origin gets no `access-control-allow-*` headers, so the browser does not send the call. Tokens
/// travel in the `authorization` header, never in cookies, so credentials are not allowed.
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use http::{HeaderName, HeaderValue, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        // Settings validated every origin; one that is not a header value could match no request anyway.
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let name = HeaderName::from_static;
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            name("x-grpc-web"),
            name("x-user-agent"),
            name("grpc-timeout"),
            name("traceparent"),
            name("tracestate"),
        ])
        .expose_headers([
            name("grpc-status"),
            name("grpc-message"),
            name("grpc-status-details-bin"),
        ])
        .max_age(std::time::Duration::from_secs(7200))
}

fn reflection_v1() -> std::io::Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
> {
    reflection_builder()
        .build_v1()
        .map_err(std::io::Error::other)
}

fn reflection_v1alpha() -> std::io::Result<
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
> {
    reflection_builder()
        .build_v1alpha()
        .map_err(std::io::Error::other)
}

fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(portal_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Resolves on SIGTERM or SIGINT.
/// Binds a plain TCP listener (admin, inbound SMTP, the public page), so that its address is known before
/// anything is served (port 0 picks one).
pub async fn bind_tcp(
    address: std::net::SocketAddr,
) -> std::io::Result<(TcpListener, std::net::SocketAddr)> {
    let listener = TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// What stands in front of every portal service: sheds calls beyond the open-stream limit at once; authenticates
/// the bearer token (a token seen before costs a hash and a lookup); holds each caller from outside the suite to
/// its fair share of open calls ([`shares`]); reads the request message within the read deadline and refuses one
/// with a field over its bound ([`crate::limits`]) before the handler decodes it; only then takes a concurrency
/// permit, so that a stalled request holds none; and adopts the caller's trace context. Every refusal is
/// `RESOURCE_EXHAUSTED`, `UNAUTHENTICATED`, `INVALID_ARGUMENT` or `DEADLINE_EXCEEDED` with a reason.
#[derive(Clone)]
pub struct Gate<S> {
    inner: S,
    permits: Arc<Semaphore>,
    streams: Arc<Semaphore>,
    shares: Arc<Shares>,
    verifier: Arc<Verifier>,
    limits: Arc<Limits>,
    read_timeout: std::time::Duration,
    max_token_bytes: usize,
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
