//! Invoices (B4, B6, B7): reading and listing them, voiding one (with the renewal it bills), and the printable
//! PDF. Payments are in `payments`.

use chrono::Utc;
use portal_proto::billing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    paging,
};
use serde_json::json;

use crate::{
    BillingApi,
    domain::{access, printed},
    error::{Error, Result},
    pdf, store,
};

const MAX_REASON: usize = 500;

/// A VoidInvoice request, checked.
pub(super) struct VoidOrder {
    invoice_id: String,
    reason: String,
}

impl TryFrom<pb::VoidInvoiceRequest> for VoidOrder {
    type Error = Error;

    fn try_from(r: pb::VoidInvoiceRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("invoice_id", &r.invoice_id);
        v.check(printed::check_printable("reason", &r.reason, MAX_REASON));
        v.finish().map_err(Error::invalid_fields)?;
        Ok(Self {
            invoice_id: r.invoice_id,
            reason: r.reason.trim().to_string(),
        })
    }
}

/// A request naming one invoice names it.
fn require_invoice_id(raw: &str) -> Result<()> {
    let mut v = Violations::default();
    v.require("invoice_id", raw);
    v.finish().map_err(Error::invalid_fields)
}

impl BillingApi {
    pub(super) async fn get_invoice(
        &self,
        context: CallContext,
        r: pb::GetInvoiceRequest,
    ) -> Result<pb::Invoice> {
        require_invoice_id(&r.invoice_id)?;
        let caller = self.caller(&context).await?;
        let invoice = self
            .visible_invoice(&caller, &r.invoice_id, access::B6_VIEW_INVOICES)
            .await?;
        Self::permit(&caller, &invoice.account_id, access::B6_VIEW_INVOICES)?;
        self.invoice_to_proto(invoice).await
    }

    pub(super) async fn list_invoices(
        &self,
        context: CallContext,
        r: pb::ListInvoicesRequest,
    ) -> Result<pb::ListInvoicesResponse> {
        let caller = self.caller(&context).await?;
        Self::permit(&caller, &r.account_id, access::B6_VIEW_INVOICES)?;
        let scope = paging::Scope::new("ListInvoices", r.account_id.as_str());
        let page = super::page(&scope, &r.account_id, r.page_size, &r.page_token)?;
        let invoices =
            store::invoices::list(&self.db, &r.account_id, page.after.as_deref(), page.size)
                .await?;
        let next_page_token = paging::next_token(
            &scope,
            invoices.last().map(|i| i.invoice_id.as_str()),
            invoices.len(),
            page.size,
        );
        Ok(pb::ListInvoicesResponse {
            invoices: self.invoices_to_proto(&invoices).await?,
            next_page_token,
        })
    }

    pub(super) async fn void_invoice(
        &self,
        context: CallContext,
        r: pb::VoidInvoiceRequest,
    ) -> Result<pb::Invoice> {
        self.require_service(&context, access::B5_RECORD_PAYMENT)
            .await?;
        let order = VoidOrder::try_from(r)?;
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let before = store::invoices::lock(&txn, &order.invoice_id).await?;
        let now = Utc::now();
        let Some(after) = before.void(&order.reason, now)? else {
            // Already void: unchanged.
            txn.rollback().await?;
            return self.invoice_to_proto(before).await;
        };
        store::invoices::save(&txn, &after).await?;
        let change = Change {
            account_id: &after.account_id,
            action: "VoidInvoice",
            resource_type: "invoice",
            resource_id: &after.invoice_id,
            before: Some(json!({ "state": before.state.as_str() })),
            after: Some(json!({ "state": after.state.as_str(), "void_reason": order.reason })),
        };
        audit::record(&txn, &context, change).await?;
        if let Some(renewal_id) = &before.renewal_id {
            let renewal = store::renewals::lock(&txn, renewal_id).await?;
            let cancelled = renewal.cancelled(now);
            store::renewals::save(&txn, &cancelled).await?;
            let change = Change {
                account_id: &renewal.account_id,
                action: "CancelRenewal",
                resource_type: "renewal",
                resource_id: &renewal.renewal_id,
                before: Some(json!({ "state": renewal.state.as_str() })),
                after: Some(json!({ "state": cancelled.state.as_str() })),
            };
            audit::record(&txn, &context, change).await?;
        }
        txn.commit().await?;
        self.invoice_to_proto(after).await
    }

    pub(super) async fn render_invoice_pdf(
        &self,
        context: CallContext,
        r: pb::RenderInvoicePdfRequest,
    ) -> Result<pb::RenderInvoicePdfResponse> {
        require_invoice_id(&r.invoice_id)?;
        let caller = self.caller(&context).await?;
        let invoice = self
            .visible_invoice(&caller, &r.invoice_id, access::B6_VIEW_INVOICES)
            .await?;
        Self::permit(&caller, &invoice.account_id, access::B6_VIEW_INVOICES)?;
        let account = match self.identity.account(&invoice.account_id).await? {
            Some(account) => format!("{} ({})", account.name, invoice.account_id),
            None => invoice.account_id.clone(),
        };
        let one = std::slice::from_ref(&invoice);
        let lines = store::invoices::lines_of(&self.db, one)
            .await?
            .remove(&invoice.invoice_id)
            .unwrap_or_default();
        let payments = store::payments::of(&self.db, one)
            .await?
            .remove(&invoice.invoice_id)
            .unwrap_or_default();
        let bytes = pdf::render(&printed::b7_printed(&invoice, &lines, &payments, account)?)?;
        Ok(pb::RenderInvoicePdfResponse {
            pdf: bytes,
            filename: format!("{}.pdf", invoice.number),
        })
    }
}
