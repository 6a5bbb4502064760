//! Invoices (B4, B6, B7): gapless numbering under concurrent purchases, visible to Portal Administrators and the
//! suite's services only, paged newest first, and rendered to a PDF that parses.

use chrono::{Datelike, Utc};
use portal_proto::{billing as pb, identity::Role};
use portal_testkit::{
    TestApp,
    assert::{assert_invalid, assert_status},
    storage_test,
};
use tonic::Code;

use super::{invoice, item, order};

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
        // A token is sealed: the same seal on another position, or no seal, is refused (issue 14).
        let (_, seal) = first.next_page_token.split_once('.').unwrap();
        for edited in [
            format!(
                "{}.{seal}",
                base64_url::encode(ids[0].invoice_id.as_bytes())
            ),
            base64_url::encode(ids[1].invoice_id.as_bytes()),
        ] {
            assert_invalid(
                admin.list_invoices(page(&edited)).await,
                "INVALID_FIELD",
                "page_token",
            );
        }
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
