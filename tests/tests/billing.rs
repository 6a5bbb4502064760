//! BillingService end to end (B1–B8), over tonic against the real services, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use std::time::Duration;

use chrono::{Datelike, Months, TimeDelta, Timelike, Utc};
use portal_proto::{
    billing::{self as pb, InvoiceState, PurchaseState, RenewalState},
    common::{KeyFamily, LicenseType, Product},
    identity::Role,
    licensing as lic,
};
use portal_runtime::{
    error::{reason_of, violations_of},
    time::to_proto,
};
use portal_testkit::{ServiceKind, TestApp, clients::Billing, storage_test};
use prost_types::FieldMask;
use tonic::Code;

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

fn assert_status(result: Result<impl std::fmt::Debug, tonic::Status>, code: Code, reason: &str) {
    let status = result.expect_err("expected an error");
    assert_eq!(
        (status.code(), reason_of(&status).as_deref()),
        (code, Some(reason)),
        "{status:?}"
    );
}

/// The status is INVALID_ARGUMENT with `reason` and a violation of `field`.
fn assert_invalid(result: Result<impl std::fmt::Debug, tonic::Status>, reason: &str, field: &str) {
    let status = result.expect_err("expected an error");
    assert_eq!(
        (status.code(), reason_of(&status).as_deref()),
        (Code::InvalidArgument, Some(reason)),
        "{status:?}"
    );
    assert!(
        violations_of(&status).iter().any(|v| v.field == field),
        "{field}: {:?}",
        violations_of(&status)
    );
}

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

/// Polls until the purchase leaves PENDING (bounded: 30 s).
async fn settled(billing: &mut Billing, purchase_id: &str) -> pb::Purchase {
    for _ in 0..150 {
        let purchase = billing
            .get_purchase(pb::GetPurchaseRequest {
                purchase_id: purchase_id.into(),
            })
            .await
            .unwrap()
            .into_inner();
        if purchase.state() != PurchaseState::Pending {
            return purchase;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("purchase {purchase_id} still pending after 30 s");
}

async fn keys_of(
    licensing: &mut portal_testkit::clients::Licensing,
    account_id: &str,
) -> Vec<lic::ProductKey> {
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

storage_test!(
    b2_catalog_lists_skus_and_a_service_edits_them_without_touching_issued_invoices,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut admin = app.billing(&admin_token).await;
        let catalog = admin
            .list_catalog(pb::ListCatalogRequest::default())
            .await
            .unwrap()
            .into_inner()
            .skus;
        let codes: Vec<&str> = catalog.iter().map(|s| s.sku.as_str()).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(codes, sorted, "ordered by SKU");
        let creator = catalog.iter().find(|s| s.sku == "CREATOR-TERM-1Y").unwrap();
        let grant = creator.grant.as_ref().unwrap();
        assert_eq!(
            (
                grant.family(),
                grant.license_type(),
                grant.term_months,
                grant.lblm_enabled
            ),
            (KeyFamily::Tc, LicenseType::Term, 12, true)
        );
        assert_eq!(creator.currency, "USD");
        let elearning = catalog
            .iter()
            .find(|s| s.grant.as_ref().unwrap().product() == Product::Elearning)
            .unwrap();
        assert_eq!(
            elearning.grant.as_ref().unwrap().family(),
            KeyFamily::Unspecified
        );
        // Any authenticated caller may read the catalog.
        let mut other = app
            .billing(&app.service_token("storefront", "internal"))
            .await;
        assert_eq!(
            other
                .list_catalog(pb::ListCatalogRequest::default())
                .await
                .unwrap()
                .into_inner()
                .skus
                .len(),
            catalog.len()
        );

        // An invoice keeps the price it was issued with (B4).
        let old_price = price(&mut admin, "DESKTOP-TERM-1Y").await;
        let before = admin
            .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 1)], "p-1"))
            .await
            .unwrap()
            .into_inner();
        let edit = |sku: pb::Sku, paths: &[&str]| pb::UpdateSkuRequest {
            sku: Some(sku),
            update_mask: Some(FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
            allow_missing: false,
        };
        let repriced = pb::Sku {
            sku: "DESKTOP-TERM-1Y".into(),
            unit_price_minor: old_price + 10_000,
            ..Default::default()
        };
        assert_status(
            admin
                .update_sku(edit(repriced.clone(), &["unit_price_minor"]))
                .await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );
        let mut pricing = app
            .billing(&app.service_token("pricing", "billing.catalog"))
            .await;
        let updated = pricing
            .update_sku(edit(repriced.clone(), &["unit_price_minor"]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (updated.unit_price_minor, updated.description.is_empty()),
            (old_price + 10_000, false),
            "only the masked field changes"
        );
        assert_eq!(
            invoice(&mut admin, &before.invoice_id).await.lines[0].unit_price_minor,
            old_price
        );
        let after = admin
            .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 1)], "p-2"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            invoice(&mut admin, &after.invoice_id).await.lines[0].unit_price_minor,
            old_price + 10_000
        );

        // Bad edits are refused with field violations; unknown SKUs are not found unless created.
        let negative = pb::Sku {
            unit_price_minor: -1,
            ..repriced.clone()
        };
        assert_invalid(
            pricing
                .update_sku(edit(negative, &["unit_price_minor"]))
                .await,
            "INVALID_FIELD",
            "sku.unit_price_minor",
        );
        assert_invalid(
            pricing.update_sku(edit(repriced.clone(), &["sku"])).await,
            "INVALID_FIELD",
            "update_mask",
        );
        let bad_currency = pb::Sku {
            currency: "usd".into(),
            ..repriced.clone()
        };
        assert_invalid(
            pricing.update_sku(edit(bad_currency, &["currency"])).await,
            "INVALID_FIELD",
            "sku.currency",
        );
        let new_sku = pb::Sku {
            sku: "TRAINING-DAY".into(),
            description: "Training day voucher".into(),
            unit_price_minor: 150_000,
            currency: "EUR".into(),
            grant: Some(pb::SkuGrant {
                product: Product::Elearning as i32,
                seats: 5,
                maintenance_months: 12,
                ..Default::default()
            }),
            active: true,
            update_time: None,
        };
        assert_status(
            pricing.update_sku(edit(new_sku.clone(), &[])).await,
            Code::NotFound,
            "SKU_NOT_FOUND",
        );
        let created = pricing
            .update_sku(pb::UpdateSkuRequest {
                sku: Some(new_sku.clone()),
                update_mask: None,
                allow_missing: true,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!((created.currency.as_str(), created.active), ("EUR", true));
        let inconsistent = pb::Sku {
            grant: Some(pb::SkuGrant {
                product: Product::Server as i32,
                family: KeyFamily::Tc as i32,
                seats: 1,
                license_type: LicenseType::Term as i32,
                term_months: 12,
                maintenance_months: 12,
                lblm_enabled: false,
            }),
            ..new_sku.clone()
        };
        assert_invalid(
            pricing.update_sku(edit(inconsistent, &["grant"])).await,
            "INVALID_FIELD",
            "sku.grant.family",
        );
        // Retired SKUs stay listed on request only.
        pricing
            .update_sku(edit(
                pb::Sku {
                    sku: "TRAINING-DAY".into(),
                    active: false,
                    ..Default::default()
                },
                &["active"],
            ))
            .await
            .unwrap();
        let listed = admin
            .list_catalog(pb::ListCatalogRequest::default())
            .await
            .unwrap()
            .into_inner()
            .skus;
        assert!(!listed.iter().any(|s| s.sku == "TRAINING-DAY"));
        let all = admin
            .list_catalog(pb::ListCatalogRequest {
                show_inactive: true,
            })
            .await
            .unwrap()
            .into_inner()
            .skus;
        assert!(all.iter().any(|s| s.sku == "TRAINING-DAY" && !s.active));
    }
);

storage_test!(
    b3_a_purchase_invoices_and_has_licensing_issue_keys_and_codes_once,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut admin = app.billing(&admin_token).await;
        let request = order(
            &a,
            vec![
                item("CREATOR-TERM-1Y", 3),
                item("SERVER-TERM-1Y", 1),
                item("ELEARNING-1Y", 2),
            ],
            "po-1",
        );
        let purchase = admin
            .create_purchase(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            purchase.state(),
            PurchaseState::Fulfilled,
            "{:?}",
            purchase.failure_reason
        );
        assert_eq!(
            (purchase.key_ids.len(), purchase.elearning_codes.len()),
            (2, 2)
        );
        assert_eq!(purchase.items, request.items);

        let expected = 3 * price(&mut admin, "CREATOR-TERM-1Y").await
            + price(&mut admin, "SERVER-TERM-1Y").await
            + 2 * price(&mut admin, "ELEARNING-1Y").await;
        let bill = invoice(&mut admin, &purchase.invoice_id).await;
        assert!(
            bill.number
                .starts_with(&format!("INV-{}-", Utc::now().year())),
            "{}",
            bill.number
        );
        assert_eq!(
            (bill.state(), bill.currency.as_str(), bill.lines.len()),
            (InvoiceState::Open, "USD", 3)
        );
        assert_eq!(
            (
                bill.subtotal_minor,
                bill.tax_minor,
                bill.total_minor,
                bill.balance_minor
            ),
            (expected, 0, expected, expected)
        );
        assert_eq!(
            bill.lines[0].amount_minor,
            3 * bill.lines[0].unit_price_minor
        );
        assert_eq!(bill.purchase_id, purchase.purchase_id);

        // The keys are in licensing, for the account and the purchase.
        let mut internal = app
            .licensing(&app.service_token("support", "internal"))
            .await;
        let mut families = Vec::new();
        for key_id in &purchase.key_ids {
            let key = internal
                .get_key(lic::GetKeyRequest {
                    key_id: key_id.clone(),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(
                (key.account_id.as_str(), key.purchase_id.as_str()),
                (a.as_str(), purchase.purchase_id.as_str())
            );
            assert!(
                key.period_end.as_ref().unwrap().seconds
                    > (Utc::now() + TimeDelta::days(360)).timestamp()
            );
            if key.family() == KeyFamily::Tc {
                assert_eq!(
                    (key.seats, key.lblm_enabled, key.license_type()),
                    (3, true, LicenseType::Term)
                );
            }
            families.push(key.family());
        }
        families.sort();
        assert_eq!(families, [KeyFamily::Tc, KeyFamily::Ts]);

        // The same request again is the same purchase; the id with other content is refused.
        let again = admin
            .create_purchase(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (again.purchase_id.as_str(), again.key_ids.clone()),
            (purchase.purchase_id.as_str(), purchase.key_ids.clone())
        );
        assert_eq!(keys_of(&mut internal, &a).await.len(), 2);
        let reused = order(&a, vec![item("CREATOR-TERM-1Y", 4)], "po-1");
        assert_status(
            admin.create_purchase(reused).await,
            Code::InvalidArgument,
            "REQUEST_ID_REUSED",
        );
        let listed = admin
            .list_invoices(pb::ListInvoicesRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.invoices.len(), 1);
        let fetched = admin
            .get_purchase(pb::GetPurchaseRequest {
                purchase_id: purchase.purchase_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(fetched.invoice_id, purchase.invoice_id);
    }
);

storage_test!(
    b3_racing_replays_make_one_purchase_one_invoice_and_one_set_of_keys,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let admin = app.billing(&admin_token).await;
        let request = order(
            &a,
            vec![item("DESKTOP-TERM-1Y", 2), item("SERVER-TERM-1Y", 1)],
            "race-1",
        );
        let calls = (0..8).map(|_| {
            let mut client = admin.clone();
            let request = request.clone();
            async move { client.create_purchase(request).await }
        });
        let results = futures::future::join_all(calls).await;
        let mut ids: Vec<String> = results
            .into_iter()
            .map(|r| r.unwrap().into_inner().purchase_id)
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 1, "{ids:?}");
        let mut admin = admin.clone();
        let purchase = settled(&mut admin, &ids[0]).await;
        assert_eq!(
            (purchase.state(), purchase.key_ids.len()),
            (PurchaseState::Fulfilled, 2)
        );
        let invoices = admin
            .list_invoices(pb::ListInvoicesRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .invoices;
        assert_eq!(invoices.len(), 1);
        let mut internal = app
            .licensing(&app.service_token("support", "internal"))
            .await;
        let keys = keys_of(&mut internal, &a).await;
        assert_eq!(keys.len(), 2, "one set of keys");
        assert!(keys.iter().all(|k| k.purchase_id == purchase.purchase_id));
    }
);

storage_test!(
    b3_purchases_made_while_licensing_is_down_complete_when_it_returns,
    |backend| async move {
        // Identity, licensing and billing in three processes sharing one deployment; licensing on a fixed port so it
        // can stop and come back at the same address.
        let reserved = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let licensing_url = format!("http://{reserved}");
        let core = TestApp::spawn_with(backend, &[ServiceKind::Identity], |s| {
            s.peers.licensing = Some(licensing_url.clone())
        })
        .await;
        let identity_url = format!("http://{}", core.address);
        let mut licensing = core
            .spawn_sharing(&[ServiceKind::Licensing], |s| {
                s.listen = reserved;
                s.peers.identity = Some(identity_url.clone());
            })
            .await;
        let billing = core
            .spawn_sharing(&[ServiceKind::Billing], |s| {
                s.peers.identity = Some(identity_url.clone());
                s.peers.licensing = Some(licensing_url.clone());
                s.server.client_timeout_ms = 2_000;
            })
            .await;
        let (a, _, admin_token) = core.account_with_admin("Acme").await;
        let mut admin = billing.billing(&admin_token).await;

        licensing.shutdown().await;
        let request = order(
            &a,
            vec![item("DESKTOP-TERM-1Y", 1), item("SERVER-TERM-1Y", 2)],
            "while-down",
        );
        let pending = admin
            .create_purchase(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(pending.state(), PurchaseState::Pending);
        assert!(pending.key_ids.is_empty());
        assert_eq!(
            invoice(&mut admin, &pending.invoice_id).await.state(),
            InvoiceState::Open,
            "invoiced all the same"
        );
        let replay = admin
            .create_purchase(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(replay.purchase_id, pending.purchase_id);
        // A second order is cancelled (its invoice voided) while it waits: it must never be fulfilled.
        let cancelled = admin
            .create_purchase(order(&a, vec![item("SERVER-TERM-1Y", 1)], "cancelled"))
            .await
            .unwrap()
            .into_inner();
        let mut payments = billing
            .billing(&billing.service_token("finance", "billing.payments"))
            .await;
        payments
            .void_invoice(pb::VoidInvoiceRequest {
                invoice_id: cancelled.invoice_id.clone(),
                reason: "customer cancelled".into(),
            })
            .await
            .unwrap();

        let back = core
            .spawn_sharing(&[ServiceKind::Licensing], |s| {
                s.listen = reserved;
                s.peers.identity = Some(identity_url.clone());
            })
            .await;
        let done = settled(&mut admin, &pending.purchase_id).await;
        assert_eq!(
            (done.state(), done.key_ids.len()),
            (PurchaseState::Fulfilled, 2)
        );
        let refused = settled(&mut admin, &cancelled.purchase_id).await;
        assert_eq!(
            (refused.state(), refused.key_ids.len()),
            (PurchaseState::Failed, 0),
            "nothing is issued against a void invoice"
        );
        let mut internal = back
            .licensing(&back.service_token("support", "internal"))
            .await;
        let keys = keys_of(&mut internal, &a).await;
        assert_eq!(keys.len(), 2, "exactly one set of keys");
        let mut ids: Vec<String> = keys.into_iter().map(|k| k.key_id).collect();
        ids.sort();
        let mut fulfilled = done.key_ids.clone();
        fulfilled.sort();
        assert_eq!(ids, fulfilled);
        // Later passes of the retry loop change nothing.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(keys_of(&mut internal, &a).await.len(), 2);
        assert_eq!(
            admin
                .create_purchase(request)
                .await
                .unwrap()
                .into_inner()
                .key_ids,
            done.key_ids
        );
    }
);

storage_test!(
    b4_invoice_numbers_have_no_gaps_under_concurrent_purchases,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, _) = app.account_with_admin("Acme").await;
        let buyer = app
            .billing(&app.service_token("storefront", "billing.payments"))
            .await;
        let calls = (0..32).map(|i| {
            let mut client = buyer.clone();
            let request = order(
                &a,
                vec![item("VIEWER-TERM-1Y", 1 + i % 3)],
                &format!("parallel-{i}"),
            );
            async move { client.create_purchase(request).await }
        });
        let purchases: Vec<pb::Purchase> = futures::future::join_all(calls)
            .await
            .into_iter()
            .map(|r| r.unwrap().into_inner())
            .collect();
        let mut reader = buyer.clone();
        let mut numbers = Vec::new();
        for purchase in &purchases {
            let number = invoice(&mut reader, &purchase.invoice_id).await.number;
            let (prefix, sequence) = number.rsplit_once('-').unwrap();
            assert_eq!(prefix, format!("INV-{}", Utc::now().year()));
            assert_eq!(sequence.len(), 6, "{number}");
            numbers.push(sequence.parse::<i64>().unwrap());
        }
        numbers.sort();
        // A fresh database: the year's numbering starts at 1.
        assert_eq!(
            numbers,
            (1..=32).collect::<Vec<i64>>(),
            "contiguous from 000001, no gaps, no duplicates"
        );
    }
);

storage_test!(
    b5_payments_partial_overpaid_paid_and_voided,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut admin = app.billing(&admin_token).await;
        let purchase = admin
            .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 2)], "p-1"))
            .await
            .unwrap()
            .into_inner();
        let total = invoice(&mut admin, &purchase.invoice_id).await.total_minor;
        let id = purchase.invoice_id.clone();
        let mut processor = app
            .billing(&app.service_token("processor", "billing.payments"))
            .await;

        // Only the payment processor records payments.
        assert_status(
            admin.record_payment(pay(&id, 1000, "x")).await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );
        let partial = processor
            .record_payment(pay(&id, 1000, "pay-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (
                partial.state(),
                partial.paid_minor,
                partial.balance_minor,
                partial.payments.len()
            ),
            (InvoiceState::Open, 1000, total - 1000, 1)
        );
        let replay = processor
            .record_payment(pay(&id, 1000, "pay-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (replay.paid_minor, replay.payments.len()),
            (1000, 1),
            "a replay records nothing"
        );
        assert_status(
            processor.record_payment(pay(&id, 2000, "pay-1")).await,
            Code::InvalidArgument,
            "REQUEST_ID_REUSED",
        );
        assert_status(
            processor
                .record_payment(pay(&id, total - 1000 + 1, "pay-2"))
                .await,
            Code::FailedPrecondition,
            "OVERPAYMENT",
        );
        assert_invalid(
            processor.record_payment(pay(&id, 0, "pay-3")).await,
            "INVALID_FIELD",
            "amount_minor",
        );
        assert_invalid(
            processor.record_payment(pay(&id, -500, "pay-4")).await,
            "INVALID_FIELD",
            "amount_minor",
        );
        assert_invalid(
            processor
                .record_payment(pb::RecordPaymentRequest {
                    reference: " ".into(),
                    ..pay(&id, 1, "pay-5")
                })
                .await,
            "INVALID_FIELD",
            "reference",
        );
        assert_status(
            processor.record_payment(pay("inv-nope", 1, "pay-6")).await,
            Code::NotFound,
            "INVOICE_NOT_FOUND",
        );
        let void = |invoice_id: &str, reason: &str| pb::VoidInvoiceRequest {
            invoice_id: invoice_id.into(),
            reason: reason.into(),
        };
        assert_status(
            processor.void_invoice(void(&id, "changed mind")).await,
            Code::FailedPrecondition,
            "INVOICE_HAS_PAYMENTS",
        );

        let paid = processor
            .record_payment(pay(&id, total - 1000, "pay-7"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (paid.state(), paid.balance_minor, paid.paid_minor),
            (InvoiceState::Paid, 0, total)
        );
        assert!(paid.paid_time.is_some());
        assert_status(
            processor.record_payment(pay(&id, 1, "pay-8")).await,
            Code::FailedPrecondition,
            "INVOICE_NOT_OPEN",
        );
        assert_status(
            processor.void_invoice(void(&id, "too late")).await,
            Code::FailedPrecondition,
            "INVOICE_NOT_OPEN",
        );

        // An unpaid invoice is voided, once; its lines stay as issued and nothing more is owed.
        let other = admin
            .create_purchase(order(&a, vec![item("SERVER-TERM-1Y", 1)], "p-2"))
            .await
            .unwrap()
            .into_inner();
        assert_invalid(
            processor.void_invoice(void(&other.invoice_id, "")).await,
            "INVALID_FIELD",
            "reason",
        );
        assert_status(
            admin.void_invoice(void(&other.invoice_id, "mistake")).await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );
        let voided = processor
            .void_invoice(void(&other.invoice_id, "customer cancelled"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (
                voided.state(),
                voided.balance_minor,
                voided.void_reason.as_str(),
                voided.lines.len()
            ),
            (InvoiceState::Void, 0, "customer cancelled", 1)
        );
        let again = processor
            .void_invoice(void(&other.invoice_id, "again"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (again.state(), again.void_reason.as_str()),
            (InvoiceState::Void, "customer cancelled"),
            "unchanged"
        );
        assert_status(
            processor
                .record_payment(pay(&other.invoice_id, 1, "pay-9"))
                .await,
            Code::FailedPrecondition,
            "INVOICE_NOT_OPEN",
        );
    }
);

storage_test!(
    b6_only_portal_administrators_see_invoices_purchase_and_pay,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let member = app
            .new_user(&a, "dl@acme.example", Role::DownloadOnly, &[])
            .await;
        let (_, _, stranger_token) = app.account_with_admin("Beta").await;
        let mut admin = app.billing(&admin_token).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(
                admin
                    .create_purchase(order(
                        &a,
                        vec![item("VIEWER-TERM-1Y", 1)],
                        &format!("p-{i}"),
                    ))
                    .await
                    .unwrap()
                    .into_inner(),
            );
        }
        let invoice_id = ids[0].invoice_id.clone();
        for token in [app.user_token(&member.user_id), stranger_token] {
            let mut other = app.billing(&token).await;
            let denied = |r: Result<tonic::Response<pb::Invoice>, tonic::Status>| {
                assert_status(r, Code::PermissionDenied, "ACCESS_DENIED")
            };
            denied(
                other
                    .get_invoice(pb::GetInvoiceRequest {
                        invoice_id: invoice_id.clone(),
                    })
                    .await,
            );
            denied(
                other
                    .get_invoice(pb::GetInvoiceRequest {
                        invoice_id: "inv-nope".into(),
                    })
                    .await,
            );
            let list = other
                .list_invoices(pb::ListInvoicesRequest {
                    account_id: a.clone(),
                    ..Default::default()
                })
                .await;
            assert_status(list, Code::PermissionDenied, "ACCESS_DENIED");
            let buy = other
                .create_purchase(order(&a, vec![item("VIEWER-TERM-1Y", 1)], "sneaky"))
                .await;
            assert_status(buy, Code::PermissionDenied, "ACCESS_DENIED");
            let get = other
                .get_purchase(pb::GetPurchaseRequest {
                    purchase_id: ids[0].purchase_id.clone(),
                })
                .await;
            assert_status(get, Code::PermissionDenied, "ACCESS_DENIED");
            let pdf = other
                .render_invoice_pdf(pb::RenderInvoicePdfRequest {
                    invoice_id: invoice_id.clone(),
                })
                .await;
            assert_status(pdf, Code::PermissionDenied, "ACCESS_DENIED");
            let renewals = other
                .list_renewals(pb::ListRenewalsRequest {
                    account_id: a.clone(),
                    ..Default::default()
                })
                .await;
            assert_status(renewals, Code::PermissionDenied, "ACCESS_DENIED");
        }
        // The Administrator pages through the account's invoices, newest first.
        let page = |token: &str| pb::ListInvoicesRequest {
            account_id: a.clone(),
            page_size: 2,
            page_token: token.into(),
        };
        let first = admin.list_invoices(page("")).await.unwrap().into_inner();
        assert_eq!(
            first
                .invoices
                .iter()
                .map(|i| i.invoice_id.as_str())
                .collect::<Vec<_>>(),
            [ids[2].invoice_id.as_str(), ids[1].invoice_id.as_str()]
        );
        assert!(!first.next_page_token.is_empty());
        let second = admin
            .list_invoices(page(&first.next_page_token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            second
                .invoices
                .iter()
                .map(|i| i.invoice_id.as_str())
                .collect::<Vec<_>>(),
            [ids[0].invoice_id.as_str()]
        );
        assert!(second.next_page_token.is_empty());
        assert_invalid(
            admin
                .list_invoices(pb::ListInvoicesRequest {
                    account_id: a.clone(),
                    page_size: -1,
                    ..Default::default()
                })
                .await,
            "INVALID_FIELD",
            "page_size",
        );
        // Other services of the suite may read them too.
        let mut internal = app.billing(&app.service_token("support", "internal")).await;
        assert_eq!(
            internal
                .list_invoices(page(""))
                .await
                .unwrap()
                .into_inner()
                .invoices
                .len(),
            2
        );
    }
);

storage_test!(
    b7_invoices_render_to_a_pdf_that_parses_and_shows_the_number,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut admin = app.billing(&admin_token).await;
        let purchase = admin
            .create_purchase(order(
                &a,
                vec![item("CREATOR-TERM-1Y", 2), item("ELEARNING-1Y", 1)],
                "p-1",
            ))
            .await
            .unwrap()
            .into_inner();
        let number = invoice(&mut admin, &purchase.invoice_id).await.number;
        let rendered = admin
            .render_invoice_pdf(pb::RenderInvoicePdfRequest {
                invoice_id: purchase.invoice_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rendered.filename, format!("{number}.pdf"));
        assert!(rendered.pdf.starts_with(b"%PDF-"));
        let doc = lopdf::Document::load_mem(&rendered.pdf).unwrap();
        assert_eq!(doc.get_pages().len(), 1);
        let text = doc.extract_text(&[1]).unwrap();
        for expected in [
            number.as_str(),
            "Acme",
            "OPEN",
            "CREATOR-TERM-1Y",
            "ELEARNING-1Y",
            "Total",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text:?}");
        }
    }
);

storage_test!(
    b8_renewals_pay_within_the_window_refresh_keys_and_lock_auto_renew,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let (b, _, admin_b) = app.account_with_admin("Beta").await;
        let member = app
            .new_user(&a, "dl@acme.example", Role::DownloadOnly, &[])
            .await;
        let mut admin = app.billing(&admin_token).await;
        let bought = admin
            .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 1)], "p-1"))
            .await
            .unwrap()
            .into_inner();
        let key_id = bought.key_ids[0].clone();
        let foreign = app
            .billing(&admin_b)
            .await
            .create_purchase(order(&b, vec![item("DESKTOP-TERM-1Y", 1)], "p-beta-1"))
            .await
            .unwrap()
            .into_inner();
        let mut scheduler = app
            .billing(&app.service_token("renewals", "billing.payments"))
            .await;
        let now = Utc::now().with_nanosecond(0).unwrap();
        let renew = |keys: Vec<String>, date: chrono::DateTime<Utc>, request_id: &str| {
            pb::CreateRenewalInvoiceRequest {
                account_id: a.clone(),
                key_ids: keys,
                renewal_date: Some(to_proto(date)),
                request_id: request_id.into(),
                items: vec![item("DESKTOP-TERM-1Y", 1)],
                term_months: 0,
            }
        };

        let date = now + TimeDelta::days(30);
        let soon = scheduler
            .create_renewal_invoice(renew(vec![key_id.clone()], date, "r-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (soon.state(), soon.auto_renew, soon.term_months),
            (RenewalState::Open, true, 12)
        );
        assert_eq!(
            soon.payment_window_start_time.unwrap().seconds,
            date.checked_sub_months(Months::new(4)).unwrap().timestamp()
        );
        assert_eq!(
            soon.auto_renew_lock_time.unwrap().seconds,
            (date - TimeDelta::days(7)).timestamp()
        );
        let replay = scheduler
            .create_renewal_invoice(renew(vec![key_id.clone()], date, "r-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(replay.renewal_id, soon.renewal_id);
        let far = scheduler
            .create_renewal_invoice(renew(
                vec![key_id.clone()],
                now + TimeDelta::days(200),
                "r-2",
            ))
            .await
            .unwrap()
            .into_inner();
        let close = scheduler
            .create_renewal_invoice(renew(vec![key_id.clone()], now + TimeDelta::days(3), "r-3"))
            .await
            .unwrap()
            .into_inner();

        // Bad renewals.
        assert_status(
            scheduler
                .create_renewal_invoice(renew(vec![foreign.key_ids[0].clone()], date, "r-4"))
                .await,
            Code::FailedPrecondition,
            "KEY_NOT_IN_ACCOUNT",
        );
        assert_invalid(
            scheduler
                .create_renewal_invoice(renew(
                    vec![key_id.clone()],
                    now - TimeDelta::days(1),
                    "r-5",
                ))
                .await,
            "INVALID_FIELD",
            "renewal_date",
        );
        assert_invalid(
            scheduler
                .create_renewal_invoice(renew(vec![], date, "r-6"))
                .await,
            "INVALID_FIELD",
            "key_ids",
        );
        assert_status(
            admin
                .create_renewal_invoice(renew(vec![key_id.clone()], date, "r-7"))
                .await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );

        // Auto-renew turns off until 7 days before the date; setting the current value changes nothing.
        let auto = |renewal_id: &str, on: bool| pb::SetAutoRenewRequest {
            renewal_id: renewal_id.into(),
            auto_renew: on,
        };
        assert_status(
            admin.set_auto_renew(auto(&close.renewal_id, false)).await,
            Code::FailedPrecondition,
            "AUTO_RENEW_LOCKED",
        );
        assert!(
            admin
                .set_auto_renew(auto(&close.renewal_id, true))
                .await
                .unwrap()
                .into_inner()
                .auto_renew
        );
        assert!(
            !admin
                .set_auto_renew(auto(&soon.renewal_id, false))
                .await
                .unwrap()
                .into_inner()
                .auto_renew
        );
        assert!(
            !admin
                .set_auto_renew(auto(&soon.renewal_id, false))
                .await
                .unwrap()
                .into_inner()
                .auto_renew
        );
        assert!(
            admin
                .set_auto_renew(auto(&soon.renewal_id, true))
                .await
                .unwrap()
                .into_inner()
                .auto_renew
        );
        let mut as_member = app.billing(&app.user_token(&member.user_id)).await;
        assert_status(
            as_member
                .set_auto_renew(auto(&soon.renewal_id, false))
                .await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );

        // Paid within 4 months of the date only; paying in full refreshes the key to the date plus the term (L7).
        let mut processor = app
            .billing(&app.service_token("processor", "billing.payments"))
            .await;
        let far_total = invoice(&mut admin, &far.invoice_id).await.total_minor;
        assert_status(
            processor
                .record_payment(pay(&far.invoice_id, far_total, "pay-far"))
                .await,
            Code::FailedPrecondition,
            "OUTSIDE_RENEWAL_WINDOW",
        );
        let soon_total = invoice(&mut admin, &soon.invoice_id).await.total_minor;
        let paid = processor
            .record_payment(pay(&soon.invoice_id, soon_total, "pay-soon"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (paid.state(), paid.renewal_id.as_str()),
            (InvoiceState::Paid, soon.renewal_id.as_str())
        );
        let until = date
            .checked_add_months(Months::new(12))
            .unwrap()
            .timestamp();
        let mut internal = app
            .licensing(&app.service_token("support", "internal"))
            .await;
        let mut key = internal
            .get_key(lic::GetKeyRequest {
                key_id: key_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        for _ in 0..150 {
            if key.period_end.as_ref().unwrap().seconds == until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            key = internal
                .get_key(lic::GetKeyRequest {
                    key_id: key_id.clone(),
                })
                .await
                .unwrap()
                .into_inner();
        }
        assert_eq!(
            (
                key.period_end.unwrap().seconds,
                key.maintenance_end.unwrap().seconds
            ),
            (until, until)
        );

        // Soonest renewal first; the paid one is renewed; voiding a renewal invoice cancels the renewal.
        processor
            .void_invoice(pb::VoidInvoiceRequest {
                invoice_id: far.invoice_id.clone(),
                reason: "not renewing".into(),
            })
            .await
            .unwrap();
        let listed = admin
            .list_renewals(pb::ListRenewalsRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .renewals;
        let order_and_states: Vec<(&str, RenewalState)> = listed
            .iter()
            .map(|r| (r.renewal_id.as_str(), r.state()))
            .collect();
        assert_eq!(
            order_and_states,
            [
                (close.renewal_id.as_str(), RenewalState::Open),
                (soon.renewal_id.as_str(), RenewalState::Renewed),
                (far.renewal_id.as_str(), RenewalState::Cancelled)
            ]
        );
        assert_status(
            admin.set_auto_renew(auto(&soon.renewal_id, false)).await,
            Code::FailedPrecondition,
            "RENEWAL_NOT_OPEN",
        );
    }
);

storage_test!(
    bad_purchases_get_field_violations_and_issue_nothing,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut admin = app.billing(&admin_token).await;
        assert_invalid(
            admin.create_purchase(order(&a, vec![], "r-1")).await,
            "INVALID_FIELD",
            "items",
        );
        assert_invalid(
            admin
                .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 0)], "r-2"))
                .await,
            "INVALID_FIELD",
            "items[0].quantity",
        );
        assert_invalid(
            admin
                .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 10_001)], "r-3"))
                .await,
            "INVALID_FIELD",
            "items[0].quantity",
        );
        assert_invalid(
            admin
                .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", -2)], "r-4"))
                .await,
            "INVALID_FIELD",
            "items[0].quantity",
        );
        let duplicate = vec![item("DESKTOP-TERM-1Y", 1), item("DESKTOP-TERM-1Y", 1)];
        assert_invalid(
            admin.create_purchase(order(&a, duplicate, "r-5")).await,
            "INVALID_FIELD",
            "items[1].sku",
        );
        assert_invalid(
            admin
                .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 1)], ""))
                .await,
            "INVALID_FIELD",
            "request_id",
        );
        let unknown = vec![item("DESKTOP-TERM-1Y", 1), item("NO-SUCH-SKU", 1)];
        assert_invalid(
            admin.create_purchase(order(&a, unknown, "r-6")).await,
            "UNKNOWN_SKU",
            "items[1].sku",
        );
        let mixed = vec![item("DESKTOP-TERM-1Y", 1), item("DESKTOP-TERM-1Y-EUR", 1)];
        assert_invalid(
            admin.create_purchase(order(&a, mixed, "r-7")).await,
            "CURRENCY_MISMATCH",
            "items[1].sku",
        );
        let mut pricing = app
            .billing(&app.service_token("pricing", "billing.catalog"))
            .await;
        let retire = pb::UpdateSkuRequest {
            sku: Some(pb::Sku {
                sku: "PREP-BUILDER-TERM-1Y".into(),
                active: false,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["active".into()],
            }),
            allow_missing: false,
        };
        pricing.update_sku(retire).await.unwrap();
        assert_status(
            admin
                .create_purchase(order(&a, vec![item("PREP-BUILDER-TERM-1Y", 1)], "r-8"))
                .await,
            Code::FailedPrecondition,
            "SKU_INACTIVE",
        );
        // A refused request leaves its id free, and nothing was invoiced or issued.
        let fixed = admin
            .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 1)], "r-6"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(fixed.state(), PurchaseState::Fulfilled);
        let invoices = admin
            .list_invoices(pb::ListInvoicesRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .invoices;
        assert_eq!(invoices.len(), 1);
        let mut ops = app
            .billing(&app.service_token("storefront", "billing.payments"))
            .await;
        assert_status(
            ops.create_purchase(order("acc-nope", vec![item("DESKTOP-TERM-1Y", 1)], "r-9"))
                .await,
            Code::NotFound,
            "ACCOUNT_NOT_FOUND",
        );
    }
);
