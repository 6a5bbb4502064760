//! What identity asks licensing (over tonic, as `svc:identity` with scope `internal`, with a deadline): the key
//! facts behind a persona (I9), releasing a removed user's holdings (I8), and deployments (I11).

use portal_policy::Holdings;
use portal_proto::licensing::{
    DeploymentKind as ProtoKind, DeploymentState, GetHoldingsRequest, ListDeploymentsRequest,
    ReleaseHoldingsRequest, licensing_service_client::LicensingServiceClient,
};
use portal_runtime::client::{Caller, is_unavailable};
use tonic::{Status, codegen::InterceptedService, transport::Channel};

use crate::{
    domain::{Deployment, DeploymentKind},
    error::{Error, Result},
};

#[derive(Debug, Clone)]
pub struct Licensing {
    client: LicensingServiceClient<InterceptedService<Channel, Caller>>,
}

fn failed(status: Status) -> Error {
    if is_unavailable(&status) {
        Error::unavailable("licensing", status.message().to_string())
    } else {
        Error::internal(format!(
            "licensing answered {:?}: {}",
            status.code(),
            status.message()
        ))
    }
}

impl Licensing {
    pub fn new(channel: Channel, caller: Caller) -> Self {
        Self {
            client: LicensingServiceClient::with_interceptor(channel, caller),
        }
    }

    pub async fn holdings(&self, account_id: &str, user_id: &str, email: &str) -> Result<Holdings> {
        let request = GetHoldingsRequest {
            account_id: account_id.into(),
            user_id: user_id.into(),
            email: email.into(),
        };
        let response = self
            .client
            .clone()
            .get_holdings(request)
            .await
            .map_err(failed)?
            .into_inner();
        Ok(Holdings {
            owned_keys: u64::try_from(response.owned_key_count).unwrap_or(0),
            assigned_keys: u64::try_from(response.assigned_key_count).unwrap_or(0),
        })
    }

    pub async fn release(&self, account_id: &str, user_id: &str, email: &str) -> Result<()> {
        let request = ReleaseHoldingsRequest {
            account_id: account_id.into(),
            user_id: user_id.into(),
            email: email.into(),
        };
        self.client
            .clone()
            .release_holdings(request)
            .await
            .map_err(failed)?;
        Ok(())
    }

    pub async fn deployments(&self, account_id: &str) -> Result<Vec<Deployment>> {
        let request = ListDeploymentsRequest {
            account_id: account_id.into(),
        };
        let response = self
            .client
            .clone()
            .list_deployments(request)
            .await
            .map_err(failed)?
            .into_inner();
        Ok(response
            .deployments
            .into_iter()
            .filter_map(|d| {
                let kind = match d.kind() {
                    ProtoKind::OnPremise => DeploymentKind::OnPremise,
                    ProtoKind::CloudSite => DeploymentKind::CloudSite,
                    ProtoKind::Unspecified => return None,
                };
                Some(Deployment {
                    kind,
                    active: d.state() == DeploymentState::Active,
                })
            })
            .collect())
    }
}
