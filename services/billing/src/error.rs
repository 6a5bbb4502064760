//! The billing service's failures, and their one mapping to `tonic::Status`.

use portal_runtime::error::{self, Common, FieldViolation, reason};
use tonic::{Code, Status};

use crate::domain::Money;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("a SKU is not in the catalog")]
    UnknownSku(Vec<FieldViolation>),
    #[error("amounts in different currencies cannot be combined")]
    CurrencyMismatch(Vec<FieldViolation>),
    #[error("the amount is too large")]
    AmountOverflow,
    #[error("SKU {0} is retired and can no longer be bought")]
    SkuInactive(String),
    #[error("key {0} is not a key of the account")]
    KeyNotInAccount(String),
    #[error("the invoice is paid or void")]
    InvoiceNotOpen,
    #[error("payments were recorded against the invoice; it cannot be voided")]
    InvoiceHasPayments,
    #[error("the payment exceeds the balance of {balance}")]
    Overpayment { balance: Money },
    #[error("a renewal invoice is paid within 4 months before its renewal date")]
    OutsideRenewalWindow,
    #[error("auto-renew can no longer be turned off: the renewal date is less than 7 days away")]
    AutoRenewLocked,
    #[error("the renewal is renewed, lapsed or cancelled")]
    RenewalNotOpen,
    #[error("account not found")]
    AccountNotFound,
    #[error("SKU not found")]
    SkuNotFound,
    #[error("purchase not found")]
    PurchaseNotFound,
    #[error("invoice not found")]
    InvoiceNotFound,
    #[error("renewal not found")]
    RenewalNotFound,
    #[error(transparent)]
    Common(#[from] Common),
}

portal_runtime::common_errors!(Error);

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        use Code::*;
        let message = err.to_string();
        let (code, reason) = match err {
            Error::Common(common) => return common.into(),
            Error::UnknownSku(violations) => {
                return error::invalid("UNKNOWN_SKU", message, &violations);
            }
            Error::CurrencyMismatch(violations) => {
                return error::invalid("CURRENCY_MISMATCH", message, &violations);
            }
            Error::AmountOverflow => {
                return error::invalid(
                    reason::INVALID_ARGUMENT,
                    message,
                    &[FieldViolation::new("amount_minor", "too large")],
                );
            }
            Error::SkuInactive(_) => (FailedPrecondition, "SKU_INACTIVE"),
            Error::KeyNotInAccount(_) => (FailedPrecondition, "KEY_NOT_IN_ACCOUNT"),
            Error::InvoiceNotOpen => (FailedPrecondition, "INVOICE_NOT_OPEN"),
            Error::InvoiceHasPayments => (FailedPrecondition, "INVOICE_HAS_PAYMENTS"),
            Error::Overpayment { .. } => (FailedPrecondition, "OVERPAYMENT"),
            Error::OutsideRenewalWindow => (FailedPrecondition, "OUTSIDE_RENEWAL_WINDOW"),
            Error::AutoRenewLocked => (FailedPrecondition, "AUTO_RENEW_LOCKED"),
            Error::RenewalNotOpen => (FailedPrecondition, "RENEWAL_NOT_OPEN"),
            Error::AccountNotFound => (NotFound, "ACCOUNT_NOT_FOUND"),
            Error::SkuNotFound => (NotFound, "SKU_NOT_FOUND"),
            Error::PurchaseNotFound => (NotFound, "PURCHASE_NOT_FOUND"),
            Error::InvoiceNotFound => (NotFound, "INVOICE_NOT_FOUND"),
            Error::RenewalNotFound => (NotFound, "RENEWAL_NOT_FOUND"),
        };
        error::status(code, reason, message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
