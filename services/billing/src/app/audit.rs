//! Billing's audit events (I12), typed: each use case records its event in the transaction of its change. The
//! rows keep the shape they have always had (states as their contract strings, amounts in minor units).

use chrono::{DateTime, Utc};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    domain::{
        Invoice, InvoiceState, Issued, Payment, Priced, Purchase, PurchaseState, Renewal, Sku,
    },
    error::Result,
};

/// A change billing records.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// B2: a service principal created a SKU (UpdateSku with `allow_missing`).
    SkuCreated(&'a Sku),
    /// B2: a service principal changed a SKU.
    SkuUpdated { before: &'a Sku, after: &'a Sku },
    /// B3: a purchase was placed and invoiced.
    PurchaseCreated {
        purchase_id: &'a str,
        invoice: &'a Invoice,
        priced: &'a Priced,
    },
    /// B3: licensing issued everything the purchase sells.
    PurchaseFulfilled {
        purchase: &'a Purchase,
        issued: &'a Issued,
    },
    /// B3/B9: licensing refused the purchase.
    PurchaseFailed {
        purchase: &'a Purchase,
        why: &'a str,
        issued: &'a Issued,
    },
    /// B3: the unpaid invoice of a failed purchase was voided.
    FailedPurchaseInvoiceVoided {
        purchase: &'a Purchase,
        reason: &'a str,
    },
    /// B9: every key a failed purchase issued is revoked.
    PurchaseCompensated {
        purchase: &'a Purchase,
        revoked: &'a [String],
    },
    /// B5: a payment was recorded against an invoice.
    PaymentRecorded {
        before: &'a Invoice,
        after: &'a Invoice,
        payment: &'a Payment,
    },
    /// B4: a service principal voided an invoice.
    InvoiceVoided {
        before: &'a Invoice,
        after: &'a Invoice,
        reason: &'a str,
    },
    /// B8: voiding a renewal's invoice cancelled the renewal.
    RenewalCancelled {
        before: &'a Renewal,
        after: &'a Renewal,
    },
    /// B8: paying a renewal's invoice in full renewed it.
    RenewalPaid {
        before: &'a Renewal,
        after: &'a Renewal,
    },
    /// B8: a renewal and its invoice were created (by CreateRenewalInvoice, or by auto-renew for the next term,
    /// which names the renewal it follows).
    RenewalCreated {
        renewal: &'a Renewal,
        invoice: &'a Invoice,
        previous_renewal_id: Option<&'a str>,
    },
    /// B8: auto-renew was turned on or off.
    AutoRenewSet {
        before: &'a Renewal,
        after: &'a Renewal,
    },
    /// B8/L7: licensing refreshed a renewed renewal's keys (`refused`: the keys it would not).
    RenewedKeysRefreshed {
        renewal: &'a Renewal,
        until: DateTime<Utc>,
        refused: &'a [String],
    },
    /// B10: the Administrators were reminded of a renewal date `days` away.
    RenewalReminded {
        renewal: &'a Renewal,
        days: i64,
        administrators: usize,
    },
    /// B10: a renewal renewed automatically on its date, and `next` is the next term's.
    AutoRenewed {
        before: &'a Renewal,
        after: &'a Renewal,
        next: &'a Renewal,
        administrators: usize,
    },
}

impl<'a> Event<'a> {
    /// The audit row this event is.
    fn change(self) -> Change<'a> {
        match self {
            Event::SkuCreated(sku) => sku_change("CreateSku", None, sku),
            Event::SkuUpdated { before, after } => sku_change("UpdateSku", Some(before), after),
            Event::PurchaseCreated {
                purchase_id,
                invoice,
                priced,
            } => {
                let lines: Vec<Value> = priced
                    .lines
                    .iter()
                    .map(|l| json!({ "sku": l.sku, "quantity": l.quantity, "amount_minor": l.amount.minor }))
                    .collect();
                Change {
                    account_id: &invoice.account_id,
                    action: "CreatePurchase",
                    resource_type: "purchase",
                    resource_id: purchase_id,
                    before: None,
                    after: Some(json!({
                        "invoice_id": invoice.invoice_id,
                        "number": invoice.number,
                        "currency": invoice.currency.as_str(),
                        "total_minor": invoice.totals.total.minor,
                        "lines": lines,
                    })),
                }
            }
            Event::PurchaseFulfilled { purchase, issued } => Change {
                account_id: &purchase.account_id,
                action: "FulfillPurchase",
                resource_type: "purchase",
                resource_id: &purchase.purchase_id,
                before: Some(json!({ "state": PurchaseState::Pending.as_str() })),
                after: Some(
                    json!({ "state": PurchaseState::Fulfilled.as_str(), "key_ids": issued.key_ids, "elearning_code_count": issued.elearning_codes.len(), "site_ids": issued.site_ids, "no_administrator_notified": issued.no_administrator_notified }),
                ),
            },
            Event::PurchaseFailed {
                purchase,
                why,
                issued,
            } => Change {
                account_id: &purchase.account_id,
                action: "FailPurchase",
                resource_type: "purchase",
                resource_id: &purchase.purchase_id,
                before: Some(json!({ "state": PurchaseState::Pending.as_str() })),
                after: Some(
                    json!({ "state": PurchaseState::Failed.as_str(), "failure_reason": why, "issued_key_ids": issued.key_ids, "issued_elearning_codes": issued.elearning_codes.len() }),
                ),
            },
            Event::FailedPurchaseInvoiceVoided { purchase, reason } => Change {
                account_id: &purchase.account_id,
                action: "VoidInvoice",
                resource_type: "invoice",
                resource_id: &purchase.invoice_id,
                before: Some(json!({ "state": InvoiceState::Open.as_str() })),
                after: Some(json!({ "state": InvoiceState::Void.as_str(), "void_reason": reason })),
            },
            Event::PurchaseCompensated { purchase, revoked } => Change {
                account_id: &purchase.account_id,
                action: "CompensatePurchase",
                resource_type: "purchase",
                resource_id: &purchase.purchase_id,
                before: Some(json!({ "compensation_pending": true, "key_ids": purchase.key_ids })),
                after: Some(json!({ "compensation_pending": false, "revoked_key_ids": revoked })),
            },
            Event::PaymentRecorded {
                before,
                after,
                payment,
            } => Change {
                account_id: &after.account_id,
                action: "RecordPayment",
                resource_type: "invoice",
                resource_id: &after.invoice_id,
                before: Some(
                    json!({ "state": before.state.as_str(), "paid_minor": before.paid.minor }),
                ),
                after: Some(
                    json!({ "state": after.state.as_str(), "paid_minor": after.paid.minor, "payment_id": payment.payment_id, "amount_minor": payment.amount.minor, "reference": payment.reference }),
                ),
            },
            Event::InvoiceVoided {
                before,
                after,
                reason,
            } => Change {
                account_id: &after.account_id,
                action: "VoidInvoice",
                resource_type: "invoice",
                resource_id: &after.invoice_id,
                before: Some(json!({ "state": before.state.as_str() })),
                after: Some(json!({ "state": after.state.as_str(), "void_reason": reason })),
            },
            Event::RenewalCancelled { before, after } => Change {
                account_id: &before.account_id,
                action: "CancelRenewal",
                resource_type: "renewal",
                resource_id: &before.renewal_id,
                before: Some(json!({ "state": before.state.as_str() })),
                after: Some(json!({ "state": after.state.as_str() })),
            },
            Event::RenewalPaid { before, after } => Change {
                account_id: &before.account_id,
                action: "RenewalPaid",
                resource_type: "renewal",
                resource_id: &before.renewal_id,
                before: Some(json!({ "state": before.state.as_str() })),
                after: Some(
                    json!({ "state": after.state.as_str(), "refresh_pending": after.refresh_pending }),
                ),
            },
            Event::RenewalCreated {
                renewal,
                invoice,
                previous_renewal_id,
            } => {
                let mut after = json!({
                    "key_ids": renewal.key_ids,
                    "renewal_date": renewal.renewal_date,
                    "term_months": renewal.term_months,
                    "invoice_id": invoice.invoice_id,
                    "number": invoice.number,
                    "total_minor": invoice.totals.total.minor,
                    "currency": invoice.currency.as_str(),
                });
                if let (Some(previous), Some(fields)) = (previous_renewal_id, after.as_object_mut())
                {
                    fields.insert("previous_renewal_id".into(), json!(previous));
                }
                Change {
                    account_id: &renewal.account_id,
                    action: "CreateRenewal",
                    resource_type: "renewal",
                    resource_id: &renewal.renewal_id,
                    before: None,
                    after: Some(after),
                }
            }
            Event::AutoRenewSet { before, after } => Change {
                account_id: &after.account_id,
                action: "SetAutoRenew",
                resource_type: "renewal",
                resource_id: &after.renewal_id,
                before: Some(json!({ "auto_renew": before.auto_renew })),
                after: Some(json!({ "auto_renew": after.auto_renew })),
            },
            Event::RenewedKeysRefreshed {
                renewal,
                until,
                refused,
            } => Change {
                account_id: &renewal.account_id,
                action: "RefreshRenewedKeys",
                resource_type: "renewal",
                resource_id: &renewal.renewal_id,
                before: None,
                after: Some(
                    json!({ "key_ids": renewal.key_ids, "until": until, "refused": refused }),
                ),
            },
            Event::RenewalReminded {
                renewal,
                days,
                administrators,
            } => Change {
                account_id: &renewal.account_id,
                action: "RemindRenewal",
                resource_type: "renewal",
                resource_id: &renewal.renewal_id,
                before: None,
                after: Some(json!({ "days_before": days, "administrators": administrators })),
            },
            Event::AutoRenewed {
                before,
                after,
                next,
                administrators,
            } => Change {
                account_id: &before.account_id,
                action: "AutoRenew",
                resource_type: "renewal",
                resource_id: &before.renewal_id,
                before: Some(json!({ "state": before.state.as_str() })),
                after: Some(json!({
                    "state": after.state.as_str(),
                    "renewed_automatically": after.renewed_automatically,
                    "next_renewal_id": next.renewal_id,
                    "administrators": administrators,
                })),
            },
        }
    }

    /// Records the event as `context`'s, in the transaction `txn` of the change.
    pub async fn record<C: ConnectionTrait>(self, txn: &C, context: &CallContext) -> Result<()> {
        Ok(audit::record(txn, context, self.change()).await?)
    }
}

/// A SKU as its audit rows show it (B2).
fn snapshot(sku: &Sku) -> Value {
    json!({
        "description": sku.description,
        "unit_price_minor": sku.unit_price.minor,
        "currency": sku.unit_price.currency.as_str(),
        "grant": sku.grant,
        "active": sku.active,
    })
}

fn sku_change<'a>(action: &'a str, before: Option<&Sku>, after: &'a Sku) -> Change<'a> {
    Change {
        account_id: "",
        action,
        resource_type: "sku",
        resource_id: &after.code,
        before: before.map(snapshot),
        after: Some(snapshot(after)),
    }
}
