//! The BillingService handlers: proto in, authorization and domain rules, store, proto out.

mod catalog;
mod invoices;
mod purchases;
mod renewals;

use portal_proto::billing::{self as pb, billing_service_server::BillingService};
use portal_runtime::CallContext;
use tonic::{Request, Response, Status};

use crate::{
    BillingApi,
    authz::Caller,
    convert, domain,
    error::{Error, Result},
    store,
};

fn respond<T>(result: Result<T>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

impl BillingApi {
    async fn caller(&self, context: &CallContext) -> Result<Caller> {
        Ok(Caller::resolve(&self.identity, context.principal.clone()).await?)
    }

    /// B2: the shipped catalog is in the database before anything reads it; seeded once per process (a failure
    /// is retried by the next call). Never call it inside a transaction: on SQLite it writes.
    async fn catalog_ready(&self) -> Result<()> {
        let db = &self.db;
        self.seeded
            .get_or_try_init(|| async move {
                let added = store::seed_catalog(db, &domain::catalog::shipped()?).await?;
                if added > 0 {
                    tracing::info!(added, "seeded the catalog");
                }
                Ok::<(), Error>(())
            })
            .await
            .map(|_| ())
    }

    /// Invoices as the contract shows them, with lines and payments, in two queries for the whole page.
    async fn invoices_to_proto(&self, rows: &[store::invoice::Model]) -> Result<Vec<pb::Invoice>> {
        let ids: Vec<String> = rows.iter().map(|i| i.invoice_id.clone()).collect();
        let mut lines = store::lines_of(&self.db, &ids).await?;
        let mut payments = store::payments_of(&self.db, &ids).await?;
        rows.iter()
            .map(|row| {
                let lines = lines.remove(&row.invoice_id).unwrap_or_default();
                let payments = payments.remove(&row.invoice_id).unwrap_or_default();
                convert::invoice(row, &lines, &payments)
            })
            .collect()
    }

    async fn invoice_to_proto(&self, row: &store::invoice::Model) -> Result<pb::Invoice> {
        let mut invoices = self.invoices_to_proto(std::slice::from_ref(row)).await?;
        invoices
            .pop()
            .ok_or_else(|| Error::internal("invoice vanished"))
    }

    async fn purchase_to_proto(&self, row: &store::purchase::Model) -> Result<pb::Purchase> {
        let mut lines = store::lines_of(&self.db, std::slice::from_ref(&row.invoice_id)).await?;
        Ok(convert::purchase(
            row,
            &lines.remove(&row.invoice_id).unwrap_or_default(),
        ))
    }

    /// The invoice, or — for a portal user — `PERMISSION_DENIED` without revealing whether it exists (AIP-211).
    async fn visible_invoice(
        &self,
        caller: &Caller,
        invoice_id: &str,
    ) -> Result<store::invoice::Model> {
        match store::find_invoice(&self.db, invoice_id).await {
            Err(Error::InvoiceNotFound) if caller.member().is_some() => {
                Err(Error::denied("no such invoice visible to you"))
            }
            other => other,
        }
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
