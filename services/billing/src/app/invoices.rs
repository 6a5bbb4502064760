//! Invoices (B4, B6, B7): reading and listing them with their lines and payments, voiding one (with the renewal
//! it bills), and the printable PDF. Payments are in `payments`.

use chrono::Utc;
use portal_clients::Caller;
use portal_runtime::{CallContext, paging::Page};

use super::{audit::Event, hidden, permit};
use crate::{
    BillingApi,
    domain::{Invoice, Line, Payment, access, printed},
    error::{Error, Result},
    pdf, store,
};

/// A VoidInvoice request, checked.
#[derive(Debug, Clone)]
pub(crate) struct VoidOrder {
    pub invoice_id: String,
    pub reason: String,
}

/// An invoice with its lines and payments, as every answer about an invoice shows it.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub invoice: Invoice,
    pub lines: Vec<Line>,
    pub payments: Vec<Payment>,
}

/// The statements of `invoices`, in two queries for all of them.
pub(crate) async fn statements(api: &BillingApi, invoices: Vec<Invoice>) -> Result<Vec<Statement>> {
    let mut lines = store::invoices::lines_of(&api.db, &invoices).await?;
    let mut payments = store::payments::of(&api.db, &invoices).await?;
    Ok(invoices
        .into_iter()
        .map(|invoice| Statement {
            lines: lines.remove(&invoice.invoice_id).unwrap_or_default(),
            payments: payments.remove(&invoice.invoice_id).unwrap_or_default(),
            invoice,
        })
        .collect())
}

/// The statement of one invoice.
pub(crate) async fn statement(api: &BillingApi, invoice: Invoice) -> Result<Statement> {
    statements(api, vec![invoice])
        .await?
        .pop()
        .ok_or_else(|| Error::internal("invoice vanished"))
}

/// B6: the invoice `invoice_id`, for a caller who may see its account's invoices; to a portal user who may not,
/// an unknown invoice looks the same as one of another account.
async fn visible(api: &BillingApi, caller: &Caller, invoice_id: &str) -> Result<Invoice> {
    let found = store::invoices::find(&api.db, invoice_id).await;
    let invoice = hidden(caller, access::B6_VIEW_INVOICES, found, |e| {
        matches!(e, Error::InvoiceNotFound)
    })?;
    permit(caller, &invoice.account_id, access::B6_VIEW_INVOICES)?;
    Ok(invoice)
}

/// B6: one invoice with its lines and payments.
pub(crate) async fn get(api: &BillingApi, caller: &Caller, invoice_id: &str) -> Result<Statement> {
    let invoice = visible(api, caller, invoice_id).await?;
    statement(api, invoice).await
}

/// B6: a page of the account's invoices, for a caller who may see them; the page asked is judged after who
/// asks.
pub(crate) async fn list<P: TryInto<Page, Error = Error>>(
    api: &BillingApi,
    caller: &Caller,
    account_id: &str,
    page: P,
) -> Result<(Vec<Statement>, Page)> {
    permit(caller, account_id, access::B6_VIEW_INVOICES)?;
    let page = page.try_into()?;
    let invoices =
        store::invoices::list(&api.db, account_id, page.after.as_deref(), page.size).await?;
    Ok((statements(api, invoices).await?, page))
}

/// B4/B8: voids the invoice the request names for a service principal, and cancels the renewal it bills; an
/// invoice void already is returned unchanged.
pub(crate) async fn void<R: TryInto<VoidOrder, Error = Error>>(
    api: &BillingApi,
    context: &CallContext,
    caller: &Caller,
    request: R,
) -> Result<Statement> {
    caller.require_scope(access::B5_RECORD_PAYMENT)?;
    let order = request.try_into()?;
    let txn = portal_runtime::db::begin_write(&api.db).await?;
    let before = store::invoices::lock(&txn, &order.invoice_id).await?;
    let now = Utc::now();
    let Some(after) = before.void(&order.reason, now)? else {
        // Already void: unchanged.
        txn.rollback().await?;
        return statement(api, before).await;
    };
    store::invoices::save(&txn, &after).await?;
    Event::InvoiceVoided {
        before: &before,
        after: &after,
        reason: &order.reason,
    }
    .record(&txn, context)
    .await?;
    if let Some(renewal_id) = &before.renewal_id {
        let renewal = store::renewals::lock(&txn, renewal_id).await?;
        let cancelled = renewal.cancelled(now);
        store::renewals::save(&txn, &cancelled).await?;
        Event::RenewalCancelled {
            before: &renewal,
            after: &cancelled,
        }
        .record(&txn, context)
        .await?;
    }
    txn.commit().await?;
    statement(api, after).await
}

/// B7: the printable PDF of an invoice the caller may see, with the account's name when identity knows it.
pub(crate) async fn pdf(
    api: &BillingApi,
    caller: &Caller,
    invoice_id: &str,
) -> Result<(Invoice, Vec<u8>)> {
    let invoice = visible(api, caller, invoice_id).await?;
    let account = match api.identity.account(&invoice.account_id).await? {
        Some(account) => format!("{} ({})", account.name, invoice.account_id),
        None => invoice.account_id.clone(),
    };
    let Statement {
        invoice,
        lines,
        payments,
    } = statement(api, invoice).await?;
    let bytes = pdf::render(&printed::b7_printed(&invoice, &lines, &payments, account)?)?;
    Ok((invoice, bytes))
}
