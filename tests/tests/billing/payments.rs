//! Payments and voids (B5): partial, replayed, over- and fully paid invoices, recorded by the payment processor
//! only; voiding an unpaid invoice once.

use portal_proto::billing::{self as pb, InvoiceState};
use portal_testkit::{
    TestApp,
    assert::{assert_invalid, assert_status},
    storage_test,
};
use tonic::Code;

use super::{invoice, item, order, pay};

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
