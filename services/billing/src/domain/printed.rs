//! What an invoice prints (B7), formatted with integer arithmetic only: the account, the number and dates, the
//! lines, the totals and the status, with a closing note on payments, the balance due or why it is void. The
//! PDF itself is drawn from this by `crate::pdf`; the free text it prints was checked by `text`.

use chrono::{DateTime, Utc};

use super::{
    invoice::{Invoice, InvoiceState, Line, Payment},
    money::Money,
};
use crate::error::Result;

/// Everything printed on an invoice, already formatted.
#[derive(Debug, Clone, Default)]
pub struct PrintedInvoice {
    pub number: String,
    pub account: String,
    pub status: String,
    pub issued: String,
    pub due: String,
    pub currency: String,
    pub lines: Vec<PrintedLine>,
    /// Label and amount, e.g. `("Total", "1,234.56")`.
    pub totals: Vec<(String, String)>,
    /// Closing remarks: when it was paid, why it was voided.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PrintedLine {
    pub sku: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub amount: String,
}

fn day(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d").to_string()
}

/// B7: what the PDF of `invoice` prints, for `account` (its name and id).
pub fn b7_printed(
    invoice: &Invoice,
    lines: &[Line],
    payments: &[Payment],
    account: String,
) -> Result<PrintedInvoice> {
    let currency = invoice.currency;
    let money = |amount: Money| amount.amount_text();
    let balance = invoice.balance()?;
    let mut notes: Vec<String> = payments
        .iter()
        .map(|p| {
            format!(
                "Payment {} on {}: {currency} {}",
                p.reference,
                day(p.create_time),
                money(p.amount)
            )
        })
        .collect();
    notes.push(match invoice.state {
        InvoiceState::Open => format!(
            "Please pay {currency} {} by {}.",
            money(balance),
            day(invoice.due_time)
        ),
        InvoiceState::Paid => format!(
            "Paid in full{}. Thank you.",
            invoice
                .paid_time
                .map(|t| format!(" on {}", day(t)))
                .unwrap_or_default()
        ),
        InvoiceState::Void => format!(
            "Void{}: {}",
            invoice
                .void_time
                .map(|t| format!(" since {}", day(t)))
                .unwrap_or_default(),
            invoice.void_reason
        ),
    });
    let totals = invoice.totals;
    Ok(PrintedInvoice {
        number: invoice.number.clone(),
        account,
        status: invoice.state.as_str().to_string(),
        issued: day(invoice.issue_time),
        due: day(invoice.due_time),
        currency: currency.as_str().to_string(),
        lines: lines
            .iter()
            .map(|l| PrintedLine {
                sku: l.sku.clone(),
                description: l.description.clone(),
                quantity: l.quantity.to_string(),
                unit_price: money(l.unit_price),
                amount: money(l.amount),
            })
            .collect(),
        totals: vec![
            ("Subtotal".into(), money(totals.subtotal)),
            ("Tax".into(), money(totals.tax)),
            ("Total".into(), money(totals.total)),
            ("Paid".into(), money(invoice.paid)),
            ("Balance".into(), money(balance)),
        ],
        notes,
    })
}
