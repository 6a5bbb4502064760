//! The payments table (B5): a payment recorded with the invoice's change, and each invoice's payments in order.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::entity::payment;
use crate::{
    domain::{Invoice, Money, Payment},
    error::Result,
};

pub async fn insert<C: ConnectionTrait>(db: &C, payment: &Payment) -> Result<()> {
    payment::ActiveModel {
        payment_id: Set(payment.payment_id.clone()),
        invoice_id: Set(payment.invoice_id.clone()),
        amount_minor: Set(payment.amount.minor),
        reference: Set(payment.reference.clone()),
        create_time: Set(payment.create_time),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The payments of each of `invoices`, oldest first (payment ids sort by creation time), in the invoice's
/// currency.
pub async fn of<C: ConnectionTrait>(
    db: &C,
    invoices: &[Invoice],
) -> Result<HashMap<String, Vec<Payment>>> {
    let owners = super::Owners::of(invoices);
    let rows = payment::Entity::find()
        .filter(payment::Column::InvoiceId.is_in(owners.ids()))
        .order_by_asc(payment::Column::PaymentId)
        .all(db)
        .await?;
    let payments = rows
        .into_iter()
        .map(|row| {
            let currency =
                owners.currency(&row.invoice_id, &format!("payment {}", row.payment_id))?;
            Ok((
                row.invoice_id.clone(),
                Payment {
                    amount: Money::new(row.amount_minor, currency),
                    payment_id: row.payment_id,
                    invoice_id: row.invoice_id,
                    reference: row.reference,
                    create_time: row.create_time,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(super::by_invoice(payments))
}
