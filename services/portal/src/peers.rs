//! The other services as this process calls them: a channel, and a `svc:` caller with a fresh token per call.

use std::{net::SocketAddr, sync::Arc};

use portal_runtime::{Settings, auth::Minter};

use crate::{AppError, ServiceKind};

/// How this process reaches the other services: configured URLs, or itself when they run in-process.
pub(crate) struct Peers<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) local: SocketAddr,
    pub(crate) minter: Arc<Minter>,
}

impl Peers<'_> {
    fn url(&self, kind: ServiceKind) -> String {
        let configured = match kind {
            ServiceKind::Identity => &self.settings.peers.identity,
            ServiceKind::Licensing => &self.settings.peers.licensing,
            ServiceKind::Billing => &self.settings.peers.billing,
            ServiceKind::Notification => &self.settings.peers.notification,
        };
        configured.clone().unwrap_or_else(|| {
            // A wildcard listen address is not something to connect to; loopback reaches the same listener.
            let mut local = self.local;
            if local.ip().is_unspecified() {
                local.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{local}")
        })
    }

    pub(crate) fn channel(&self, kind: ServiceKind) -> Result<tonic::transport::Channel, AppError> {
        let url = self.url(kind);
        portal_runtime::client::Caller::channel_to(&url, self.settings.server.client_timeout())
            .map_err(|e| AppError::Peer {
                url,
                reason: e.to_string(),
            })
    }

    /// A notification client acting as `svc:<kind>` (for the outbox relay).
    pub(crate) fn notification(
        &self,
        kind: ServiceKind,
    ) -> Result<portal_runtime::outbox::NotificationClient, AppError> {
        let channel = self.channel(ServiceKind::Notification)?;
        Ok(portal_proto::notification::notification_service_client::NotificationServiceClient::with_interceptor(channel, self.caller(kind)))
    }

    /// `svc:<kind>` with scope `internal`, a fresh token per call, and the configured deadline.
    pub(crate) fn caller(&self, kind: ServiceKind) -> portal_runtime::client::Caller {
        portal_runtime::client::Caller::new(
            self.minter.clone(),
            kind.name(),
            portal_runtime::auth::INTERNAL_SCOPE,
            self.settings.server.client_timeout(),
        )
    }
}
