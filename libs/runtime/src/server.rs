//! Server bootstrap: one listener serving any set of portal services plus `grpc.health.v1` and server reflection
//! (v1 and v1alpha), to gRPC clients over HTTP/2 and to gRPC-Web clients (browsers, HTTP/1.1) with CORS for the
//! configured origins; every portal service sits behind the [`Gate`] (load shedding, authentication, trace
//! context) whichever protocol the call came in on; shutdown reports NOT_SERVING, stops accepting and drains
//! in-flight RPCs within a deadline.

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc};

use futures::StreamExt as _;
use tokio::{net::TcpListener, sync::Semaphore};
use tonic::{
    body::Body,
    server::NamedService,
    service::{Routes, RoutesBuilder},
    transport::{Server, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::Service;

use crate::{auth::Verifier, config::ServerSettings, limits::Limits};

mod gate;
mod idle;
mod shares;

pub use gate::Gate;
use shares::Shares;

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
