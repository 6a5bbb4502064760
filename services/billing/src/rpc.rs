//! The BillingService handlers, one file per resource: each request becomes a typed command (every field
//! violation at once), the domain decides, the store persists, and the answer is translated back to proto
//! (`convert`). No handler touches the database directly.

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
    domain::{self, Invoice, Purchase, access::Permit},
    error::{Error, Result},
    store,
};

fn respond<T>(result: Result<T>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

/// What a caller who could not see the resource even if it existed is told when it does not: the very refusal
/// (`PERMISSION_DENIED`, in the same words) it gets for one it may not see, so nothing reveals whether it exists
/// (AIP-211). Only a service holding one of the `permit`'s scopes, which let it act on the resource, learns
/// `NOT_FOUND`.
fn hidden<T>(
    caller: &Caller,
    permit: Permit,
    found: Result<T>,
    not_found: fn(&Error) -> bool,
) -> Result<T> {
    match found {
        Err(e) if not_found(&e) && !caller.has_scope(permit.scopes) => {
            Err(caller.refusal(permit.action, permit.scopes).into())
        }
        other => other,
    }
}

/// The page a List request of an account asks for, with the account checked.
fn page(
    scope: &paging::Scope,
    account_id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<paging::Page> {
    let mut v = Violations::default();
    v.require("account_id", account_id);
    let page = v.check(paging::parse(page_size, page_token, scope));
    v.finish().map_err(Error::invalid_fields)?;
    page.ok_or_else(|| Error::invalid("page_token", "invalid"))
}

impl BillingApi {
    async fn caller(&self, context: &CallContext) -> Result<Caller> {
        Ok(Caller::resolve(&self.identity, context.principal.clone()).await?)
    }

    /// The caller is a service principal with one of `scopes` (B2, B5, B8).
    async fn require_service(&self, context: &CallContext, scopes: &[&str]) -> Result<()> {
        Ok(self.caller(context).await?.require_scope(scopes)?)
    }

    /// B6: the caller may do what `permit` names on `account_id`.
    fn permit(caller: &Caller, account_id: &str, permit: Permit) -> Result<()> {
        Ok(caller.require_action(account_id, permit.action, permit.scopes)?)
    }

    /// B2: the shipped catalog is in the database before anything reads it; seeded once per process (a failure
    /// is retried by the next call). Never call it inside a transaction: on SQLite it writes.
    async fn catalog_ready(&self) -> Result<()> {
        let db = &self.db;
        self.seeded
            .get_or_try_init(|| async move {
                let added = store::catalog::seed(db, &domain::catalog::shipped()?).await?;
                if added > 0 {
                    tracing::info!(added, "seeded the catalog");
                }
                Ok::<(), Error>(())
            })
            .await
            .map(|_| ())
    }

    /// Invoices as the contract shows them, with lines and payments, in two queries for the whole page.
    async fn invoices_to_proto(&self, invoices: &[Invoice]) -> Result<Vec<pb::Invoice>> {
        let mut lines = store::invoices::lines_of(&self.db, invoices).await?;
        let mut payments = store::payments::of(&self.db, invoices).await?;
        invoices
            .iter()
            .map(|invoice| {
                let lines = lines.remove(&invoice.invoice_id).unwrap_or_default();
                let payments = payments.remove(&invoice.invoice_id).unwrap_or_default();
                convert::invoice(invoice, &lines, &payments)
            })
            .collect()
    }

    async fn invoice_to_proto(&self, invoice: Invoice) -> Result<pb::Invoice> {
        let mut invoices = self
            .invoices_to_proto(std::slice::from_ref(&invoice))
            .await?;
        invoices
            .pop()
            .ok_or_else(|| Error::internal("invoice vanished"))
    }

    /// A purchase with the items it bought (its invoice's lines).
    async fn purchase_to_proto(&self, purchase: &Purchase) -> Result<pb::Purchase> {
        let invoice = store::invoices::find(&self.db, &purchase.invoice_id).await?;
        let mut lines = store::invoices::lines_of(&self.db, std::slice::from_ref(&invoice)).await?;
        Ok(convert::purchase(
            purchase,
            &lines.remove(&invoice.invoice_id).unwrap_or_default(),
        ))
    }

    /// The invoice, or — for a portal user — `PERMISSION_DENIED` without revealing whether it exists.
    async fn visible_invoice(
        &self,
        caller: &Caller,
        invoice_id: &str,
        permit: Permit,
    ) -> Result<Invoice> {
        let found = store::invoices::find(&self.db, invoice_id).await;
        hidden(caller, permit, found, |e| {
            matches!(e, Error::InvoiceNotFound)
        })
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
