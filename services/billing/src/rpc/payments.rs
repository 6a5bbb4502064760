//! Payments (B5): a service principal records a payment against an invoice, idempotently on the request id; a
//! renewal invoice paid in full renews its renewal (B8), whose keys licensing then refreshes.

use chrono::Utc;
use portal_proto::billing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Claim},
    new_id,
};
use serde_json::json;

use crate::{
    BillingApi,
    domain::{Money, Payment, Renewal, access, printed},
    error::{Error, Result},
    store,
};

const MAX_REFERENCE: usize = 200;

/// A RecordPayment request, checked.
pub(super) struct NewPayment {
    invoice_id: String,
    amount_minor: i64,
    reference: String,
}

impl TryFrom<&pb::RecordPaymentRequest> for NewPayment {
    type Error = Error;

    fn try_from(r: &pb::RecordPaymentRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("invoice_id", &r.invoice_id);
        v.require("request_id", &r.request_id);
        if r.amount_minor <= 0 {
            v.add(
                "amount_minor",
                "must be greater than 0 (minor units of the invoice's currency)",
            );
        }
        v.check(printed::check_printable(
            "reference",
            &r.reference,
            MAX_REFERENCE,
        ));
        v.finish().map_err(Error::invalid_fields)?;
        Ok(Self {
            invoice_id: r.invoice_id.clone(),
            amount_minor: r.amount_minor,
            reference: r.reference.trim().to_string(),
        })
    }
}

impl BillingApi {
    pub(super) async fn record_payment(
        &self,
        context: CallContext,
        r: pb::RecordPaymentRequest,
    ) -> Result<pb::Invoice> {
        self.require_service(&context, access::B5_RECORD_PAYMENT)
            .await?;
        let new = NewPayment::try_from(&r)?;
        let payment_id = new_id("pay");
        let txn = match idempotency::claim(&self.db, "RecordPayment", &r, &payment_id).await? {
            Claim::Fresh(txn) => txn,
            // A replay records nothing and returns the invoice as it is now.
            Claim::Replay(_) => {
                let invoice = store::invoices::find(&self.db, &new.invoice_id).await?;
                return self.invoice_to_proto(invoice).await;
            }
        };
        let before = store::invoices::lock(&txn, &new.invoice_id).await?;
        let renewal = match &before.renewal_id {
            Some(renewal_id) => Some(store::renewals::lock(&txn, renewal_id).await?),
            None => None,
        };
        let now = Utc::now();
        let payment = Payment {
            payment_id,
            invoice_id: before.invoice_id.clone(),
            amount: Money::new(new.amount_minor, before.currency),
            reference: new.reference,
            create_time: now,
        };
        let after = before.pay(
            payment.amount,
            renewal.as_ref().and_then(Renewal::payment_deadline),
            now,
        )?;
        store::payments::insert(&txn, &payment).await?;
        store::invoices::save(&txn, &after).await?;
        let change = Change {
            account_id: &after.account_id,
            action: "RecordPayment",
            resource_type: "invoice",
            resource_id: &after.invoice_id,
            before: Some(
                json!({ "state": before.state.as_str(), "paid_minor": before.paid.minor }),
            ),
            after: Some(
                json!({ "state": after.state.as_str(), "paid_minor": after.paid.minor, "payment_id": payment.payment_id, "amount_minor": payment.amount.minor, "reference": payment.reference }),
            ),
        };
        audit::record(&txn, &context, change).await?;
        // B8: paying a renewal in full renews it; licensing refreshes its keys once this commits.
        let renewed = renewal.and_then(|r| Some((r.renewed_by(&after, now)?, r)));
        if let Some((next, renewal)) = &renewed {
            store::renewals::save(&txn, next).await?;
            let change = Change {
                account_id: &renewal.account_id,
                action: "RenewalPaid",
                resource_type: "renewal",
                resource_id: &renewal.renewal_id,
                before: Some(json!({ "state": renewal.state.as_str() })),
                after: Some(
                    json!({ "state": next.state.as_str(), "refresh_pending": next.refresh_pending }),
                ),
            };
            audit::record(&txn, &context, change).await?;
        }
        txn.commit().await?;
        if let Some((next, _)) = renewed {
            // The payment stands whatever happens here; the retry loop finishes a refresh licensing could not do.
            if let Err(e) = self.refresh_renewal(&context, &next.renewal_id).await {
                tracing::warn!(renewal_id = %next.renewal_id, error = %e, "refreshing the renewed keys failed; the retry loop completes it");
            }
        }
        self.invoice_to_proto(after).await
    }
}
