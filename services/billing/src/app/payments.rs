//! Payments (B5): a service principal records a payment against an invoice, idempotently on the request id; a
//! renewal invoice paid in full renews its renewal (B8), whose keys licensing then refreshes.

use chrono::Utc;
use portal_clients::Caller;
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
    new_id,
};

use super::{
    RequestKey,
    audit::Event,
    invoices::{self, Statement},
    renewals,
};
use crate::{
    BillingApi,
    domain::{Money, Payment, Renewal, access},
    error::{Error, Result},
    store,
};

/// A RecordPayment request, checked.
#[derive(Debug, Clone)]
pub(crate) struct NewPayment {
    pub invoice_id: String,
    pub amount_minor: i64,
    pub reference: String,
    pub key: RequestKey,
}

/// B5/B8: records the payment the request becomes for a service principal, once per request id, and returns the
/// invoice as it then is; a renewal invoice paid in full renews its renewal and has its keys refreshed.
pub(crate) async fn record<R: TryInto<NewPayment, Error = Error>>(
    api: &BillingApi,
    context: &CallContext,
    caller: &Caller,
    request: R,
) -> Result<Statement> {
    caller.require_scope(access::B5_RECORD_PAYMENT)?;
    let new = request.try_into()?;
    let payment_id = new_id("pay");
    let txn = match idempotency::claim_key(&api.db, "RecordPayment", &new.key, &payment_id).await? {
        Claim::Fresh(txn) => txn,
        // A replay records nothing and returns the invoice as it is now.
        Claim::Replay(_) => {
            let invoice = store::invoices::find(&api.db, &new.invoice_id).await?;
            return invoices::statement(api, invoice).await;
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
    Event::PaymentRecorded {
        before: &before,
        after: &after,
        payment: &payment,
    }
    .record(&txn, context)
    .await?;
    // B8: paying a renewal in full renews it; licensing refreshes its keys once this commits.
    let renewed = renewal.and_then(|r| Some((r.renewed_by(&after, now)?, r)));
    if let Some((next, renewal)) = &renewed {
        store::renewals::save(&txn, next).await?;
        Event::RenewalPaid {
            before: renewal,
            after: next,
        }
        .record(&txn, context)
        .await?;
    }
    txn.commit().await?;
    if let Some((next, _)) = renewed {
        // The payment stands whatever happens here; the retry loop finishes a refresh licensing could not do.
        if let Err(e) = renewals::refresh(api, context, &next.renewal_id).await {
            tracing::warn!(renewal_id = %next.renewal_id, error = %e, "refreshing the renewed keys failed; the retry loop completes it");
        }
    }
    invoices::statement(api, after).await
}
