//! Invoices (B4, B6, B7) and payments (B5): reading and listing, recording payments idempotently, voiding,
//! and the printable PDF.

use chrono::{DateTime, Utc};
use portal_policy::Action;
use portal_proto::billing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Begun, fingerprint},
    new_id, paging,
};
use prost::Message;
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde_json::json;

use crate::{
    BillingApi,
    authz::{INTERNAL, PAYMENTS},
    domain::{
        Currency, InvoiceState, Money, RenewalState, invoice as invoice_rules,
        renewal as renewal_rules,
    },
    error::{Error, Result},
    pdf::{self, PrintedInvoice, PrintedLine},
    store::{self, invoice, line, payment},
};

const MAX_REFERENCE: usize = 200;
const MAX_REASON: usize = 500;

fn check_text(v: &mut Violations, field: &str, value: &str, max: usize) {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max || trimmed.chars().any(char::is_control)
    {
        v.add(field, format!("must be 1 to {max} printable characters"));
    }
}

fn currency_of(row: &invoice::Model) -> Result<Currency> {
    Currency::parse("currency", &row.currency)
        .map_err(|_| Error::internal(format!("invoice {} has a bad currency", row.invoice_id)))
}

fn day(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d").to_string()
}

/// B7: what the PDF prints, formatted with integer arithmetic only.
fn printed(
    row: &invoice::Model,
    lines: &[line::Model],
    payments: &[payment::Model],
    account: String,
) -> Result<PrintedInvoice> {
    let currency = currency_of(row)?;
    let money = |minor: i64| Money::new(minor, currency).amount_text();
    let state = InvoiceState::parse(&row.state);
    let balance = invoice_rules::balance(
        state,
        Money::new(row.total_minor, currency),
        Money::new(row.paid_minor, currency),
    )?;
    let mut notes: Vec<String> = payments
        .iter()
        .map(|p| {
            format!(
                "Payment {} on {}: {currency} {}",
                p.reference,
                day(p.create_time),
                money(p.amount_minor)
            )
        })
        .collect();
    match state {
        InvoiceState::Open => notes.push(format!(
            "Please pay {currency} {} by {}.",
            money(balance.minor),
            day(row.due_time)
        )),
        InvoiceState::Paid => notes.push(format!(
            "Paid in full{}. Thank you.",
            row.paid_time
                .map(|t| format!(" on {}", day(t)))
                .unwrap_or_default()
        )),
        InvoiceState::Void => notes.push(format!(
            "Void{}: {}",
            row.void_time
                .map(|t| format!(" since {}", day(t)))
                .unwrap_or_default(),
            row.void_reason
        )),
    }
    Ok(PrintedInvoice {
        number: row.number.clone(),
        account,
        status: state.as_str().to_string(),
        issued: day(row.issue_time),
        due: day(row.due_time),
        currency: currency.as_str().to_string(),
        lines: lines
            .iter()
            .map(|l| PrintedLine {
                sku: l.sku.clone(),
                description: l.description.clone(),
                quantity: l.quantity.to_string(),
                unit_price: money(l.unit_price_minor),
                amount: money(l.amount_minor),
            })
            .collect(),
        totals: vec![
            ("Subtotal".into(), money(row.subtotal_minor)),
            ("Tax".into(), money(row.tax_minor)),
            ("Total".into(), money(row.total_minor)),
            ("Paid".into(), money(row.paid_minor)),
            ("Balance".into(), money(balance.minor)),
        ],
        notes,
    })
}

impl BillingApi {
    pub(super) async fn get_invoice(
        &self,
        context: CallContext,
        r: pb::GetInvoiceRequest,
    ) -> Result<pb::Invoice> {
        let mut v = Violations::default();
        v.require("invoice_id", &r.invoice_id);
        v.finish().map_err(Error::invalid_fields)?;
        let caller = self.caller(&context).await?;
        let row = self.visible_invoice(&caller, &r.invoice_id).await?;
        caller.require_action(&row.account_id, Action::ViewInvoices, &[PAYMENTS, INTERNAL])?;
        self.invoice_to_proto(&row).await
    }

    pub(super) async fn list_invoices(
        &self,
        context: CallContext,
        r: pb::ListInvoicesRequest,
    ) -> Result<pb::ListInvoicesResponse> {
        self.caller(&context).await?.require_action(
            &r.account_id,
            Action::ViewInvoices,
            &[PAYMENTS, INTERNAL],
        )?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let page = v.check(paging::parse(r.page_size, &r.page_token, &r.account_id));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(page) = page else {
            return Err(Error::invalid("page_token", "invalid"));
        };
        let rows =
            store::list_invoices(&self.db, &r.account_id, page.after.as_deref(), page.size).await?;
        let next_page_token = paging::next_token(
            &r.account_id,
            rows.last().map(|i| i.invoice_id.as_str()),
            rows.len(),
            page.size,
        );
        Ok(pb::ListInvoicesResponse {
            invoices: self.invoices_to_proto(&rows).await?,
            next_page_token,
        })
    }

    pub(super) async fn record_payment(
        &self,
        context: CallContext,
        r: pb::RecordPaymentRequest,
    ) -> Result<pb::Invoice> {
        self.caller(&context).await?.require_scope(&[PAYMENTS])?;
        let mut v = Violations::default();
        v.require("invoice_id", &r.invoice_id);
        v.require("request_id", &r.request_id);
        if r.amount_minor <= 0 {
            v.add(
                "amount_minor",
                "must be greater than 0 (minor units of the invoice's currency)",
            );
        }
        check_text(&mut v, "reference", &r.reference, MAX_REFERENCE);
        v.finish().map_err(Error::invalid_fields)?;
        let hash = fingerprint(
            &pb::RecordPaymentRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        let payment_id = new_id("pay");
        let txn =
            match idempotency::begin(&self.db, "RecordPayment", &r.request_id, &hash, &payment_id)
                .await?
            {
                Begun::Fresh(txn) => txn,
                // A replay records nothing and returns the invoice as it is now.
                Begun::Replay(_) => {
                    return self
                        .invoice_to_proto(&store::find_invoice(&self.db, &r.invoice_id).await?)
                        .await;
                }
                Begun::Reused => return Err(Error::request_id_reused()),
            };
        store::lock_invoice(&txn, &r.invoice_id).await?;
        let before = store::find_invoice(&txn, &r.invoice_id).await?;
        let currency = currency_of(&before)?;
        let state = InvoiceState::parse(&before.state);
        let renewal = match &before.renewal_id {
            Some(renewal_id) => {
                store::lock_renewal(&txn, renewal_id).await?;
                Some(store::find_renewal(&txn, renewal_id).await?)
            }
            None => None,
        };
        let now = Utc::now();
        if let (InvoiceState::Open, Some(renewal)) = (state, &renewal) {
            renewal_rules::ensure_payable(renewal.renewal_date, now)?;
        }
        let amount = Money::new(r.amount_minor, currency);
        let paid = invoice_rules::apply_payment(
            state,
            Money::new(before.total_minor, currency),
            Money::new(before.paid_minor, currency),
            amount,
        )?;
        let reference = r.reference.trim().to_string();
        payment::ActiveModel {
            payment_id: Set(payment_id.clone()),
            invoice_id: Set(before.invoice_id.clone()),
            amount_minor: Set(amount.minor),
            reference: Set(reference.clone()),
            create_time: Set(now),
        }
        .insert(&txn)
        .await?;
        let mut row = before.clone().into_active_model();
        row.paid_minor = Set(paid.paid.minor);
        row.state = Set(paid.state.as_str().to_string());
        if paid.state == InvoiceState::Paid {
            row.paid_time = Set(Some(now));
        }
        row.update_time = Set(now);
        let after = row.update(&txn).await?;
        let change = Change {
            account_id: &after.account_id,
            action: "RecordPayment",
            resource_type: "invoice",
            resource_id: &after.invoice_id,
            before: Some(json!({ "state": before.state, "paid_minor": before.paid_minor })),
            after: Some(
                json!({ "state": after.state, "paid_minor": after.paid_minor, "payment_id": payment_id, "amount_minor": amount.minor, "reference": reference }),
            ),
        };
        audit::record(&txn, &context, change).await?;
        // B8: paying a renewal in full renews it; licensing refreshes its keys once this commits.
        let mut renewed = None;
        if let (InvoiceState::Paid, Some(renewal)) = (paid.state, renewal) {
            let mut next = renewal.clone().into_active_model();
            next.state = Set(RenewalState::Renewed.as_str().to_string());
            next.refresh_pending = Set(true);
            next.update_time = Set(now);
            next.update(&txn).await?;
            let change = Change {
                account_id: &renewal.account_id,
                action: "RenewalPaid",
                resource_type: "renewal",
                resource_id: &renewal.renewal_id,
                before: Some(json!({ "state": renewal.state })),
                after: Some(
                    json!({ "state": RenewalState::Renewed.as_str(), "refresh_pending": true }),
                ),
            };
            audit::record(&txn, &context, change).await?;
            renewed = Some(renewal.renewal_id);
        }
        txn.commit().await?;
        if let Some(renewal_id) = renewed {
            // The payment stands whatever happens here; the retry loop finishes a refresh licensing could not do.
            if let Err(e) = self.refresh_renewal(&context, &renewal_id).await {
                tracing::warn!(renewal_id = %renewal_id, error = %e, "refreshing the renewed keys failed; the retry loop completes it");
            }
        }
        self.invoice_to_proto(&after).await
    }

    pub(super) async fn void_invoice(
        &self,
        context: CallContext,
        r: pb::VoidInvoiceRequest,
    ) -> Result<pb::Invoice> {
        self.caller(&context).await?.require_scope(&[PAYMENTS])?;
        let mut v = Violations::default();
        v.require("invoice_id", &r.invoice_id);
        check_text(&mut v, "reason", &r.reason, MAX_REASON);
        v.finish().map_err(Error::invalid_fields)?;
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        store::lock_invoice(&txn, &r.invoice_id).await?;
        let before = store::find_invoice(&txn, &r.invoice_id).await?;
        let currency = currency_of(&before)?;
        if !invoice_rules::ensure_voidable(
            InvoiceState::parse(&before.state),
            Money::new(before.paid_minor, currency),
        )? {
            // Already void: unchanged.
            txn.rollback().await?;
            return self.invoice_to_proto(&before).await;
        }
        let now = Utc::now();
        let reason = r.reason.trim().to_string();
        let mut row = before.clone().into_active_model();
        row.state = Set(InvoiceState::Void.as_str().to_string());
        row.void_time = Set(Some(now));
        row.void_reason = Set(reason.clone());
        row.update_time = Set(now);
        let after = row.update(&txn).await?;
        let change = Change {
            account_id: &after.account_id,
            action: "VoidInvoice",
            resource_type: "invoice",
            resource_id: &after.invoice_id,
            before: Some(json!({ "state": before.state })),
            after: Some(json!({ "state": after.state, "void_reason": reason })),
        };
        audit::record(&txn, &context, change).await?;
        if let Some(renewal_id) = &before.renewal_id {
            // A voided renewal invoice cancels the renewal.
            store::lock_renewal(&txn, renewal_id).await?;
            let renewal = store::find_renewal(&txn, renewal_id).await?;
            let mut next = renewal.clone().into_active_model();
            next.state = Set(RenewalState::Cancelled.as_str().to_string());
            next.update_time = Set(now);
            next.update(&txn).await?;
            let change = Change {
                account_id: &renewal.account_id,
                action: "CancelRenewal",
                resource_type: "renewal",
                resource_id: &renewal.renewal_id,
                before: Some(json!({ "state": renewal.state })),
                after: Some(json!({ "state": RenewalState::Cancelled.as_str() })),
            };
            audit::record(&txn, &context, change).await?;
        }
        txn.commit().await?;
        self.invoice_to_proto(&after).await
    }

    pub(super) async fn render_invoice_pdf(
        &self,
        context: CallContext,
        r: pb::RenderInvoicePdfRequest,
    ) -> Result<pb::RenderInvoicePdfResponse> {
        let mut v = Violations::default();
        v.require("invoice_id", &r.invoice_id);
        v.finish().map_err(Error::invalid_fields)?;
        let caller = self.caller(&context).await?;
        let row = self.visible_invoice(&caller, &r.invoice_id).await?;
        caller.require_action(&row.account_id, Action::ViewInvoices, &[PAYMENTS, INTERNAL])?;
        let account = match self.identity.account(&row.account_id).await? {
            Some(account) => format!("{} ({})", account.name, row.account_id),
            None => row.account_id.clone(),
        };
        let ids = std::slice::from_ref(&row.invoice_id);
        let lines = store::lines_of(&self.db, ids)
            .await?
            .remove(&row.invoice_id)
            .unwrap_or_default();
        let payments = store::payments_of(&self.db, ids)
            .await?
            .remove(&row.invoice_id)
            .unwrap_or_default();
        let bytes = pdf::render(&printed(&row, &lines, &payments, account)?)?;
        Ok(pb::RenderInvoicePdfResponse {
            pdf: bytes,
            filename: format!("{}.pdf", row.number),
        })
    }
}
