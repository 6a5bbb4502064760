//! Purchases (B3): the purchase, its invoice and lines in one transaction, idempotently on the request id; then
//! licensing issues the keys at once (`fulfilment`), or later by the background retry (`crate::jobs`).

use chrono::{Duration, Utc};
use portal_clients::Caller;
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
    new_id,
};

use super::{RequestKey, audit::Event, catalog_ready, fulfilment, hidden, permit};
use crate::{
    BillingApi,
    domain::{
        Item, Line, Purchase, access,
        invoice::{self as invoice_rules, PAYMENT_TERM_DAYS},
    },
    error::{Error, Result},
    store::{self, invoices::NewInvoice},
};

/// A CreatePurchase request, checked (B3).
#[derive(Debug, Clone)]
pub(crate) struct NewOrder {
    pub account_id: String,
    pub items: Vec<Item>,
    pub key: RequestKey,
}

/// A purchase with the items it bought (its invoice's lines).
#[derive(Debug, Clone)]
pub(crate) struct Bought {
    pub purchase: Purchase,
    pub lines: Vec<Line>,
}

/// B3/B6: places the order `request` becomes for `caller` on `account_id`: prices it from the catalog as it is
/// now, invoices it and audits it in one transaction (the same request again answers with the first purchase),
/// then has licensing issue what it sells. Whether the caller may buy is judged before what it asks.
pub(crate) async fn create<R: TryInto<NewOrder, Error = Error>>(
    api: &BillingApi,
    context: &CallContext,
    caller: &Caller,
    account_id: &str,
    request: R,
) -> Result<Bought> {
    permit(caller, account_id, access::B6_MAKE_PURCHASE)?;
    let order = request.try_into()?;
    // A portal user was found in the account already; a service principal may name any account.
    if caller.member().is_none() && api.identity.account(&order.account_id).await?.is_none() {
        return Err(Error::AccountNotFound);
    }
    catalog_ready(api).await?;
    let operation = format!("CreatePurchase:{}", order.account_id);
    let purchase_id = new_id("pur");
    let txn = match idempotency::claim_key(&api.db, &operation, &order.key, &purchase_id).await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(id) => {
            // The same order again (perhaps racing the first): the purchase as it is now, never a second one.
            let purchase = store::purchases::find(&api.db, &id).await?;
            return with_lines(api, purchase).await;
        }
    };
    // Priced inside the transaction (after the claim, its first write): what is billed is what was sold.
    let codes: Vec<String> = order.items.iter().map(|i| i.sku.clone()).collect();
    let catalog = store::catalog::by_code(&txn, &codes).await?;
    let priced = invoice_rules::price(&order.items, &catalog)?;
    let purchase = Purchase::new(
        purchase_id.clone(),
        order.account_id.clone(),
        new_id("inv"),
        Utc::now(),
    );
    store::purchases::insert(&txn, &purchase).await?;
    let now = purchase.create_time;
    let invoice = store::invoices::insert(
        &txn,
        NewInvoice {
            invoice_id: &purchase.invoice_id,
            account_id: &order.account_id,
            priced: &priced,
            purchase_id: Some(&purchase_id),
            renewal_id: None,
            issue_time: now,
            due_time: now + Duration::days(PAYMENT_TERM_DAYS),
        },
    )
    .await?;
    Event::PurchaseCreated {
        purchase_id: &purchase_id,
        invoice: &invoice,
        priced: &priced,
    }
    .record(&txn, context)
    .await?;
    txn.commit().await?;
    tracing::info!(purchase_id = %purchase_id, number = %invoice.number, account_id = %order.account_id, "purchase invoiced");
    // Committed: now licensing issues the keys. If it cannot, the purchase stays pending for the retry loop.
    let lines = priced.lines;
    let purchase = match fulfilment::fulfil(
        api,
        &fulfilment::on_behalf_of(context),
        purchase,
        invoice.state,
        &lines,
    )
    .await
    {
        Ok(purchase) => purchase,
        Err(e) => {
            tracing::warn!(purchase_id = %purchase_id, error = %e, "fulfilment failed; the retry loop completes it");
            store::purchases::find(&api.db, &purchase_id).await?
        }
    };
    Ok(Bought { purchase, lines })
}

/// B6: the purchase, for a caller who may see the invoices of its account; to a portal user who may not, an
/// unknown purchase looks the same as one of another account.
pub(crate) async fn get(api: &BillingApi, caller: &Caller, purchase_id: &str) -> Result<Bought> {
    let found = store::purchases::find(&api.db, purchase_id).await;
    let purchase = hidden(caller, access::B6_VIEW_INVOICES, found, |e| {
        matches!(e, Error::PurchaseNotFound)
    })?;
    permit(caller, &purchase.account_id, access::B6_VIEW_INVOICES)?;
    with_lines(api, purchase).await
}

/// A purchase with the items it bought, read from its invoice.
async fn with_lines(api: &BillingApi, purchase: Purchase) -> Result<Bought> {
    let invoice = store::invoices::find(&api.db, &purchase.invoice_id).await?;
    let lines = store::invoices::lines_of(&api.db, std::slice::from_ref(&invoice))
        .await?
        .remove(&invoice.invoice_id)
        .unwrap_or_default();
    Ok(Bought { purchase, lines })
}
