//! Renewals (B8, L7): renewal invoices with their payment window and auto-renew lock, paid within the window
//! only, refreshing the keys to the renewal date plus the term; a voided renewal invoice cancels the renewal.

use std::time::Duration;

use chrono::{Months, TimeDelta, Timelike, Utc};
use portal_proto::{
    billing::{self as pb, InvoiceState, RenewalState},
    identity::Role,
    licensing as lic,
};
use portal_runtime::time::to_proto;
use portal_testkit::{
    TestApp,
    assert::{assert_invalid, assert_status},
    storage_test, wait,
};
use tonic::Code;

use super::{invoice, item, order, pay};

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
        // The refresh reaches licensing right away, or from billing's retry loop if that call failed.
        let key = wait::until(
            "the paid renewal to refresh the key",
            Duration::from_secs(30),
            async || {
                let key = internal
                    .get_key(lic::GetKeyRequest {
                        key_id: key_id.clone(),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                match key.period_end.as_ref().map(|t| t.seconds) {
                    Some(seconds) if seconds == until => Ok(key),
                    other => Err(other),
                }
            },
        )
        .await;
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
    page_tokens_of_invoices_and_renewals_do_not_open_each_other,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut admin = app.billing(&admin_token).await;
        let bought = admin
            .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 1)], "p-1"))
            .await
            .unwrap()
            .into_inner();
        app.billing(&app.service_token("renewals", "billing.payments"))
            .await
            .create_renewal_invoice(pb::CreateRenewalInvoiceRequest {
                account_id: a.clone(),
                key_ids: bought.key_ids.clone(),
                renewal_date: Some(to_proto(Utc::now() + TimeDelta::days(30))),
                request_id: "r-1".into(),
                items: vec![item("DESKTOP-TERM-1Y", 1)],
                term_months: 0,
            })
            .await
            .unwrap();
        // One of each on a page of one: each list hands out a token for its next page.
        let invoices = admin
            .list_invoices(pb::ListInvoicesRequest {
                account_id: a.clone(),
                page_size: 1,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .next_page_token;
        let renewals = admin
            .list_renewals(pb::ListRenewalsRequest {
                account_id: a.clone(),
                page_size: 1,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .next_page_token;
        assert!(!invoices.is_empty() && !renewals.is_empty());
        // Same account, another list: refused, both ways.
        assert_invalid(
            admin
                .list_renewals(pb::ListRenewalsRequest {
                    account_id: a.clone(),
                    page_size: 1,
                    page_token: invoices.clone(),
                })
                .await,
            "INVALID_FIELD",
            "page_token",
        );
        assert_invalid(
            admin
                .list_invoices(pb::ListInvoicesRequest {
                    account_id: a.clone(),
                    page_size: 1,
                    page_token: renewals.clone(),
                })
                .await,
            "INVALID_FIELD",
            "page_token",
        );
        // In its own list it still opens the next page.
        admin
            .list_invoices(pb::ListInvoicesRequest {
                account_id: a.clone(),
                page_size: 1,
                page_token: invoices,
            })
            .await
            .unwrap();
        admin
            .list_renewals(pb::ListRenewalsRequest {
                account_id: a,
                page_size: 1,
                page_token: renewals,
            })
            .await
            .unwrap();
    }
);
