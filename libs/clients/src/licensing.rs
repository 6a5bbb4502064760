//! What the other services ask licensing: the key facts behind a persona (I9) and releasing a removed user's
//! holdings (I8) for identity; deployments for support eligibility (I11); issuing keys and eLearning codes,
//! reading a key and refreshing it for billing (B3, B8, L7); the accounts holding products for notification (N2).

use std::time::Duration;

use chrono::{DateTime, Utc};
use portal_policy::{Deployment, DeploymentKind, Holdings, LicenseType};
use portal_proto::{
    common,
    licensing::{
        self as pb, GetHoldingsRequest, GetKeyRequest, IssueElearningCodesRequest,
        IssueKeysRequest, ListAccountsWithProductsRequest, ListDeploymentsRequest,
        ProvisionSiteSeatsRequest, RefreshKeyRequest, ReleaseHoldingsRequest, RevokeKeyRequest,
        licensing_service_client::LicensingServiceClient,
    },
};
use portal_runtime::{
    client::Caller,
    time::{from_proto, to_proto},
};
use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Request, Status, codegen::InterceptedService, transport::Channel};

use crate::ClientError;

const SERVICE: &str = "licensing";

/// How long one stream of accounts may run.
const STREAM_DEADLINE: Duration = Duration::from_secs(600);

fn failed(status: Status) -> ClientError {
    ClientError::from_status(SERVICE, status)
}

/// The facts about a key billing needs to renew it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub account_id: String,
    pub license_type: LicenseType,
    pub period_end: Option<DateTime<Utc>>,
    pub maintenance_end: Option<DateTime<Utc>>,
}

/// B11: where a purchase line's Creator seats went, and who was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedSeats {
    pub site_id: String,
    /// Administrators sent the "cloud site ready" notice when the seats were provisioned (also on a replay).
    pub administrators_notified: u32,
    /// The seats were provisioned by an earlier call.
    pub replayed: bool,
}

#[derive(Debug, Clone)]
pub struct Licensing {
    client: LicensingServiceClient<InterceptedService<Channel, Caller>>,
}

impl Licensing {
    pub fn new(channel: Channel, caller: Caller) -> Self {
        Self {
            client: LicensingServiceClient::with_interceptor(channel, caller),
        }
    }

    /// I9: how many keys a user owns and has assigned in an account.
    pub async fn holdings(
        &self,
        account_id: &str,
        user_id: &str,
        email: &str,
    ) -> Result<Holdings, ClientError> {
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
        let count = |n: i32| {
            u64::try_from(n).map_err(|_| ClientError::bad_answer(SERVICE, "a negative key count"))
        };
        Ok(Holdings {
            owned_keys: count(response.owned_key_count)?,
            assigned_keys: count(response.assigned_key_count)?,
        })
    }

    /// I8: releases what a removed user owned and was assigned (idempotent).
    pub async fn release_holdings(
        &self,
        account_id: &str,
        user_id: &str,
        email: &str,
    ) -> Result<(), ClientError> {
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

    /// The account's deployments (I11).
    pub async fn deployments(&self, account_id: &str) -> Result<Vec<Deployment>, ClientError> {
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
        response
            .deployments
            .into_iter()
            .map(|d| {
                let kind = match d.kind() {
                    pb::DeploymentKind::OnPremise => DeploymentKind::OnPremise,
                    pb::DeploymentKind::CloudSite => DeploymentKind::CloudSite,
                    pb::DeploymentKind::Unspecified => {
                        return Err(ClientError::bad_answer(SERVICE, "a deployment of no kind"));
                    }
                };
                Ok(Deployment {
                    kind,
                    active: d.state() == pb::DeploymentState::Active,
                })
            })
            .collect()
    }

    /// Issues keys (idempotently on `request.request_id`); returns their ids.
    pub async fn issue_keys(&self, request: IssueKeysRequest) -> Result<Vec<String>, ClientError> {
        let response = self
            .client
            .clone()
            .issue_keys(request)
            .await
            .map_err(failed)?
            .into_inner();
        Ok(response.keys.into_iter().map(|k| k.key_id).collect())
    }

    /// Issues eLearning access codes (idempotently on `request.request_id`); returns the codes.
    pub async fn issue_elearning_codes(
        &self,
        request: IssueElearningCodesRequest,
    ) -> Result<Vec<String>, ClientError> {
        let response = self
            .client
            .clone()
            .issue_elearning_codes(request)
            .await
            .map_err(failed)?
            .into_inner();
        Ok(response.codes.into_iter().map(|c| c.code).collect())
    }

    /// B11: provisions a purchase line's Creator seats on the account's cloud site (idempotently on
    /// `request.request_id`).
    pub async fn provision_site_seats(
        &self,
        request: ProvisionSiteSeatsRequest,
    ) -> Result<ProvisionedSeats, ClientError> {
        let response = self
            .client
            .clone()
            .provision_site_seats(request)
            .await
            .map_err(failed)?
            .into_inner();
        let site = response
            .site
            .ok_or_else(|| ClientError::bad_answer(SERVICE, "seats provisioned on no site"))?;
        Ok(ProvisionedSeats {
            site_id: site.deployment_id,
            administrators_notified: u32::try_from(response.administrators_notified).map_err(
                |_| ClientError::bad_answer(SERVICE, "a negative count of Administrators"),
            )?,
            replayed: response.replayed,
        })
    }

    /// The key `key_id`, or `None` if licensing does not know it.
    pub async fn key(&self, key_id: &str) -> Result<Option<KeyFacts>, ClientError> {
        let request = GetKeyRequest {
            key_id: key_id.into(),
        };
        let key = match self.client.clone().get_key(request).await {
            Ok(response) => response.into_inner(),
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                return Ok(None);
            }
            Err(status) => return Err(failed(status)),
        };
        let license_type = match key.license_type() {
            common::LicenseType::Perpetual => LicenseType::Perpetual,
            common::LicenseType::Term => LicenseType::Term,
            common::LicenseType::Unspecified => {
                return Err(ClientError::bad_answer(SERVICE, "a key of no license type"));
            }
        };
        Ok(Some(KeyFacts {
            account_id: key.account_id,
            license_type,
            period_end: key.period_end.as_ref().and_then(from_proto),
            maintenance_end: key.maintenance_end.as_ref().and_then(from_proto),
        }))
    }

    /// L13: revokes a key for `reason`, idempotently on `request_id` (revoking a revoked key changes nothing).
    pub async fn revoke_key(
        &self,
        key_id: &str,
        reason: &str,
        request_id: &str,
    ) -> Result<(), ClientError> {
        let request = RevokeKeyRequest {
            key_id: key_id.into(),
            reason: reason.into(),
            request_id: request_id.into(),
        };
        self.client
            .clone()
            .revoke_key(request)
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// L7: moves a key's period end and/or maintenance end.
    pub async fn refresh_key(
        &self,
        key_id: &str,
        period_end: Option<DateTime<Utc>>,
        maintenance_end: Option<DateTime<Utc>>,
    ) -> Result<(), ClientError> {
        let request = RefreshKeyRequest {
            key_id: key_id.into(),
            period_end: period_end.map(to_proto),
            maintenance_end: maintenance_end.map(to_proto),
        };
        self.client
            .clone()
            .refresh_key(request)
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// N2: the accounts holding an active key or deployment of one of `products`, as a stream.
    pub async fn accounts_with(
        &self,
        products: Vec<i32>,
    ) -> Result<impl Stream<Item = Result<String, ClientError>> + use<>, ClientError> {
        let mut request = Request::new(ListAccountsWithProductsRequest { products });
        request.set_timeout(STREAM_DEADLINE);
        let stream = self
            .client
            .clone()
            .list_accounts_with_products(request)
            .await
            .map_err(failed)?;
        Ok(stream
            .into_inner()
            .map(|item| item.map(|a| a.account_id).map_err(failed)))
    }
}
