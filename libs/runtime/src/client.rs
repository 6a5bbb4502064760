//! Calls to other services: a lazily-connected channel with a deadline, and an interceptor that attaches this
//! process's service token, the deadline (`grpc-timeout`) and the W3C trace context to every request.

use std::{sync::Arc, time::Duration};

use tonic::{
    Request, Status,
    service::Interceptor,
    transport::{Channel, Endpoint},
};

use crate::{auth::Minter, telemetry};

/// What every outbound call carries: who we are, and how long the callee has.
#[derive(Clone, Debug)]
pub struct Caller {
    minter: Arc<Minter>,
    service: String,
    scopes: String,
    deadline: Duration,
}

impl Caller {
    /// `service` is this process's name (`svc:<service>`); `scopes` what it may do at the callee.
    pub fn new(minter: Arc<Minter>, service: &str, scopes: &str, deadline: Duration) -> Self {
        Self {
            minter,
            service: service.into(),
            scopes: scopes.into(),
            deadline,
        }
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
        // Minting per call keeps tokens fresh without a refresh task; an Ed25519 signature costs microseconds.
        let token = self
            .minter
            .service(&self.service, &self.scopes, Duration::from_secs(300));
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::internal("service token is not valid metadata"))?;
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
