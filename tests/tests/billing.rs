//! BillingService end to end (B1–B10), over tonic against the real services, on SQLite and PostgreSQL: one module
//! per resource, and the fixtures they share.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

// One binary per suite, its modules in `billing/`: a crate root finds them there only through `#[path]`.
#[path = "billing/auto_renew.rs"]
mod auto_renew;
#[path = "billing/catalog.rs"]
mod catalog;
#[path = "billing/fulfilment.rs"]
mod fulfilment;
#[path = "billing/invoices.rs"]
mod invoices;
#[path = "billing/payments.rs"]
mod payments;
#[path = "billing/purchases.rs"]
mod purchases;
#[path = "billing/renewals.rs"]
mod renewals;
#[path = "billing/sites.rs"]
mod sites;

use std::time::Duration;

use portal_proto::{
    billing::{self as pb, PurchaseState},
    licensing as lic,
};
use portal_testkit::{
    clients::{Billing, Licensing},
    wait,
};

fn item(sku: &str, quantity: i32) -> pb::PurchaseItem {
    pb::PurchaseItem {
        sku: sku.into(),
        quantity,
    }
}

fn order(
    account_id: &str,
    items: Vec<pb::PurchaseItem>,
    request_id: &str,
) -> pb::CreatePurchaseRequest {
    pb::CreatePurchaseRequest {
        account_id: account_id.into(),
        items,
        request_id: request_id.into(),
    }
}

fn pay(invoice_id: &str, amount_minor: i64, request_id: &str) -> pb::RecordPaymentRequest {
    pb::RecordPaymentRequest {
        invoice_id: invoice_id.into(),
        amount_minor,
        reference: format!("psp-{request_id}"),
        request_id: request_id.into(),
    }
}

/// The catalog's unit price of `sku`, retired SKUs included.
async fn price(billing: &mut Billing, sku: &str) -> i64 {
    let catalog = billing
        .list_catalog(pb::ListCatalogRequest {
            show_inactive: true,
        })
        .await
        .unwrap()
        .into_inner();
    catalog
        .skus
        .iter()
        .find(|s| s.sku == sku)
        .unwrap_or_else(|| panic!("{sku} not in the catalog"))
        .unit_price_minor
}

async fn invoice(billing: &mut Billing, invoice_id: &str) -> pb::Invoice {
    billing
        .get_invoice(pb::GetInvoiceRequest {
            invoice_id: invoice_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Waits (up to 30 s) until the purchase leaves PENDING, and returns it.
async fn settled(billing: &mut Billing, purchase_id: &str) -> pb::Purchase {
    wait::until(
        &format!("purchase {purchase_id} to leave PENDING"),
        Duration::from_secs(30),
        async || {
            let purchase = billing
                .get_purchase(pb::GetPurchaseRequest {
                    purchase_id: purchase_id.into(),
                })
                .await
                .unwrap()
                .into_inner();
            if purchase.state() == PurchaseState::Pending {
                Err(purchase.state())
            } else {
                Ok(purchase)
            }
        },
    )
    .await
}

/// Every key of the account, as licensing lists them.
async fn keys_of(licensing: &mut Licensing, account_id: &str) -> Vec<lic::ProductKey> {
    let request = lic::ListKeysRequest {
        account_id: account_id.into(),
        page_size: 1000,
        page_token: String::new(),
    };
    licensing
        .list_keys(request)
        .await
        .unwrap()
        .into_inner()
        .keys
}
