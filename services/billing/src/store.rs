//! Persistence of the catalog, purchases, invoices, payments and renewals. "No row" becomes the domain's
//! not-found here, where it happens.

pub mod entity;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use portal_runtime::idempotency;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};

pub use entity::{invoice, invoice_counter, line, payment, purchase, renewal, sku};

use crate::{
    domain::{
        self, Currency, Family, Grant, InvoiceState, LicenseType, Money, Priced, Product,
        PurchaseState, Sku,
    },
    error::{Error, Result},
};

/// A JSON array of ids as stored in a text column.
pub fn to_json(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// The ids of a JSON array column; empty if it is not one.
pub fn from_json(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

// ---- catalog (B2) ----

/// The row of a SKU, as the catalog stores it.
pub fn sku_row(sku: &Sku, now: DateTime<Utc>) -> sku::ActiveModel {
    sku::ActiveModel {
        sku: Set(sku.code.clone()),
        description: Set(sku.description.trim().to_string()),
        unit_price_minor: Set(sku.unit_price.minor),
        currency: Set(sku.unit_price.currency.as_str().to_string()),
        product: Set(sku.grant.product.as_str().to_string()),
        family: Set(sku.grant.family.map(|f| f.as_str().to_string())),
        seats: Set(sku.grant.seats),
        license_type: Set(sku.grant.license_type.map(|t| t.as_str().to_string())),
        term_months: Set(sku.grant.term_months),
        maintenance_months: Set(sku.grant.maintenance_months),
        lblm_enabled: Set(sku.grant.lblm_enabled),
        active: Set(sku.active),
        revision: Set(0),
        create_time: Set(now),
        update_time: Set(now),
    }
}

/// The domain SKU of a stored row.
pub fn sku_of(row: &sku::Model) -> Result<Sku> {
    let corrupt = |what: &str| Error::internal(format!("stored SKU {} has a bad {what}", row.sku));
    let currency = Currency::parse("currency", &row.currency).map_err(|_| corrupt("currency"))?;
    let product = Product::parse(&row.product).ok_or_else(|| corrupt("product"))?;
    let family = row
        .family
        .as_deref()
        .map(|f| Family::parse(f).ok_or_else(|| corrupt("family")))
        .transpose()?;
    let license_type = row
        .license_type
        .as_deref()
        .map(|t| LicenseType::parse(t).ok_or_else(|| corrupt("license type")))
        .transpose()?;
    Ok(Sku {
        code: row.sku.clone(),
        description: row.description.clone(),
        unit_price: Money::new(row.unit_price_minor, currency),
        grant: Grant {
            product,
            family,
            seats: row.seats,
            license_type,
            term_months: row.term_months,
            maintenance_months: row.maintenance_months,
            lblm_enabled: row.lblm_enabled,
        },
        active: row.active,
    })
}

/// B2: adds the SKUs of the shipped catalog that are not in the table yet; existing rows (perhaps edited with
/// UpdateSku) are left alone. Safe to run from several replicas at once.
pub async fn seed_catalog(db: &DatabaseConnection, skus: &[Sku]) -> Result<usize> {
    let now = Utc::now();
    let mut added = 0;
    for sku in skus {
        if sku::Entity::find_by_id(sku.code.clone())
            .one(db)
            .await?
            .is_some()
        {
            continue;
        }
        match sku_row(sku, now).insert(db).await {
            Ok(_) => added += 1,
            Err(e) if idempotency::is_conflict(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(added)
}

pub async fn find_sku<C: ConnectionTrait>(db: &C, code: &str) -> Result<sku::Model> {
    sku::Entity::find_by_id(code.to_string())
        .one(db)
        .await?
        .ok_or(Error::SkuNotFound)
}

/// The catalog ordered by SKU code, retired SKUs only when asked.
pub async fn list_skus<C: ConnectionTrait>(
    db: &C,
    include_inactive: bool,
) -> Result<Vec<sku::Model>> {
    let mut query = sku::Entity::find();
    if !include_inactive {
        query = query.filter(sku::Column::Active.eq(true));
    }
    Ok(query.order_by_asc(sku::Column::Sku).all(db).await?)
}

/// The SKUs named in an order, by code (unknown codes are simply absent).
pub async fn skus_by_code<C: ConnectionTrait>(
    db: &C,
    codes: &[String],
) -> Result<HashMap<String, Sku>> {
    let rows = sku::Entity::find()
        .filter(sku::Column::Sku.is_in(codes.iter().cloned()))
        .all(db)
        .await?;
    rows.iter()
        .map(|row| -> Result<(String, Sku)> { Ok((row.sku.clone(), sku_of(row)?)) })
        .collect()
}

/// Takes the SKU row's lock as the transaction's first write; `false` if there is no such SKU.
pub async fn lock_sku<C: ConnectionTrait>(db: &C, code: &str) -> Result<bool> {
    let updated = sku::Entity::update_many()
        .col_expr(
            sku::Column::Revision,
            Expr::col(sku::Column::Revision).add(1),
        )
        .filter(sku::Column::Sku.eq(code))
        .exec(db)
        .await?;
    Ok(updated.rows_affected > 0)
}

// ---- purchases (B3) ----

pub async fn find_purchase<C: ConnectionTrait>(
    db: &C,
    purchase_id: &str,
) -> Result<purchase::Model> {
    purchase::Entity::find_by_id(purchase_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::PurchaseNotFound)
}

/// The oldest `limit` purchases still waiting for licensing.
pub async fn pending_purchases<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> Result<Vec<purchase::Model>> {
    Ok(purchase::Entity::find()
        .filter(purchase::Column::State.eq(PurchaseState::Pending.as_str()))
        // Least recently tried first (every attempt touches update_time): a backlog is served round-robin.
        .order_by_asc(purchase::Column::UpdateTime)
        .limit(limit)
        .all(db)
        .await?)
}

/// Counts a fulfilment attempt that found licensing unavailable.
pub async fn note_attempt<C: ConnectionTrait>(
    db: &C,
    purchase_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    purchase::Entity::update_many()
        .col_expr(
            purchase::Column::Attempts,
            Expr::col(purchase::Column::Attempts).add(1),
        )
        .col_expr(purchase::Column::UpdateTime, Expr::value(now))
        .filter(purchase::Column::PurchaseId.eq(purchase_id))
        .filter(purchase::Column::State.eq(PurchaseState::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// B3: PENDING → FULFILLED with what licensing issued; `false` if another attempt got there first, so the
/// transition (and its audit event) happens exactly once. The statement is its transaction's first write.
pub async fn complete_purchase<C: ConnectionTrait>(
    db: &C,
    purchase_id: &str,
    key_ids: &[String],
    codes: &[String],
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = purchase::Entity::update_many()
        .col_expr(
            purchase::Column::State,
            Expr::value(PurchaseState::Fulfilled.as_str()),
        )
        .col_expr(purchase::Column::KeyIds, Expr::value(to_json(key_ids)))
        .col_expr(
            purchase::Column::ElearningCodes,
            Expr::value(to_json(codes)),
        )
        .col_expr(purchase::Column::UpdateTime, Expr::value(now))
        .filter(purchase::Column::PurchaseId.eq(purchase_id))
        .filter(purchase::Column::State.eq(PurchaseState::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// B3: PENDING → FAILED with why; `false` if the purchase was no longer pending.
pub async fn fail_purchase<C: ConnectionTrait>(
    db: &C,
    purchase_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = purchase::Entity::update_many()
        .col_expr(
            purchase::Column::State,
            Expr::value(PurchaseState::Failed.as_str()),
        )
        .col_expr(purchase::Column::FailureReason, Expr::value(reason))
        .col_expr(purchase::Column::UpdateTime, Expr::value(now))
        .filter(purchase::Column::PurchaseId.eq(purchase_id))
        .filter(purchase::Column::State.eq(PurchaseState::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

// ---- invoices (B4, B5) ----

pub async fn find_invoice<C: ConnectionTrait>(db: &C, invoice_id: &str) -> Result<invoice::Model> {
    invoice::Entity::find_by_id(invoice_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::InvoiceNotFound)
}

/// Serialises payments and voids of one invoice: the transaction's first write takes the invoice row's lock
/// (PostgreSQL row lock, SQLite write lock), so balance checks cannot interleave (B5).
pub async fn lock_invoice<C: ConnectionTrait>(db: &C, invoice_id: &str) -> Result<()> {
    let updated = invoice::Entity::update_many()
        .col_expr(
            invoice::Column::Revision,
            Expr::col(invoice::Column::Revision).add(1),
        )
        .filter(invoice::Column::InvoiceId.eq(invoice_id))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        Err(Error::InvoiceNotFound)
    } else {
        Ok(())
    }
}

/// Voids the open, unpaid invoice of a purchase licensing refused (decision of the contract).
pub async fn void_unpaid<C: ConnectionTrait>(
    db: &C,
    invoice_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = invoice::Entity::update_many()
        .col_expr(
            invoice::Column::State,
            Expr::value(InvoiceState::Void.as_str()),
        )
        .col_expr(invoice::Column::VoidTime, Expr::value(Some(now)))
        .col_expr(invoice::Column::VoidReason, Expr::value(reason))
        .col_expr(invoice::Column::UpdateTime, Expr::value(now))
        .col_expr(
            invoice::Column::Revision,
            Expr::col(invoice::Column::Revision).add(1),
        )
        .filter(invoice::Column::InvoiceId.eq(invoice_id))
        .filter(invoice::Column::State.eq(InvoiceState::Open.as_str()))
        .filter(invoice::Column::PaidMinor.eq(0i64))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// B4: the next number of `year`, taken inside the issuing transaction. One upsert both creates the year's
/// counter and advances it, so concurrent first invoices of a year cannot collide; the counter row stays locked
/// until the transaction ends, and a rollback gives the number back: numbers have no gaps.
pub async fn next_invoice_number<C: ConnectionTrait>(db: &C, year: i32) -> Result<i64> {
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
pub async fn insert_invoice<C: ConnectionTrait>(
    db: &C,
    new: NewInvoice<'_>,
) -> Result<invoice::Model> {
    for (i, l) in new.priced.lines.iter().enumerate() {
        let grant_json =
            serde_json::to_string(&l.grant).map_err(|e| Error::internal(format!("grant: {e}")))?;
        line::ActiveModel {
            invoice_id: Set(new.invoice_id.to_string()),
            line_no: Set(i32::try_from(i).unwrap_or(i32::MAX)),
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
    let sequence = next_invoice_number(db, year).await?;
    let totals = new.priced.totals;
    let row = invoice::ActiveModel {
        invoice_id: Set(new.invoice_id.to_string()),
        number: Set(domain::invoice::number(year, sequence)),
        account_id: Set(new.account_id.to_string()),
        // Nothing to pay is paid (a free line must not leave an invoice open forever).
        state: Set(if totals.total.minor == 0 {
            InvoiceState::Paid
        } else {
            InvoiceState::Open
        }
        .as_str()
        .to_string()),
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
    Ok(row)
}

/// One page of an account's invoices, newest first, before invoice id `before` (ids sort by creation time).
pub async fn list_invoices<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    before: Option<&str>,
    limit: u64,
) -> Result<Vec<invoice::Model>> {
    let mut query = invoice::Entity::find().filter(invoice::Column::AccountId.eq(account_id));
    if let Some(before) = before {
        query = query.filter(invoice::Column::InvoiceId.lt(before));
    }
    Ok(query
        .order_by_desc(invoice::Column::InvoiceId)
        .limit(limit)
        .all(db)
        .await?)
}

/// The lines of each invoice, in order.
pub async fn lines_of<C: ConnectionTrait>(
    db: &C,
    invoice_ids: &[String],
) -> Result<HashMap<String, Vec<line::Model>>> {
    let rows = line::Entity::find()
        .filter(line::Column::InvoiceId.is_in(invoice_ids.iter().cloned()))
        .order_by_asc(line::Column::InvoiceId)
        .order_by_asc(line::Column::LineNo)
        .all(db)
        .await?;
    let mut map: HashMap<String, Vec<line::Model>> = HashMap::new();
    for row in rows {
        map.entry(row.invoice_id.clone()).or_default().push(row);
    }
    Ok(map)
}

/// What a stored line grants, as sold.
pub fn grant_of(row: &line::Model) -> Result<Grant> {
    serde_json::from_str(&row.grant_json)
        .map_err(|e| Error::internal(format!("line {} of {}: {e}", row.line_no, row.invoice_id)))
}

/// The payments of each invoice, oldest first (payment ids sort by creation time).
pub async fn payments_of<C: ConnectionTrait>(
    db: &C,
    invoice_ids: &[String],
) -> Result<HashMap<String, Vec<payment::Model>>> {
    let rows = payment::Entity::find()
        .filter(payment::Column::InvoiceId.is_in(invoice_ids.iter().cloned()))
        .order_by_asc(payment::Column::PaymentId)
        .all(db)
        .await?;
    let mut map: HashMap<String, Vec<payment::Model>> = HashMap::new();
    for row in rows {
        map.entry(row.invoice_id.clone()).or_default().push(row);
    }
    Ok(map)
}

// ---- renewals (B8) ----

pub async fn find_renewal<C: ConnectionTrait>(db: &C, renewal_id: &str) -> Result<renewal::Model> {
    renewal::Entity::find_by_id(renewal_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::RenewalNotFound)
}

pub async fn lock_renewal<C: ConnectionTrait>(db: &C, renewal_id: &str) -> Result<()> {
    let updated = renewal::Entity::update_many()
        .col_expr(
            renewal::Column::Revision,
            Expr::col(renewal::Column::Revision).add(1),
        )
        .filter(renewal::Column::RenewalId.eq(renewal_id))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        Err(Error::RenewalNotFound)
    } else {
        Ok(())
    }
}

/// The paging key of a renewal: soonest renewal date first, ties by id.
pub fn renewal_sort_key(renewal_date: DateTime<Utc>, renewal_id: &str) -> String {
    format!("{:012}|{renewal_id}", Ord::max(renewal_date.timestamp(), 0))
}

/// One page of an account's renewals, soonest renewal date first, after sort key `after`.
pub async fn list_renewals<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<renewal::Model>> {
    let mut query = renewal::Entity::find().filter(renewal::Column::AccountId.eq(account_id));
    if let Some(after) = after {
        query = query.filter(renewal::Column::SortKey.gt(after));
    }
    Ok(query
        .order_by_asc(renewal::Column::SortKey)
        .limit(limit)
        .all(db)
        .await?)
}

/// Paid renewals whose keys licensing has not refreshed yet.
pub async fn renewals_to_refresh<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> Result<Vec<renewal::Model>> {
    Ok(renewal::Entity::find()
        .filter(renewal::Column::RefreshPending.eq(true))
        .order_by_asc(renewal::Column::RenewalId)
        .limit(limit)
        .all(db)
        .await?)
}

/// B8: the keys of a paid renewal were refreshed (or refused, with why); `false` if another attempt finished
/// first. The statement is its transaction's first write.
pub async fn finish_refresh<C: ConnectionTrait>(
    db: &C,
    renewal_id: &str,
    error: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = renewal::Entity::update_many()
        .col_expr(renewal::Column::RefreshPending, Expr::value(false))
        .col_expr(renewal::Column::RefreshError, Expr::value(error))
        .col_expr(renewal::Column::UpdateTime, Expr::value(now))
        .filter(renewal::Column::RenewalId.eq(renewal_id))
        .filter(renewal::Column::RefreshPending.eq(true))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}
