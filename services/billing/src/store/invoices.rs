//! The invoices table with its lines and per-year counters (B4): issuing an invoice with a gapless number,
//! reading invoices and their lines back as domain types, and writing the changes a payment or a void makes
//! under the invoice row's lock.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use portal_runtime::db;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::NotSet,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::entity::{enums, invoice, invoice_counter, line};
use crate::{
    domain::{
        Invoice, InvoiceState, Line, Money, Priced,
        invoice::{self as rules, Totals},
    },
    error::{Error, Result},
};

fn invoice_of(row: invoice::Model) -> Result<Invoice> {
    let currency = super::currency(&row.currency, &format!("invoice {}", row.invoice_id))?;
    let money = |minor| Money::new(minor, currency);
    Ok(Invoice {
        state: row.state.into(),
        currency,
        totals: Totals {
            subtotal: money(row.subtotal_minor),
            tax: money(row.tax_minor),
            total: money(row.total_minor),
        },
        paid: money(row.paid_minor),
        invoice_id: row.invoice_id,
        number: row.number,
        account_id: row.account_id,
        purchase_id: row.purchase_id,
        renewal_id: row.renewal_id,
        issue_time: row.issue_time,
        due_time: row.due_time,
        paid_time: row.paid_time,
        void_time: row.void_time,
        void_reason: row.void_reason,
        update_time: row.update_time,
    })
}

pub async fn find<C: ConnectionTrait>(db: &C, invoice_id: &str) -> Result<Invoice> {
    invoice::Entity::find_by_id(invoice_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::InvoiceNotFound)
        .and_then(invoice_of)
}

/// Serialises payments and voids of one invoice: the transaction's first write takes the invoice row's lock
/// (PostgreSQL row lock, SQLite write lock), so balance checks cannot interleave (B5). Returns the invoice.
pub async fn lock<C: ConnectionTrait>(db: &C, invoice_id: &str) -> Result<Invoice> {
    db::lock_row::<invoice::Entity, _>(
        db,
        invoice::Column::InvoiceId,
        invoice::Column::Revision,
        invoice_id,
    )
    .await?
    .ok_or(Error::InvoiceNotFound)
    .and_then(invoice_of)
}

/// Writes what a payment or a void changes (state, amount paid, their times, the void reason).
pub async fn save<C: ConnectionTrait>(db: &C, invoice: &Invoice) -> Result<()> {
    invoice::ActiveModel {
        invoice_id: Set(invoice.invoice_id.clone()),
        state: Set(invoice.state.into()),
        paid_minor: Set(invoice.paid.minor),
        paid_time: Set(invoice.paid_time),
        void_time: Set(invoice.void_time),
        void_reason: Set(invoice.void_reason.clone()),
        update_time: Set(invoice.update_time),
        number: NotSet,
        account_id: NotSet,
        currency: NotSet,
        subtotal_minor: NotSet,
        tax_minor: NotSet,
        total_minor: NotSet,
        purchase_id: NotSet,
        renewal_id: NotSet,
        issue_time: NotSet,
        due_time: NotSet,
        revision: NotSet,
    }
    .update(db)
    .await?;
    Ok(())
}

/// B3: voids the open, unpaid invoice of a purchase licensing refused; `false` if it was paid or void already.
pub async fn void_unpaid<C: ConnectionTrait>(
    db: &C,
    invoice_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = invoice::Entity::update_many()
        .col_expr(
            invoice::Column::State,
            Expr::value(enums::InvoiceState::from(InvoiceState::Void)),
        )
        .col_expr(invoice::Column::VoidTime, Expr::value(Some(now)))
        .col_expr(invoice::Column::VoidReason, Expr::value(reason))
        .col_expr(invoice::Column::UpdateTime, Expr::value(now))
        .col_expr(
            invoice::Column::Revision,
            Expr::col(invoice::Column::Revision).add(1),
        )
        .filter(invoice::Column::InvoiceId.eq(invoice_id))
        .filter(invoice::Column::State.eq(enums::InvoiceState::Open))
        .filter(invoice::Column::PaidMinor.eq(0i64))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// B4: the next number of `year`, taken inside the issuing transaction. One upsert both creates the year's
/// counter and advances it, so concurrent first invoices of a year cannot collide; the counter row stays locked
/// until the transaction ends, and a rollback gives the number back: numbers have no gaps.
async fn next_number<C: ConnectionTrait>(db: &C, year: i32) -> Result<i64> {
    let first = invoice_counter::ActiveModel {
        year: Set(year),
        last_number: Set(1),
    };
    invoice_counter::Entity::insert(first)
        .on_conflict(
            OnConflict::column(invoice_counter::Column::Year)
                .value(
                    invoice_counter::Column::LastNumber,
                    Expr::col((invoice_counter::Entity, invoice_counter::Column::LastNumber))
                        .add(1),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let counter = invoice_counter::Entity::find_by_id(year)
        .one(db)
        .await?
        .ok_or_else(|| Error::internal("invoice counter vanished"))?;
    Ok(counter.last_number)
}

/// A new invoice to issue.
#[derive(Debug, Clone, Copy)]
pub struct NewInvoice<'a> {
    pub invoice_id: &'a str,
    pub account_id: &'a str,
    pub priced: &'a Priced,
    pub purchase_id: Option<&'a str>,
    pub renewal_id: Option<&'a str>,
    pub issue_time: DateTime<Utc>,
    pub due_time: DateTime<Utc>,
}

/// B4: writes the invoice's lines (immutable from here on), then — as late as possible in the transaction —
/// takes the year's next number and writes the invoice, so only the numbering is serialised.
pub async fn insert<C: ConnectionTrait>(db: &C, new: NewInvoice<'_>) -> Result<Invoice> {
    for (l, line_no) in new.priced.lines.iter().zip(0i32..) {
        let grant_json =
            serde_json::to_string(&l.grant).map_err(|e| Error::internal(format!("grant: {e}")))?;
        line::ActiveModel {
            invoice_id: Set(new.invoice_id.to_string()),
            line_no: Set(line_no),
            sku: Set(l.sku.clone()),
            description: Set(l.description.clone()),
            quantity: Set(l.quantity),
            unit_price_minor: Set(l.unit_price.minor),
            amount_minor: Set(l.amount.minor),
            grant_json: Set(grant_json),
        }
        .insert(db)
        .await?;
    }
    let year = new.issue_time.year();
    let sequence = next_number(db, year).await?;
    let totals = new.priced.totals;
    let row = invoice::ActiveModel {
        invoice_id: Set(new.invoice_id.to_string()),
        number: Set(rules::number(year, sequence)),
        account_id: Set(new.account_id.to_string()),
        state: Set(InvoiceState::issued(totals.total).into()),
        currency: Set(new.priced.currency.as_str().to_string()),
        subtotal_minor: Set(totals.subtotal.minor),
        tax_minor: Set(totals.tax.minor),
        total_minor: Set(totals.total.minor),
        paid_minor: Set(0),
        purchase_id: Set(new.purchase_id.map(str::to_string)),
        renewal_id: Set(new.renewal_id.map(str::to_string)),
        issue_time: Set(new.issue_time),
        due_time: Set(new.due_time),
        paid_time: Set(None),
        void_time: Set(None),
        void_reason: Set(String::new()),
        revision: Set(0),
        update_time: Set(new.issue_time),
    }
    .insert(db)
    .await?;
    invoice_of(row)
}

/// One page of an account's invoices, newest first, before invoice id `before` (ids sort by creation time).
pub async fn list<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    before: Option<&str>,
    limit: u64,
) -> Result<Vec<Invoice>> {
    let mut query = invoice::Entity::find().filter(invoice::Column::AccountId.eq(account_id));
    if let Some(before) = before {
        query = query.filter(invoice::Column::InvoiceId.lt(before));
    }
    let query = query.order_by_desc(invoice::Column::InvoiceId).limit(limit);
    super::read_all(db, query, invoice_of).await
}

/// The lines of each of `invoices`, in order (B4: as sold, with what each grants).
pub async fn lines_of<C: ConnectionTrait>(
    db: &C,
    invoices: &[Invoice],
) -> Result<HashMap<String, Vec<Line>>> {
    let owners = super::Owners::of(invoices);
    let rows = line::Entity::find()
        .filter(line::Column::InvoiceId.is_in(owners.ids()))
        .order_by_asc(line::Column::InvoiceId)
        .order_by_asc(line::Column::LineNo)
        .all(db)
        .await?;
    let lines = rows
        .into_iter()
        .map(|row| {
            let what = format!("line {}", row.line_no);
            let currency = owners.currency(&row.invoice_id, &what)?;
            let corrupt = |e: serde_json::Error| {
                Error::internal(format!("{what} of {}: {e}", row.invoice_id))
            };
            let grant = serde_json::from_str(&row.grant_json).map_err(corrupt)?;
            let line = Line {
                unit_price: Money::new(row.unit_price_minor, currency),
                amount: Money::new(row.amount_minor, currency),
                grant,
                sku: row.sku,
                description: row.description,
                quantity: row.quantity,
            };
            Ok((row.invoice_id, (row.line_no, line)))
        })
        .collect::<Result<Vec<_>>>()?;
    super::by_invoice(lines)
        .into_iter()
        .map(|(invoice_id, numbered)| {
            // Lines are numbered 0, 1, … as issued: a gap is corrupt data, not something to skip over.
            let in_order = numbered.iter().zip(0i32..).all(|((n, _), i)| *n == i);
            if !in_order {
                return Err(Error::internal(format!(
                    "the lines of invoice {invoice_id} are not numbered in sequence"
                )));
            }
            Ok((invoice_id, numbered.into_iter().map(|(_, l)| l).collect()))
        })
        .collect()
}
