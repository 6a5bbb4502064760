//! Payments (B5): RecordPayment, translated to and from `app::payments`.

use portal_proto::billing as pb;
use portal_runtime::{CallContext, error::Violations};

use super::convert;
use crate::{
    BillingApi,
    app::{
        RequestKey,
        payments::{self, NewPayment},
    },
    domain::text,
    error::{Error, Result},
};

const MAX_REFERENCE: usize = 200;

/// A RecordPayment request, checked.
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
        v.check(text::check_printable(
            "reference",
            &r.reference,
            MAX_REFERENCE,
        ));
        v.finish().map_err(Error::invalid_fields)?;
        Ok(Self {
            invoice_id: r.invoice_id.clone(),
            amount_minor: r.amount_minor,
            reference: r.reference.trim().to_string(),
            key: RequestKey::of(r),
        })
    }
}

impl BillingApi {
    pub(super) async fn record_payment(
        &self,
        context: CallContext,
        r: pb::RecordPaymentRequest,
    ) -> Result<pb::Invoice> {
        let caller = self.caller(&context).await?;
        let statement = payments::record(self, &context, &caller, &r).await?;
        convert::statement(&statement)
    }
}
