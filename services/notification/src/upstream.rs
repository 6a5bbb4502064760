//! The streams notification reads to resolve an advisory's recipients (N2): licensing's accounts holding
//! products, and identity's points of contact. Streams get a long deadline; they are read in pages.

use std::time::Duration;

use portal_clients::ClientError;
use portal_proto::{
    identity::{
        ContactKind, ListPointsOfContactRequest, PointOfContact,
        identity_service_client::IdentityServiceClient,
    },
    licensing::{
        ListAccountsWithProductsRequest, licensing_service_client::LicensingServiceClient,
    },
};
use portal_runtime::client::Caller;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, codegen::InterceptedService, transport::Channel};

/// How long one recipient stream may run.
const STREAM_DEADLINE: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct Upstream {
    identity: IdentityServiceClient<InterceptedService<Channel, Caller>>,
    licensing: LicensingServiceClient<InterceptedService<Channel, Caller>>,
}

impl Upstream {
    pub fn new(identity: (Channel, Caller), licensing: (Channel, Caller)) -> Self {
        Self {
            identity: IdentityServiceClient::with_interceptor(identity.0, identity.1),
            licensing: LicensingServiceClient::with_interceptor(licensing.0, licensing.1),
        }
    }

    /// Points of contact of `account_ids` (all accounts when empty), with Administrator fallback.
    pub async fn contacts(
        &self,
        security: bool,
        account_ids: Vec<String>,
    ) -> Result<impl Stream<Item = Result<PointOfContact, ClientError>> + use<>, ClientError> {
        let kind = if security {
            ContactKind::Security
        } else {
            ContactKind::Technical
        };
        let mut request = Request::new(ListPointsOfContactRequest {
            kind: kind as i32,
            account_ids,
            include_fallback: true,
        });
        request.set_timeout(STREAM_DEADLINE);
        let stream = self
            .identity
            .clone()
            .list_points_of_contact(request)
            .await
            .map_err(|s| ClientError::from_status("identity", s))?;
        Ok(stream
            .into_inner()
            .map(|item| item.map_err(|s| ClientError::from_status("identity", s))))
    }

    /// Accounts holding an active key or deployment of one of `products`.
    pub async fn accounts_with(
        &self,
        products: Vec<i32>,
    ) -> Result<impl Stream<Item = Result<String, ClientError>> + use<>, ClientError> {
        let mut request = Request::new(ListAccountsWithProductsRequest { products });
        request.set_timeout(STREAM_DEADLINE);
        let stream = self
            .licensing
            .clone()
            .list_accounts_with_products(request)
            .await
            .map_err(|s| ClientError::from_status("licensing", s))?;
        Ok(stream.into_inner().map(|item| {
            item.map(|a| a.account_id)
                .map_err(|s| ClientError::from_status("licensing", s))
        }))
    }
}
