//! What billing asks licensing (over tonic, as `svc:billing` with scope `internal`, with a deadline): issue the
//! keys and eLearning codes a purchase sold (B3), look keys up, and refresh the keys a paid renewal covers (B8,
//! L7). Failures come back as [`ClientError`], which tells "try again later" from "licensing said no".

use chrono::{DateTime, Utc};
use portal_clients::ClientError;
use portal_proto::{
    common,
    licensing::{
        GetKeyRequest, IssueElearningCodesRequest, IssueKeysRequest, RefreshKeyRequest,
        licensing_service_client::LicensingServiceClient,
    },
};
use portal_runtime::{
    client::Caller,
    time::{from_proto, to_proto},
};
use tonic::{Code, Status, codegen::InterceptedService, transport::Channel};

use crate::domain::LicenseType;

const SERVICE: &str = "licensing";

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

    /// The key `key_id`, or `None` if licensing does not know it.
    pub async fn key(&self, key_id: &str) -> Result<Option<KeyFacts>, ClientError> {
        match self
            .client
            .clone()
            .get_key(GetKeyRequest {
                key_id: key_id.into(),
            })
            .await
        {
            Ok(response) => {
                let key = response.into_inner();
                let license_type = match key.license_type() {
                    common::LicenseType::Perpetual => LicenseType::Perpetual,
                    _ => LicenseType::Term,
                };
                Ok(Some(KeyFacts {
                    account_id: key.account_id,
                    license_type,
                    period_end: key.period_end.as_ref().and_then(from_proto),
                    maintenance_end: key.maintenance_end.as_ref().and_then(from_proto),
                }))
            }
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                Ok(None)
            }
            Err(status) => Err(failed(status)),
        }
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
}
