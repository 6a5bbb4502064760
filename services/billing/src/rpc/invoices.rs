//! Invoices (B4, B6, B7): GetInvoice, ListInvoices, VoidInvoice and RenderInvoicePdf, translated to and from
//! `app::invoices`. Payments are in `payments`.

use portal_proto::billing as pb;
use portal_runtime::{CallContext, error::Violations, paging};

use super::{PageAsked, convert};
use crate::{
    BillingApi,
    app::invoices::{self, VoidOrder},
    domain::text,
    error::{Error, Result},
};

const MAX_REASON: usize = 500;

/// A VoidInvoice request, checked.
impl TryFrom<pb::VoidInvoiceRequest> for VoidOrder {
    type Error = Error;

    fn try_from(r: pb::VoidInvoiceRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("invoice_id", &r.invoice_id);
        v.check(text::check_printable("reason", &r.reason, MAX_REASON));
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
        let statement = invoices::get(self, &caller, &r.invoice_id).await?;
        convert::statement(&statement)
    }

    pub(super) async fn list_invoices(
        &self,
        context: CallContext,
        r: pb::ListInvoicesRequest,
    ) -> Result<pb::ListInvoicesResponse> {
        let caller = self.caller(&context).await?;
        let scope = paging::Scope::new("ListInvoices", r.account_id.as_str());
        let asked = PageAsked {
            scope: &scope,
            account_id: &r.account_id,
            page_size: r.page_size,
            page_token: &r.page_token,
        };
        let (statements, page) = invoices::list(self, &caller, &r.account_id, asked).await?;
        let next_page_token = paging::next_token(
            &scope,
            statements.last().map(|s| s.invoice.invoice_id.as_str()),
            statements.len(),
            page.size,
        );
        Ok(pb::ListInvoicesResponse {
            invoices: statements
                .iter()
                .map(convert::statement)
                .collect::<Result<_>>()?,
            next_page_token,
        })
    }

    pub(super) async fn void_invoice(
        &self,
        context: CallContext,
        r: pb::VoidInvoiceRequest,
    ) -> Result<pb::Invoice> {
        let caller = self.caller(&context).await?;
        let statement = invoices::void(self, &context, &caller, r).await?;
        convert::statement(&statement)
    }

    pub(super) async fn render_invoice_pdf(
        &self,
        context: CallContext,
        r: pb::RenderInvoicePdfRequest,
    ) -> Result<pb::RenderInvoicePdfResponse> {
        require_invoice_id(&r.invoice_id)?;
        let caller = self.caller(&context).await?;
        let (invoice, pdf) = invoices::pdf(self, &caller, &r.invoice_id).await?;
        Ok(pb::RenderInvoicePdfResponse {
            pdf,
            filename: format!("{}.pdf", invoice.number),
        })
    }
}
