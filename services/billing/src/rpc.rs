//! The BillingService handlers, one file per resource: each request becomes a typed command (every field
//! violation at once), the use case in `crate::app` runs it, and its answer is translated back to proto
//! (`convert`). No handler holds a transaction or writes an audit event.

mod catalog;
pub(crate) mod convert;
mod invoices;
mod payments;
mod purchases;
mod renewals;
pub mod validate;

use portal_clients::Caller;
use portal_proto::billing::{self as pb, billing_service_server::BillingService};
use portal_runtime::{CallContext, error::Violations, paging};
use tonic::{Request, Response, Status};

use crate::{
    BillingApi,
    error::{Error, Result},
};

fn respond<T>(result: Result<T>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

/// A List request's page of an account, as asked: checked (the account named, the token ours) when it becomes
/// a [`paging::Page`], which the use case does after it has judged who asks.
struct PageAsked<'a> {
    scope: &'a paging::Scope,
    account_id: &'a str,
    page_size: i32,
    page_token: &'a str,
}

impl TryFrom<PageAsked<'_>> for paging::Page {
    type Error = Error;

    fn try_from(asked: PageAsked<'_>) -> Result<Self> {
        let mut v = Violations::default();
        v.require("account_id", asked.account_id);
        let page = v.check(paging::parse(
            asked.page_size,
            asked.page_token,
            asked.scope,
        ));
        v.finish().map_err(Error::invalid_fields)?;
        page.ok_or_else(|| Error::invalid("page_token", "invalid"))
    }
}

impl BillingApi {
    async fn caller(&self, context: &CallContext) -> Result<Caller> {
        Ok(Caller::resolve(&self.identity, context.principal.clone()).await?)
    }
}

#[tonic::async_trait]
impl BillingService for BillingApi {
    async fn list_catalog(
        &self,
        request: Request<pb::ListCatalogRequest>,
    ) -> Result<Response<pb::ListCatalogResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(BillingApi::list_catalog(self, context, request.into_inner()).await)
    }

    async fn update_sku(
        &self,
        request: Request<pb::UpdateSkuRequest>,
    ) -> Result<Response<pb::Sku>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(BillingApi::update_sku(self, context, request.into_inner()).await)
    }

    async fn create_purchase(
        &self,
        request: Request<pb::CreatePurchaseRequest>,
    ) -> Result<Response<pb::Purchase>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(BillingApi::create_purchase(self, context, request.into_inner()).await)
    }

    async fn get_purchase(
        &self,
        request: Request<pb::GetPurchaseRequest>,
    ) -> Result<Response<pb::Purchase>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(BillingApi::get_purchase(self, context, request.into_inner()).await)
    }

    async fn get_invoice(
        &self,
        request: Request<pb::GetInvoiceRequest>,
    ) -> Result<Response<pb::Invoice>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(BillingApi::get_invoice(self, context, request.into_inner()).await)
    }

    async fn list_invoices(
        &self,
        request: Request<pb::ListInvoicesRequest>,
    ) -> Result<Response<pb::ListInvoicesResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(BillingApi::list_invoices(self, context, request.into_inner()).await)
    }

    async fn record_payment(
        &self,
        request: Request<pb::RecordPaymentRequest>,
    ) -> Result<Response<pb::Invoice>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(BillingApi::record_payment(self, context, request.into_inner()).await)
    }

    async fn void_invoice(
        &self,
        request: Request<pb::VoidInvoiceRequest>,
    ) -> Result<Response<pb::Invoice>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(BillingApi::void_invoice(self, context, request.into_inner()).await)
    }

    async fn render_invoice_pdf(
        &self,
        request: Request<pb::RenderInvoicePdfRequest>,
    ) -> Result<Response<pb::RenderInvoicePdfResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(BillingApi::render_invoice_pdf(self, context, request.into_inner()).await)
    }

    async fn create_renewal_invoice(
        &self,
        request: Request<pb::CreateRenewalInvoiceRequest>,
    ) -> Result<Response<pb::Renewal>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(BillingApi::create_renewal_invoice(self, context, request.into_inner()).await)
    }

    async fn set_auto_renew(
        &self,
        request: Request<pb::SetAutoRenewRequest>,
    ) -> Result<Response<pb::Renewal>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(BillingApi::set_auto_renew(self, context, request.into_inner()).await)
    }

    async fn list_renewals(
        &self,
        request: Request<pb::ListRenewalsRequest>,
    ) -> Result<Response<pb::ListRenewalsResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(BillingApi::list_renewals(self, context, request.into_inner()).await)
    }
}
