//! The LicensingService handlers, one file per resource. They only translate: a request becomes a typed
//! command (every field violation gathered at once), the use case in [`crate::app`] runs it, and the answer
//! goes back as proto.

mod accounts;
mod activations;
mod assignments;
mod convert;
mod deployments;
mod elearning;
mod holdings;
mod keys;
mod lblm;
mod reports;
mod revocations;
mod sites;

use portal_clients::Caller;
use portal_proto::licensing::{self as pb, licensing_service_server::LicensingService};
use portal_runtime::{CallContext, auth::INTERNAL_SCOPE, error::FieldViolation};
use tonic::{Request, Response, Status};

use crate::{
    LicensingApi,
    domain::{Deployment, Key, access::ISSUE},
    error::{Error, Result},
    store,
};

/// The longest free-text field (fingerprints, host names, versions), in bytes.
const MAX_TEXT: usize = 256;

/// A trimmed free-text field of at most [`MAX_TEXT`] bytes; `required` ones must not be empty.
fn text(field: &str, value: &str, required: bool) -> Result<String, FieldViolation> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(FieldViolation::new(field, "must not be empty"));
    }
    if value.len() > MAX_TEXT {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {MAX_TEXT} bytes"),
        ));
    }
    Ok(value.to_string())
}

/// The value of a field checked into `v`, present once `v` finished without violations.
fn checked<T>(value: Option<T>, field: &str) -> Result<T> {
    value.ok_or_else(|| Error::invalid(field, "required"))
}

fn respond<T>(result: Result<T>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

impl LicensingApi {
    async fn caller(&self, context: &CallContext) -> Result<Caller> {
        Ok(Caller::resolve(&self.identity, context.principal.clone()).await?)
    }

    /// Keys as the contract shows them, with assignees and pool usage, in two queries for the whole page.
    async fn keys_to_proto(&self, keys: &[Key]) -> Result<Vec<pb::ProductKey>> {
        let ids: Vec<String> = keys.iter().map(|k| k.key_id.clone()).collect();
        let mut assignees = store::keys::assignees(&self.db, &ids).await?;
        let usage = store::activations::pool_usage(&self.db, &ids).await?;
        Ok(keys
            .iter()
            .map(|key| {
                convert::key(
                    key,
                    assignees.remove(&key.key_id).unwrap_or_default(),
                    &usage,
                )
            })
            .collect())
    }

    async fn key_to_proto(&self, key: &Key) -> Result<pb::ProductKey> {
        let mut keys = self.keys_to_proto(std::slice::from_ref(key)).await?;
        keys.pop().ok_or_else(|| Error::internal("key vanished"))
    }

    /// The key, or — for a caller without one of the `scopes` that let it act on any key — `PERMISSION_DENIED`
    /// in the words of `refusal`, the refusal of the check that follows for a key that exists, so that nothing
    /// reveals whether it does.
    async fn visible_key(
        &self,
        caller: &Caller,
        key_id: &str,
        scopes: &[&str],
        refusal: &str,
    ) -> Result<Key> {
        match store::keys::find_key(&self.db, key_id).await {
            Err(Error::KeyNotFound) if !caller.has_scope(scopes) => Err(Error::denied(refusal)),
            other => other,
        }
    }

    /// L3, L11: issuing is for a service principal with `licensing.issue` (or another service), into an account
    /// that exists; the request becomes its typed command in between, so that a caller without the scope learns
    /// nothing about what is wrong with it.
    async fn issue_command<R, T>(
        &self,
        context: &CallContext,
        request: &R,
        account_id: impl Fn(&T) -> &str,
    ) -> Result<T>
    where
        R: Clone,
        T: TryFrom<R, Error = Error>,
    {
        self.caller(context)
            .await?
            .require_scope(&[ISSUE, INTERNAL_SCOPE])?;
        let command = T::try_from(request.clone())?;
        if self.identity.account(account_id(&command)).await?.is_none() {
            return Err(Error::AccountNotFound);
        }
        Ok(command)
    }

    /// The deployment, or — for a caller without one of the `scopes` that let it act on any deployment —
    /// `PERMISSION_DENIED` in the words of `refusal`, as [`LicensingApi::visible_key`].
    async fn visible_deployment(
        &self,
        caller: &Caller,
        deployment_id: &str,
        scopes: &[&str],
        refusal: &str,
    ) -> Result<Deployment> {
        match store::deployments::find_deployment(&self.db, deployment_id).await {
            Err(Error::DeploymentNotFound) if !caller.has_scope(scopes) => {
                Err(Error::denied(refusal))
            }
            other => other,
        }
    }
}

#[tonic::async_trait]
impl LicensingService for LicensingApi {
    async fn issue_keys(
        &self,
        request: Request<pb::IssueKeysRequest>,
    ) -> Result<Response<pb::IssueKeysResponse>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(LicensingApi::issue_keys(self, context, request.into_inner()).await)
    }

    async fn get_key(
        &self,
        request: Request<pb::GetKeyRequest>,
    ) -> Result<Response<pb::ProductKey>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::get_key(self, context, request.into_inner()).await)
    }

    async fn list_keys(
        &self,
        request: Request<pb::ListKeysRequest>,
    ) -> Result<Response<pb::ListKeysResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::list_keys(self, context, request.into_inner()).await)
    }

    async fn set_key_owner(
        &self,
        request: Request<pb::SetKeyOwnerRequest>,
    ) -> Result<Response<pb::ProductKey>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::set_key_owner(self, context, request.into_inner()).await)
    }

    async fn assign_key(
        &self,
        request: Request<pb::AssignKeyRequest>,
    ) -> Result<Response<pb::ProductKey>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::assign_key(self, context, request.into_inner()).await)
    }

    async fn unassign_key(
        &self,
        request: Request<pb::UnassignKeyRequest>,
    ) -> Result<Response<pb::ProductKey>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::unassign_key(self, context, request.into_inner()).await)
    }

    async fn activate_key(
        &self,
        request: Request<pb::ActivateKeyRequest>,
    ) -> Result<Response<pb::Activation>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::activate_key(self, context, request.into_inner()).await)
    }

    async fn deactivate_key(
        &self,
        request: Request<pb::DeactivateKeyRequest>,
    ) -> Result<Response<pb::DeactivateKeyResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::deactivate_key(self, context, request.into_inner()).await)
    }

    async fn refresh_key(
        &self,
        request: Request<pb::RefreshKeyRequest>,
    ) -> Result<Response<pb::ProductKey>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::refresh_key(self, context, request.into_inner()).await)
    }

    async fn revoke_key(
        &self,
        request: Request<pb::RevokeKeyRequest>,
    ) -> Result<Response<pb::ProductKey>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(LicensingApi::revoke_key(self, context, request.into_inner()).await)
    }

    async fn get_holdings(
        &self,
        request: Request<pb::GetHoldingsRequest>,
    ) -> Result<Response<pb::GetHoldingsResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::get_holdings(self, context, request.into_inner()).await)
    }

    async fn release_holdings(
        &self,
        request: Request<pb::ReleaseHoldingsRequest>,
    ) -> Result<Response<pb::ReleaseHoldingsResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::release_holdings(self, context, request.into_inner()).await)
    }

    async fn list_activations(
        &self,
        request: Request<pb::ListActivationsRequest>,
    ) -> Result<Response<pb::ListActivationsResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::list_activations(self, context, request.into_inner()).await)
    }

    async fn register_deployment(
        &self,
        request: Request<pb::RegisterDeploymentRequest>,
    ) -> Result<Response<pb::Deployment>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(LicensingApi::register_deployment(self, context, request.into_inner()).await)
    }

    async fn update_deployment(
        &self,
        request: Request<pb::UpdateDeploymentRequest>,
    ) -> Result<Response<pb::Deployment>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::update_deployment(self, context, request.into_inner()).await)
    }

    async fn list_deployments(
        &self,
        request: Request<pb::ListDeploymentsRequest>,
    ) -> Result<Response<pb::ListDeploymentsResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::list_deployments(self, context, request.into_inner()).await)
    }

    async fn set_site_role(
        &self,
        request: Request<pb::SetSiteRoleRequest>,
    ) -> Result<Response<pb::SiteMembership>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::set_site_role(self, context, request.into_inner()).await)
    }

    async fn authorize_to_run(
        &self,
        request: Request<pb::AuthorizeToRunRequest>,
    ) -> Result<Response<pb::AuthorizeToRunResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::authorize_to_run(self, context, request.into_inner()).await)
    }

    async fn get_license_usage(
        &self,
        request: Request<pb::GetLicenseUsageRequest>,
    ) -> Result<Response<pb::GetLicenseUsageResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::get_license_usage(self, context, request.into_inner()).await)
    }

    async fn request_activation_report(
        &self,
        request: Request<pb::RequestActivationReportRequest>,
    ) -> Result<Response<pb::RequestActivationReportResponse>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(LicensingApi::request_activation_report(self, context, request.into_inner()).await)
    }

    async fn get_activation_report(
        &self,
        request: Request<pb::GetActivationReportRequest>,
    ) -> Result<Response<pb::ActivationReport>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::get_activation_report(self, context, request.into_inner()).await)
    }

    async fn issue_elearning_codes(
        &self,
        request: Request<pb::IssueElearningCodesRequest>,
    ) -> Result<Response<pb::IssueElearningCodesResponse>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(LicensingApi::issue_elearning_codes(self, context, request.into_inner()).await)
    }

    async fn list_elearning_codes(
        &self,
        request: Request<pb::ListElearningCodesRequest>,
    ) -> Result<Response<pb::ListElearningCodesResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::list_elearning_codes(self, context, request.into_inner()).await)
    }

    async fn redeem_elearning_code(
        &self,
        request: Request<pb::RedeemElearningCodeRequest>,
    ) -> Result<Response<pb::ElearningCode>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(LicensingApi::redeem_elearning_code(self, context, request.into_inner()).await)
    }

    async fn provision_site_seats(
        &self,
        request: Request<pb::ProvisionSiteSeatsRequest>,
    ) -> Result<Response<pb::ProvisionSiteSeatsResponse>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(LicensingApi::provision_site_seats(self, context, request.into_inner()).await)
    }

    async fn list_accounts_with_products(
        &self,
        request: Request<pb::ListAccountsWithProductsRequest>,
    ) -> Result<Response<accounts::AccountStream>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(
            LicensingApi::list_accounts_with_products(self, context, request.into_inner()).await,
        )
    }
}
