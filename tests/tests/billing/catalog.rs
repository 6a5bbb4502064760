//! The catalog (B2): SKUs listed in order for any caller, edited by a catalog service with a field mask and
//! field violations, created on request, retired from the default listing — and issued invoices keep their
//! price (B4).

use portal_proto::{
    billing as pb,
    common::{KeyFamily, LicenseType, Product},
};
use portal_testkit::{
    TestApp,
    assert::{assert_invalid, assert_status},
    storage_test,
};
use prost_types::FieldMask;
use tonic::Code;

use super::{invoice, item, order, price};

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
                creator_seats: 0,
            }),
            ..new_sku.clone()
        };
        assert_invalid(
            pricing.update_sku(edit(inconsistent, &["grant"])).await,
            "INVALID_FIELD",
            "sku.grant.family",
        );
        // B11: Creator site seats come only with LBLM-enabled TC keys.
        let seats_without_lblm = pb::Sku {
            grant: Some(pb::SkuGrant {
                product: Product::Desktop as i32,
                family: KeyFamily::Tc as i32,
                seats: 1,
                license_type: LicenseType::Term as i32,
                term_months: 12,
                maintenance_months: 12,
                lblm_enabled: false,
                creator_seats: 1,
            }),
            ..new_sku.clone()
        };
        assert_invalid(
            pricing
                .update_sku(edit(seats_without_lblm, &["grant"]))
                .await,
            "INVALID_FIELD",
            "sku.grant.creator_seats",
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
