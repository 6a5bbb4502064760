//! Purchases (B3): one invoice and one set of keys and codes from licensing, idempotent on request id also when
//! replays race, and bad orders refused field by field with nothing invoiced or issued.

use chrono::{Datelike, TimeDelta, Utc};
use portal_proto::{
    billing::{self as pb, InvoiceState, PurchaseState},
    common::{KeyFamily, LicenseType},
    licensing as lic,
};
use portal_testkit::{
    TestApp,
    assert::{assert_invalid, assert_status},
    storage_test,
};
use prost_types::FieldMask;
use tonic::Code;

use super::{invoice, item, keys_of, order, price, settled};

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
