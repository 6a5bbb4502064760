//! Calls to other services: a lazily-connected channel with a deadline, and an interceptor that attaches this
//! process's service token, the deadline (`grpc-timeout`) and the W3C trace context to every request.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tonic::{
    Request, Status,
    metadata::AsciiMetadataValue,
    service::Interceptor,
    transport::{Channel, Endpoint},
};

use crate::{auth::Minter, telemetry};

/// How long a service token lives, and how long before its end a new one is minted.
const TOKEN_TTL: Duration = Duration::from_secs(300);
const TOKEN_RENEW_BEFORE: Duration = Duration::from_secs(60);

/// What every outbound call carries: who we are, and how long the callee has.
#[derive(Clone, Debug)]
pub struct Caller {
    minter: Arc<Minter>,
    service: String,
    scopes: String,
    deadline: Duration,
    /// The current `authorization` value and when to replace it; shared by every clone, so one process reuses
    /// one token (and the callee's verified-token cache recognises it) instead of signing one per call.
    token: Arc<Mutex<Option<(AsciiMetadataValue, Instant)>>>,
}

impl Caller {
    /// `service` is this process's name (`svc:<service>`); `scopes` what it may do at the callee.
    pub fn new(minter: Arc<Minter>, service: &str, scopes: &str, deadline: Duration) -> Self {
        Self {
            minter,
            service: service.into(),
            scopes: scopes.into(),
            deadline,
            token: Arc::default(),
        }
    }

    /// The bearer value to send: the current token, or a fresh one when it is within a minute of expiring.
    fn authorization(&self) -> Result<AsciiMetadataValue, Status> {
        let now = Instant::now();
        let mut current = self
            .token
            .lock()
            .map_err(|_| Status::internal("service token lock poisoned"))?;
        if let Some((value, renew_at)) = current.as_ref()
            && now < *renew_at
        {
            return Ok(value.clone());
        }
        let token = self.minter.service(&self.service, &self.scopes, TOKEN_TTL);
        let value: AsciiMetadataValue = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::internal("service token is not valid metadata"))?;
        *current = Some((value.clone(), now + (TOKEN_TTL - TOKEN_RENEW_BEFORE)));
        Ok(value)
    }

    /// A channel to `url` that connects on first use, so services may start in any order; every call on it is
    /// bounded by `deadline`.
    pub fn channel_to(url: &str, deadline: Duration) -> Result<Channel, tonic::transport::Error> {
        Ok(Endpoint::from_shared(url.to_string())?
            .connect_timeout(deadline)
            .timeout(deadline)
            .tcp_nodelay(true)
            .connect_lazy())
    }
}

impl Interceptor for Caller {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let value = self.authorization()?;
        request.metadata_mut().insert("authorization", value);
        if request.metadata().get("grpc-timeout").is_none() {
            request.set_timeout(self.deadline);
        }
        telemetry::inject_current(request.metadata_mut());
        Ok(request)
    }
}

/// True when a failed call to another service means "try again later" rather than "you asked wrongly".
pub fn is_unavailable(status: &Status) -> bool {
    use tonic::Code::*;
    matches!(
        status.code(),
        Unavailable
            | DeadlineExceeded
            | Unimplemented
            | ResourceExhausted
            | Cancelled
            | Unknown
            | Aborted
    )
}
