//! The request → typed command step of the RPCs that have one, as pure functions (no caller, no database, no
//! clock), answering as the RPC would before it reads anything. The fuzz targets (`fuzz/`) feed them arbitrary
//! requests: none may panic or answer `INTERNAL`.

use portal_proto::billing as pb;
use tonic::Status;

use super::catalog;
use crate::app::{
    invoices::VoidOrder, payments::NewPayment, purchases::NewOrder, renewals::NewRenewal,
};
use crate::error::Result;

fn checked<T>(result: Result<T>) -> Result<(), Status> {
    result.map(drop).map_err(Status::from)
}

/// CreatePurchase (B3).
pub fn create_purchase(r: &pb::CreatePurchaseRequest) -> Result<(), Status> {
    checked(NewOrder::try_from(r))
}

/// RecordPayment (B5).
pub fn record_payment(r: &pb::RecordPaymentRequest) -> Result<(), Status> {
    checked(NewPayment::try_from(r))
}

/// VoidInvoice (B4).
pub fn void_invoice(r: pb::VoidInvoiceRequest) -> Result<(), Status> {
    checked(VoidOrder::try_from(r))
}

/// CreateRenewalInvoice (B8).
pub fn create_renewal_invoice(r: &pb::CreateRenewalInvoiceRequest) -> Result<(), Status> {
    checked(NewRenewal::try_from(r))
}

/// UpdateSku (B2), and the SKU it would create when `allow_missing` names a new one (price, currency, grant).
pub fn update_sku(r: pb::UpdateSkuRequest) -> Result<(), Status> {
    let patch = catalog::SkuPatch::try_from(r).map_err(Status::from)?;
    checked(patch.whole())
}
