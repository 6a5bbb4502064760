//! The IdentityService handlers, one file per resource: each checks who may call (`domain::access`), turns the
//! request into a typed command, calls the use case in `crate::app`, and answers in protobuf (`convert`). No
//! handler touches the database, a transaction or the audit log, or decides a rule itself.

mod access;
mod accounts;
mod audit;
mod contacts;
mod convert;
mod support;
mod users;

use portal_proto::identity::{self as pb, identity_service_server::IdentityService};
use portal_runtime::{
    CallContext,
    error::Violations,
    paging::{self, Page},
};
use tonic::{Request, Response, Status};

use crate::{
    IdentityApi,
    error::{Error, Result},
};

fn respond<T>(result: Result<T>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

/// `INVALID_ARGUMENT` unless `value` is set: for requests whose only input is an id.
fn require(field: &str, value: &str) -> Result<()> {
    let mut v = Violations::default();
    v.require(field, value);
    v.finish().map_err(Error::invalid_fields)
}

/// Ends a list request's validation with its page of the list `scope`: every invalid field at once.
fn with_page(
    mut v: Violations,
    page_size: i32,
    page_token: &str,
    scope: &paging::Scope,
) -> Result<Page> {
    let page = v.check(paging::parse(page_size, page_token, scope));
    v.finish().map_err(Error::invalid_fields)?;
    page.ok_or_else(|| Error::invalid("page_token", "invalid"))
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(self.create_account(context, request.into_inner()).await)
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.get_account(context, request.into_inner()).await)
    }

    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(self.create_user(context, request.into_inner()).await)
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.get_user(context, request.into_inner()).await)
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.list_users(context, request.into_inner()).await)
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.update_user(context, request.into_inner()).await)
    }

    async fn remove_user(
        &self,
        request: Request<pb::RemoveUserRequest>,
    ) -> Result<Response<pb::RemoveUserResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.remove_user(context, request.into_inner()).await)
    }

    async fn check_access(
        &self,
        request: Request<pb::CheckAccessRequest>,
    ) -> Result<Response<pb::CheckAccessResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.check_access(context, request.into_inner()).await)
    }

    async fn check_support_eligibility(
        &self,
        request: Request<pb::CheckSupportEligibilityRequest>,
    ) -> Result<Response<pb::CheckSupportEligibilityResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(
            self.check_support_eligibility(context, request.into_inner())
                .await,
        )
    }

    async fn list_points_of_contact(
        &self,
        request: Request<pb::ListPointsOfContactRequest>,
    ) -> Result<Response<contacts::ContactStream>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(
            self.list_points_of_contact(context, request.into_inner())
                .await,
        )
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.list_audit_events(context, request.into_inner()).await)
    }
}
