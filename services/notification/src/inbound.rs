//! N14: the inbound SMTP listener. The relay in front of the suite sends back what it and the mail systems
//! beyond it report about the suite's mail — DSNs, complaints, auto-replies — to each mail's envelope sender at
//! the bounce domain (a Postfix `transport_maps` entry, say). Only those addresses are accepted, each with a
//! sealed token naming its delivery: any other recipient gets `550`, so this is never a relay. Connections,
//! message size and time are bounded. Commands and DATA are read by a maintained SMTP parser (`smtp-proto`);
//! what a report means is the domain's ([`crate::domain::bounce`]); recording it is [`take`]'s.

mod session;
mod take;

use std::{sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::Semaphore, sync::watch, task::JoinHandle};

use crate::NotificationApi;

/// The bounds of the listener (config `smtp.inbound.*`).
#[derive(Debug, Clone, Copy)]
pub struct InboundLimits {
    /// The largest message taken; a bigger one is refused with `552` after it was read (and thrown away).
    pub max_message_bytes: usize,
    /// Sessions at once; one more is answered `421` and closed.
    pub max_connections: usize,
    /// How long the client may keep the session waiting for its next bytes.
    pub idle_timeout: Duration,
    /// How long one session may last.
    pub session_timeout: Duration,
}

/// Recipients one message may have: a report comes back to one delivery's address.
const MAX_RECIPIENTS: usize = 100;

impl NotificationApi {
    /// N14: serves delivery reports on `listener` until `stop` turns true; sessions then in progress end with
    /// their connection.
    pub fn spawn_inbound(
        &self,
        listener: TcpListener,
        limits: InboundLimits,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let api = self.clone();
        let sessions = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        tokio::spawn(async move {
            tracing::info!(address = ?listener.local_addr().ok(), "inbound SMTP listener for delivery reports");
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = stop.changed() => return,
                };
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors, say: back off briefly rather than spin.
                        tracing::warn!(error = %e, "accepting an inbound SMTP connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let permit = sessions.clone().try_acquire_owned();
                let api = api.clone();
                tokio::spawn(async move {
                    match permit {
                        Ok(permit) => session::serve(&api, stream, limits, permit).await,
                        Err(_) => session::refuse_busy(stream).await,
                    }
                    tracing::debug!(%peer, "inbound SMTP session ended");
                });
            }
        })
    }
}
