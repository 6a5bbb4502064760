//! Purchases (B3): the purchase, its invoice and lines in one transaction, idempotently on the request id; then
//! licensing issues the keys at once, or later by the background retry (`crate::jobs`).

use chrono::{Duration, Utc};
use portal_proto::billing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Claim},
    new_id,
};
use serde_json::json;

use super::hidden;
use crate::{
    BillingApi,
    domain::{
        Item, Purchase, access,
        invoice::{self as invoice_rules, PAYMENT_TERM_DAYS},
        purchase as purchase_rules,
    },
    error::{Error, Result},
    store::{self, invoices::NewInvoice},
};

/// A CreatePurchase request, checked (B3).
pub(super) struct NewOrder {
    account_id: String,
    items: Vec<Item>,
}

/// The order's items, or every problem with them (B3).
pub(super) fn items(v: &mut Violations, raw: &[pb::PurchaseItem]) -> Vec<Item> {
    let items: Vec<Item> = raw
        .iter()
        .map(|i| Item {
            sku: i.sku.trim().to_string(),
            quantity: i.quantity,
        })
        .collect();
    for problem in purchase_rules::check_items(&items) {
        v.add(&problem.field, problem.description);
    }
    items
}

impl TryFrom<&pb::CreatePurchaseRequest> for NewOrder {
    type Error = Error;

    fn try_from(r: &pb::CreatePurchaseRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.require("request_id", &r.request_id);
        let items = items(&mut v, &r.items);
        v.finish().map_err(Error::invalid_fields)?;
        Ok(Self {
            account_id: r.account_id.clone(),
            items,
        })
    }
}

impl BillingApi {
    pub(super) async fn create_purchase(
        &self,
        context: CallContext,
        r: pb::CreatePurchaseRequest,
    ) -> Result<pb::Purchase> {
        let caller = self.caller(&context).await?;
        Self::permit(&caller, &r.account_id, access::B6_MAKE_PURCHASE)?;
        let order = NewOrder::try_from(&r)?;
        // A portal user was found in the account already; a service principal may name any account.
        if caller.member().is_none() && self.identity.account(&order.account_id).await?.is_none() {
            return Err(Error::AccountNotFound);
        }
        self.catalog_ready().await?;
        let operation = format!("CreatePurchase:{}", order.account_id);
        let purchase_id = new_id("pur");
        let txn = match idempotency::claim(&self.db, &operation, &r, &purchase_id).await? {
            Claim::Fresh(txn) => txn,
            Claim::Replay(id) => {
                // The same order again (perhaps racing the first): the purchase as it is now, never a second one.
                let purchase = store::purchases::find(&self.db, &id).await?;
                return self.purchase_to_proto(&purchase).await;
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
        let lines: Vec<serde_json::Value> = priced
            .lines
            .iter()
            .map(
                |l| json!({ "sku": l.sku, "quantity": l.quantity, "amount_minor": l.amount.minor }),
            )
            .collect();
        let after = json!({
            "invoice_id": invoice.invoice_id,
            "number": invoice.number,
            "currency": invoice.currency.as_str(),
            "total_minor": invoice.totals.total.minor,
            "lines": lines,
        });
        let change = Change {
            account_id: &order.account_id,
            action: "CreatePurchase",
            resource_type: "purchase",
            resource_id: &purchase_id,
            before: None,
            after: Some(after),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        tracing::info!(purchase_id = %purchase_id, number = %invoice.number, account_id = %order.account_id, "purchase invoiced");
        // Committed: now licensing issues the keys. If it cannot, the purchase stays pending for the retry loop.
        let purchase = match self
            .fulfil(&crate::jobs::on_behalf_of(&context), &purchase_id)
            .await
        {
            Ok(purchase) => purchase,
            Err(e) => {
                tracing::warn!(purchase_id = %purchase_id, error = %e, "fulfilment failed; the retry loop completes it");
                store::purchases::find(&self.db, &purchase_id).await?
            }
        };
        self.purchase_to_proto(&purchase).await
    }

    pub(super) async fn get_purchase(
        &self,
        context: CallContext,
        r: pb::GetPurchaseRequest,
    ) -> Result<pb::Purchase> {
        let mut v = Violations::default();
        v.require("purchase_id", &r.purchase_id);
        v.finish().map_err(Error::invalid_fields)?;
        let caller = self.caller(&context).await?;
        let found = store::purchases::find(&self.db, &r.purchase_id).await;
        let purchase = hidden(&caller, access::B6_VIEW_INVOICES, found, |e| {
            matches!(e, Error::PurchaseNotFound)
        })?;
        Self::permit(&caller, &purchase.account_id, access::B6_VIEW_INVOICES)?;
        self.purchase_to_proto(&purchase).await
    }
}
