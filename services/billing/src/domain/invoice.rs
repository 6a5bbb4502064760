//! Invoices (B4) and payments (B5): gapless numbers, the states an invoice goes through, its balance, and the
//! rules for paying and voiding it. Pricing an order into lines and totals is [`pricing`]'s.

mod pricing;

use chrono::{DateTime, Utc};

pub use pricing::{Line, Priced, Totals, price};

use super::{
    calendar,
    money::{Currency, Money},
};
use crate::error::{Error, Result};

/// Days from issue to the due date of a purchase invoice.
pub const PAYMENT_TERM_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceState {
    Open,
    Paid,
    Void,
}

impl InvoiceState {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceState::Open => "OPEN",
            InvoiceState::Paid => "PAID",
            InvoiceState::Void => "VOID",
        }
    }

    /// B4: the state an invoice is issued in. Nothing to pay is paid: a free line must not leave an invoice
    /// open forever.
    pub fn issued(total: Money) -> Self {
        if total.minor == 0 {
            InvoiceState::Paid
        } else {
            InvoiceState::Open
        }
    }
}

/// B4: `INV-2026-000001`, the `sequence`-th invoice of `year`.
pub fn number(year: i32, sequence: i64) -> String {
    format!("INV-{year:04}-{sequence:06}")
}

/// An issued invoice (B4); its lines, immutable, are kept apart as [`Line`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub invoice_id: String,
    pub number: String,
    pub account_id: String,
    pub state: InvoiceState,
    pub currency: Currency,
    pub totals: Totals,
    pub paid: Money,
    pub purchase_id: Option<String>,
    pub renewal_id: Option<String>,
    pub issue_time: DateTime<Utc>,
    pub due_time: DateTime<Utc>,
    pub paid_time: Option<DateTime<Utc>>,
    pub void_time: Option<DateTime<Utc>>,
    pub void_reason: String,
    pub update_time: DateTime<Utc>,
}

/// A payment recorded against an invoice (B5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub payment_id: String,
    pub invoice_id: String,
    pub amount: Money,
    pub reference: String,
    pub create_time: DateTime<Utc>,
}

impl Invoice {
    /// B4/B5: what is left to pay.
    pub fn balance(&self) -> Result<Money> {
        balance(self.state, self.totals.total, self.paid)
    }

    /// B5 (and B8): the invoice after `amount` is paid at `now`. The invoice of a renewal (`renewal_date`) is
    /// paid only within the renewal's payment window; then the rules of [`apply_payment`] hold.
    pub fn pay(
        &self,
        amount: Money,
        renewal_date: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Invoice> {
        if let (InvoiceState::Open, Some(renewal_date)) = (self.state, renewal_date) {
            calendar::ensure_payable(renewal_date, now)?;
        }
        let after = apply_payment(self.state, self.totals.total, self.paid, amount)?;
        let paid_time = match after.state {
            InvoiceState::Paid => Some(now),
            _ => self.paid_time,
        };
        Ok(Invoice {
            state: after.state,
            paid: after.paid,
            paid_time,
            update_time: now,
            ..self.clone()
        })
    }

    /// B4/B5: the invoice voided at `now` for `reason`; `None` when it is void already (nothing changes).
    pub fn void(&self, reason: &str, now: DateTime<Utc>) -> Result<Option<Invoice>> {
        if !ensure_voidable(self.state, self.paid)? {
            return Ok(None);
        }
        Ok(Some(Invoice {
            state: InvoiceState::Void,
            void_time: Some(now),
            void_reason: reason.to_string(),
            update_time: now,
            ..self.clone()
        }))
    }
}

/// B4/B5: what is left to pay; nothing once paid or void.
pub fn balance(state: InvoiceState, total: Money, paid: Money) -> Result<Money> {
    match state {
        InvoiceState::Open => total.checked_sub(paid),
        InvoiceState::Paid | InvoiceState::Void => Ok(Money::zero(total.currency)),
    }
}

/// The invoice after a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterPayment {
    pub paid: Money,
    pub balance: Money,
    pub state: InvoiceState,
}

/// B5: a payment is positive, only against an open invoice, and never more than the balance; paying the whole
/// balance marks the invoice paid.
pub fn apply_payment(
    state: InvoiceState,
    total: Money,
    paid: Money,
    amount: Money,
) -> Result<AfterPayment> {
    if amount.minor <= 0 {
        return Err(Error::invalid("amount_minor", "must be greater than 0"));
    }
    if state != InvoiceState::Open {
        return Err(Error::InvoiceNotOpen);
    }
    let balance = balance(state, total, paid)?;
    if amount.checked_sub(balance)?.minor > 0 {
        return Err(Error::Overpayment { balance });
    }
    let paid = paid.checked_add(amount)?;
    let balance = total.checked_sub(paid)?;
    let state = if balance.minor == 0 {
        InvoiceState::Paid
    } else {
        InvoiceState::Open
    };
    Ok(AfterPayment {
        paid,
        balance,
        state,
    })
}

/// B4/B5: only an open invoice without payments can be voided; voiding a void invoice changes nothing
/// (`Ok(false)`).
pub fn ensure_voidable(state: InvoiceState, paid: Money) -> Result<bool> {
    match state {
        InvoiceState::Void => Ok(false),
        InvoiceState::Paid => Err(Error::InvoiceNotOpen),
        InvoiceState::Open if paid.minor != 0 => Err(Error::InvoiceHasPayments),
        InvoiceState::Open => Ok(true),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone;

    use super::*;

    pub(crate) fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("c", "USD").unwrap())
    }

    #[test]
    fn b4_invoice_numbers_are_per_year_and_zero_padded() {
        assert_eq!(number(2026, 1), "INV-2026-000001");
        assert_eq!(number(2026, 123_456), "INV-2026-123456");
        assert_eq!(number(2027, 1_000_000), "INV-2027-1000000");
    }

    #[test]
    fn b5_partial_payments_reduce_the_balance_and_full_payment_marks_paid() {
        let first = apply_payment(InvoiceState::Open, usd(1000), usd(0), usd(400)).unwrap();
        assert_eq!(
            first,
            AfterPayment {
                paid: usd(400),
                balance: usd(600),
                state: InvoiceState::Open
            }
        );
        let second = apply_payment(first.state, usd(1000), first.paid, usd(600)).unwrap();
        assert_eq!(
            second,
            AfterPayment {
                paid: usd(1000),
                balance: usd(0),
                state: InvoiceState::Paid
            }
        );
    }

    #[test]
    fn b5_overpayment_and_paying_closed_invoices_are_refused() {
        assert!(
            matches!(apply_payment(InvoiceState::Open, usd(1000), usd(400), usd(601)), Err(Error::Overpayment { balance }) if balance == usd(600))
        );
        assert!(matches!(
            apply_payment(InvoiceState::Paid, usd(1000), usd(1000), usd(1)),
            Err(Error::InvoiceNotOpen)
        ));
        assert!(matches!(
            apply_payment(InvoiceState::Void, usd(1000), usd(0), usd(1)),
            Err(Error::InvoiceNotOpen)
        ));
        assert!(matches!(
            apply_payment(InvoiceState::Open, usd(1000), usd(0), usd(0)),
            Err(Error::Common(portal_runtime::error::Common::Invalid(_)))
        ));
        assert!(matches!(
            apply_payment(InvoiceState::Open, usd(1000), usd(0), usd(-5)),
            Err(Error::Common(portal_runtime::error::Common::Invalid(_)))
        ));
    }

    #[test]
    fn b5_only_unpaid_open_invoices_are_voided() {
        assert!(ensure_voidable(InvoiceState::Open, usd(0)).unwrap());
        assert!(!ensure_voidable(InvoiceState::Void, usd(0)).unwrap());
        assert!(matches!(
            ensure_voidable(InvoiceState::Open, usd(1)),
            Err(Error::InvoiceHasPayments)
        ));
        assert!(matches!(
            ensure_voidable(InvoiceState::Paid, usd(10)),
            Err(Error::InvoiceNotOpen)
        ));
        assert_eq!(
            balance(InvoiceState::Void, usd(10), usd(0)).unwrap(),
            usd(0)
        );
    }

    /// An invoice of `total` USD cents with `paid` paid, in `state`.
    pub(crate) fn invoice(state: InvoiceState, total: i64, paid: i64) -> Invoice {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        Invoice {
            invoice_id: "inv-1".into(),
            number: number(2026, 1),
            account_id: "acc-1".into(),
            state,
            currency: usd(0).currency,
            totals: Totals {
                subtotal: usd(total),
                tax: usd(0),
                total: usd(total),
            },
            paid: usd(paid),
            purchase_id: None,
            renewal_id: None,
            issue_time: at,
            due_time: at,
            paid_time: None,
            void_time: None,
            void_reason: String::new(),
            update_time: at,
        }
    }

    #[test]
    fn b4_an_invoice_with_nothing_to_pay_is_issued_paid() {
        assert_eq!(InvoiceState::issued(usd(0)), InvoiceState::Paid);
        assert_eq!(InvoiceState::issued(usd(1)), InvoiceState::Open);
    }

    #[test]
    fn b5_paying_the_rest_marks_the_invoice_paid_at_that_time() {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let open = invoice(InvoiceState::Open, 1000, 400);
        let paid = open.pay(usd(600), None, now).unwrap();
        assert_eq!(
            (
                paid.state,
                paid.paid,
                paid.paid_time,
                paid.balance().unwrap()
            ),
            (InvoiceState::Paid, usd(1000), Some(now), usd(0))
        );
        let partly = open.pay(usd(100), None, now).unwrap();
        assert_eq!((partly.state, partly.paid_time), (InvoiceState::Open, None));
    }

    #[test]
    fn b8_a_renewal_invoice_is_paid_only_inside_its_window() {
        let date = Utc.with_ymd_and_hms(2026, 9, 30, 0, 0, 0).unwrap();
        let open = invoice(InvoiceState::Open, 1000, 0);
        assert!(matches!(
            open.pay(usd(1000), Some(date), date - chrono::Duration::days(200)),
            Err(Error::OutsideRenewalWindow)
        ));
        assert!(
            open.pay(usd(1000), Some(date), date - chrono::Duration::days(20))
                .is_ok()
        );
        // A closed invoice says so, whatever the date.
        assert!(matches!(
            invoice(InvoiceState::Paid, 1000, 1000).pay(
                usd(1),
                Some(date),
                date + chrono::Duration::days(1)
            ),
            Err(Error::InvoiceNotOpen)
        ));
    }

    #[test]
    fn b4_voiding_keeps_the_reason_and_a_void_invoice_stays_as_it_is() {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let void = invoice(InvoiceState::Open, 1000, 0)
            .void("duplicate order", now)
            .unwrap()
            .unwrap();
        assert_eq!(
            (void.state, void.void_time, void.void_reason.as_str()),
            (InvoiceState::Void, Some(now), "duplicate order")
        );
        assert!(void.void("again", now).unwrap().is_none());
    }
}
