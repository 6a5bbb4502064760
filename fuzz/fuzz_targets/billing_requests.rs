//! BillingService: every request that becomes a typed command (`portal_billing::validate`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portal_billing::validate;
use portal_proto::billing as pb;

fuzz_target!(|data: &[u8]| {
    portal_fuzz::run(
        data,
        portal_fuzz::checks![
            "CreatePurchase": pb::CreatePurchaseRequest => |r| validate::create_purchase(&r),
            "RecordPayment": pb::RecordPaymentRequest => |r| validate::record_payment(&r),
            "VoidInvoice": pb::VoidInvoiceRequest => validate::void_invoice,
            "CreateRenewalInvoice": pb::CreateRenewalInvoiceRequest => |r| validate::create_renewal_invoice(&r),
            "UpdateSku": pb::UpdateSkuRequest => validate::update_sku,
        ],
    );
});
