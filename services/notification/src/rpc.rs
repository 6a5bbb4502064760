//! The NotificationService handlers. Each only translates: the request becomes a typed command, the domain
//! decides, the store writes and reads domain values, and the answer goes back as proto. One file per
//! resource: [`advisories`] (Publish/Get/List/Watch), [`csaf`] (PublishCsafAdvisory/GetAdvisoryCsaf),
//! [`deliveries`] (ListDeliveries/RetryDeliveries), [`notices`] (SendNotice), [`report`] (GetAdvisoryReport), [`acknowledgements`]
//! (AcknowledgeAdvisory/ListUnacknowledgedAccounts), [`reminders`] (RemindAdvisory); [`convert`] holds the proto ↔
//! domain translation.

mod acknowledgements;
mod advisories;
mod convert;
mod csaf;
mod deliveries;
mod notices;
mod reminders;
mod report;

use portal_clients::Caller;
use portal_proto::notification::{self as pb, notification_service_server::NotificationService};
use portal_runtime::CallContext;
use tonic::{Request, Response, Status};

use crate::{NotificationApi, error::Result};

/// The scope of the security team's advisory pipeline.
const PUBLISH: &str = "notification.publish";

type StatsStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::AdvisoryStats, Status>> + Send>>;

fn respond<T>(result: Result<T>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

/// Who is calling (I10): notification's RPCs are for service principals only.
fn service_caller(context: &CallContext, scopes: &[&str]) -> Result<Caller> {
    Ok(Caller::service_only(context.principal.clone(), scopes)?)
}

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    async fn publish_advisory(
        &self,
        request: Request<pb::PublishAdvisoryRequest>,
    ) -> Result<Response<pb::Advisory>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(NotificationApi::publish_advisory(self, context, request.into_inner()).await)
    }

    async fn get_advisory(
        &self,
        request: Request<pb::GetAdvisoryRequest>,
    ) -> Result<Response<pb::Advisory>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::get_advisory(self, context, request.into_inner()).await)
    }

    async fn watch_advisory(
        &self,
        request: Request<pb::WatchAdvisoryRequest>,
    ) -> Result<Response<StatsStream>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::watch_advisory(self, context, request.into_inner()).await)
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::list_deliveries(self, context, request.into_inner()).await)
    }

    async fn retry_deliveries(
        &self,
        request: Request<pb::RetryDeliveriesRequest>,
    ) -> Result<Response<pb::RetryDeliveriesResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::retry_deliveries(self, context, request.into_inner()).await)
    }

    async fn list_advisories(
        &self,
        request: Request<pb::ListAdvisoriesRequest>,
    ) -> Result<Response<pb::ListAdvisoriesResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::list_advisories(self, context, request.into_inner()).await)
    }

    async fn send_notice(
        &self,
        request: Request<pb::SendNoticeRequest>,
    ) -> Result<Response<pb::SendNoticeResponse>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(NotificationApi::send_notice(self, context, request.into_inner()).await)
    }

    async fn publish_csaf_advisory(
        &self,
        request: Request<pb::PublishCsafAdvisoryRequest>,
    ) -> Result<Response<pb::Advisory>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(NotificationApi::publish_csaf_advisory(self, context, request.into_inner()).await)
    }

    async fn get_advisory_csaf(
        &self,
        request: Request<pb::GetAdvisoryCsafRequest>,
    ) -> Result<Response<pb::GetAdvisoryCsafResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::get_advisory_csaf(self, context, request.into_inner()).await)
    }

    async fn get_advisory_report(
        &self,
        request: Request<pb::GetAdvisoryReportRequest>,
    ) -> Result<Response<pb::GetAdvisoryReportResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::get_advisory_report(self, context, request.into_inner()).await)
    }

    async fn acknowledge_advisory(
        &self,
        request: Request<pb::AcknowledgeAdvisoryRequest>,
    ) -> Result<Response<pb::Acknowledgement>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(NotificationApi::acknowledge_advisory(self, context, request.into_inner()).await)
    }

    async fn remind_advisory(
        &self,
        request: Request<pb::RemindAdvisoryRequest>,
    ) -> Result<Response<pb::RemindAdvisoryResponse>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(NotificationApi::remind_advisory(self, context, request.into_inner()).await)
    }

    async fn list_unacknowledged_accounts(
        &self,
        request: Request<pb::ListUnacknowledgedAccountsRequest>,
    ) -> Result<Response<pb::ListUnacknowledgedAccountsResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(
            NotificationApi::list_unacknowledged_accounts(self, context, request.into_inner())
                .await,
        )
    }
}
