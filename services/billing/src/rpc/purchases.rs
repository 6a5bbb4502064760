//! Purchases (B3): the purchase, its invoice and lines in one transaction, idempotently on the request id;
//! then licensing issues the keys (see [`crate::fulfil`]).

use chrono::{Duration, Utc};
use portal_policy::Action;
use portal_proto::billing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Begun, fingerprint},
    new_id,
};
use prost::Message;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;

use crate::{
    BillingApi,
    authz::{INTERNAL, PAYMENTS},
    domain::{
        Item, PurchaseState,
        invoice::{self as invoice_rules, PAYMENT_TERM_DAYS},
        purchase::{self as purchase_rules, whole_seconds},
    },
    error::{Error, Result},
    store::{self, NewInvoice, purchase},
};

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

impl BillingApi {
    pub(super) async fn create_purchase(
        &self,
        context: CallContext,
        r: pb::CreatePurchaseRequest,
    ) -> Result<pb::Purchase> {
        let caller = self.caller(&context).await?;
        caller.require_action(&r.account_id, Action::MakePurchase, &[PAYMENTS, INTERNAL])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.require("request_id", &r.request_id);
        let items = items(&mut v, &r.items);
        v.finish().map_err(Error::invalid_fields)?;
        // A portal user was found in the account already; a service principal may name any account.
        if caller.member().is_none() && self.identity.account(&r.account_id).await?.is_none() {
            return Err(Error::AccountNotFound);
        }
        self.catalog_ready().await?;
        let hash = fingerprint(
            &pb::CreatePurchaseRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        let purchase_id = new_id("pur");
        let txn = match idempotency::begin(
            &self.db,
            &format!("CreatePurchase:{}", r.account_id),
            &r.request_id,
            &hash,
            &purchase_id,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(id) => {
                // The same order again (perhaps racing the first): the purchase as it is now, never a second one.
                let row = store::find_purchase(&self.db, &id).await?;
                return self.purchase_to_proto(&row).await;
            }
            Begun::Reused => return Err(Error::request_id_reused()),
        };
        // Priced inside the transaction (after the claim, its first write): what is billed is what was sold.
        let codes: Vec<String> = items.iter().map(|i| i.sku.clone()).collect();
        let catalog = store::skus_by_code(&txn, &codes).await?;
        let priced = invoice_rules::price(&items, &catalog)?;
        // Whole seconds: fulfilment dates count from here, identically on every retry.
        let now = whole_seconds(Utc::now());
        let invoice_id = new_id("inv");
        purchase::ActiveModel {
            purchase_id: Set(purchase_id.clone()),
            account_id: Set(r.account_id.clone()),
            state: Set(PurchaseState::Pending.as_str().to_string()),
            invoice_id: Set(invoice_id.clone()),
            key_ids: Set(store::to_json(&[])),
            elearning_codes: Set(store::to_json(&[])),
            failure_reason: Set(String::new()),
            attempts: Set(0),
            create_time: Set(now),
            update_time: Set(now),
        }
        .insert(&txn)
        .await?;
        let invoice = store::insert_invoice(
            &txn,
            NewInvoice {
                invoice_id: &invoice_id,
                account_id: &r.account_id,
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
            "currency": invoice.currency,
            "total_minor": invoice.total_minor,
            "lines": lines,
        });
        let change = Change {
            account_id: &r.account_id,
            action: "CreatePurchase",
            resource_type: "purchase",
            resource_id: &purchase_id,
            before: None,
            after: Some(after),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        tracing::info!(purchase_id = %purchase_id, number = %invoice.number, account_id = %r.account_id, "purchase invoiced");
        // Committed: now licensing issues the keys. If it cannot, the purchase stays pending for the retry loop.
        let row = match self.fulfil(&context, &purchase_id).await {
            Ok(row) => row,
            Err(e) => {
                tracing::warn!(purchase_id = %purchase_id, error = %e, "fulfilment failed; the retry loop completes it");
                store::find_purchase(&self.db, &purchase_id).await?
            }
        };
        self.purchase_to_proto(&row).await
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
        let row = match store::find_purchase(&self.db, &r.purchase_id).await {
            Err(Error::PurchaseNotFound) if caller.member().is_some() => {
                return Err(Error::denied("no such purchase visible to you"));
            }
            other => other?,
        };
        caller.require_action(&row.account_id, Action::ViewInvoices, &[PAYMENTS, INTERNAL])?;
        self.purchase_to_proto(&row).await
    }
}
