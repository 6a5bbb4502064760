//! The listeners a process runs beside the gRPC one: the admin listener (metrics, the published keys), and the
//! notification service's public listener (N9, N15) and inbound SMTP listener for delivery reports (N14).

use std::{net::SocketAddr, time::Duration};

use portal_runtime::{Settings, auth};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{AppError, keys::openpgp_key};

/// Binds the admin listener, when configured; [`serve_admin`] serves it once the services are mounted.
pub(crate) async fn bind_admin(
    settings: &Settings,
) -> Result<Option<(TcpListener, SocketAddr)>, AppError> {
    Ok(match settings.admin_listen {
        Some(address) => Some(
            portal_runtime::server::bind_tcp(address)
                .await
                .map_err(|source| AppError::Bind { address, source })?,
        ),
        None => None,
    })
}

/// Serves metrics and the published keys on the admin listener.
pub(crate) fn serve_admin(
    settings: &Settings,
    listener: TcpListener,
) -> Result<JoinHandle<()>, AppError> {
    let keys = auth::PublishedKeys::from_settings(settings)?;
    Ok(tokio::spawn(portal_runtime::metrics::serve_admin(
        listener, keys,
    )))
}

/// N9: binds the notification service's public listener, when configured, and says the URL links to it start
/// with (the configured base URL, else the bound address).
pub(crate) async fn bind_public(
    settings: &Settings,
) -> Result<(Option<(TcpListener, SocketAddr)>, String), AppError> {
    let public = &settings.notification.public;
    let bound = match public.listen {
        Some(address) => Some(
            portal_runtime::server::bind_tcp(address)
                .await
                .map_err(|source| AppError::Bind { address, source })?,
        ),
        None => None,
    };
    let base = public
        .resolved_base_url(bound.as_ref().map(|(_, local)| *local))
        .ok_or_else(|| {
            AppError::Config(
                "notification.public.base_url: set it, or notification.public.listen, so that advisory mail can link to the acknowledgement page".into(),
            )
        })?;
    Ok((bound, base))
}

/// N9, N15: the public listener's pages (built in, or the operator's), limits and CSAF provider key.
fn public_options(
    settings: &Settings,
    jwks: bytes::Bytes,
) -> Result<portal_notification::public::PublicOptions, AppError> {
    use portal_notification::public::{Pages, PublicOptions, RateLimits};
    let public = &settings.notification.public;
    Ok(PublicOptions {
        openpgp_key: Some(openpgp_key(settings)?),
        pages: Pages::load(public.templates_dir.as_deref()).map_err(AppError::Config)?,
        limits: RateLimits::new(public.per_address_per_minute, public.global_per_second),
        max_connections: 1024,
        header_timeout: Duration::from_secs(10),
        jwks: Some(jwks),
    })
}

/// N9, N15: serves the public listener's pages until `stop` turns true.
pub(crate) fn serve_public(
    settings: &Settings,
    listener: TcpListener,
    api: &portal_notification::NotificationApi,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, AppError> {
    // The key set as the admin listener serves it (licensing, earlier in `App::build`'s loop, made the data
    // directory's grant key where it runs here).
    let jwks = auth::PublishedKeys::from_settings(settings)?.document();
    let options = public_options(settings, jwks)?;
    Ok(api.spawn_public(listener, options, stop))
}

/// N14: binds the listener delivery reports come back to and serves it until `stop` turns true.
pub(crate) async fn serve_inbound(
    settings: &Settings,
    address: SocketAddr,
    api: &portal_notification::NotificationApi,
    stop: watch::Receiver<bool>,
) -> Result<(JoinHandle<()>, SocketAddr), AppError> {
    let smtp = &settings.smtp;
    let (listener, local) = portal_runtime::server::bind_tcp(address)
        .await
        .map_err(|source| AppError::Bind { address, source })?;
    let limits = portal_notification::inbound::InboundLimits {
        max_message_bytes: smtp.inbound.max_message_bytes,
        max_connections: smtp.inbound.max_connections,
        idle_timeout: Duration::from_secs(smtp.inbound.idle_timeout_secs),
        session_timeout: Duration::from_secs(smtp.inbound.session_timeout_secs),
    };
    Ok((api.spawn_inbound(listener, limits, stop), local))
}
