//! Typed clients that carry a bearer token, for tests that act as several callers at once.

use portal_proto::{
    billing::billing_service_client::BillingServiceClient,
    identity::identity_service_client::IdentityServiceClient,
    licensing::licensing_service_client::LicensingServiceClient,
    notification::notification_service_client::NotificationServiceClient,
};
use tonic::{
    Request, Status,
    codegen::InterceptedService,
    metadata::{AsciiMetadataValue, MetadataValue},
    service::Interceptor,
    transport::Channel,
};

/// Attaches `authorization: Bearer <token>` to every request.
#[derive(Clone, Debug)]
pub struct Bearer(AsciiMetadataValue);

impl Bearer {
    pub fn new(token: &str) -> Self {
        Self(
            MetadataValue::try_from(format!("Bearer {token}"))
                .unwrap_or_else(|e| panic!("token metadata: {e}")),
        )
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub type Identity = IdentityServiceClient<InterceptedService<Channel, Bearer>>;
pub type Licensing = LicensingServiceClient<InterceptedService<Channel, Bearer>>;
pub type Billing = BillingServiceClient<InterceptedService<Channel, Bearer>>;
pub type Notification = NotificationServiceClient<InterceptedService<Channel, Bearer>>;

pub fn identity(channel: Channel, token: &str) -> Identity {
    IdentityServiceClient::with_interceptor(channel, Bearer::new(token))
}

pub fn licensing(channel: Channel, token: &str) -> Licensing {
    LicensingServiceClient::with_interceptor(channel, Bearer::new(token))
}

pub fn billing(channel: Channel, token: &str) -> Billing {
    BillingServiceClient::with_interceptor(channel, Bearer::new(token))
}

pub fn notification(channel: Channel, token: &str) -> Notification {
    NotificationServiceClient::with_interceptor(channel, Bearer::new(token))
}
