//! Money (B1): integer minor units of an ISO 4217 currency, with checked arithmetic. No floating point.

use std::fmt;

use portal_runtime::error::FieldViolation;

use crate::error::{Error, Result};

/// An ISO 4217 currency billing prices in. Only codes on [`Currency::KNOWN`] exist past the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(&'static str);

impl Currency {
    /// The currencies billing sells in, with the number of decimals of their minor unit.
    const KNOWN: [(&'static str, u32); 7] = [
        ("USD", 2),
        ("EUR", 2),
        ("GBP", 2),
        ("JPY", 0),
        ("CHF", 2),
        ("CAD", 2),
        ("AUD", 2),
    ];

    /// Three upper-case letters naming a known currency, e.g. `USD`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let malformed = raw.len() != 3 || !raw.bytes().all(|b| b.is_ascii_uppercase());
        if malformed {
            return Err(FieldViolation::new(
                field,
                "must be an ISO 4217 code of three upper-case letters, e.g. USD",
            ));
        }
        Self::KNOWN
            .iter()
            .find(|(code, _)| *code == raw)
            .map(|(code, _)| Currency(code))
            .ok_or_else(|| {
                FieldViolation::new(
                    field,
                    format!(
                        "{raw} is not a currency billing sells in ({})",
                        Self::codes()
                    ),
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Decimals of the minor unit: 2 for USD (cents), 0 for JPY.
    pub fn exponent(self) -> u32 {
        Self::KNOWN
            .iter()
            .find(|(code, _)| *code == self.0)
            .map_or(2, |(_, e)| *e)
    }

    fn codes() -> String {
        Self::KNOWN
            .iter()
            .map(|(code, _)| *code)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// An amount in minor units of a currency (B1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    fn same_currency(self, other: Money) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::CurrencyMismatch(vec![FieldViolation::new(
                "currency",
                format!("cannot combine {} with {}", self.currency, other.currency),
            )]))
        }
    }

    /// B1: integer addition of amounts in one currency; an overflow is an error, never a wrapped amount.
    pub fn checked_add(self, other: Money) -> Result<Money> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::new(minor, self.currency))
            .ok_or(Error::AmountOverflow)
    }

    /// B1: integer subtraction of amounts in one currency, checked like [`Money::checked_add`].
    pub fn checked_sub(self, other: Money) -> Result<Money> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money::new(minor, self.currency))
            .ok_or(Error::AmountOverflow)
    }

    /// B1: `quantity` units at this price, checked.
    pub fn times(self, quantity: i64) -> Result<Money> {
        self.minor
            .checked_mul(quantity)
            .map(|minor| Money::new(minor, self.currency))
            .ok_or(Error::AmountOverflow)
    }

    /// The sum of `amounts`, all in `currency`.
    pub fn sum(currency: Currency, amounts: impl IntoIterator<Item = Money>) -> Result<Money> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    /// The amount without its currency, as printed on an invoice: `1,234.56` (integer arithmetic only).
    pub fn amount_text(self) -> String {
        let exponent = self.currency.exponent();
        let scale = 10u64.pow(exponent);
        let abs = self.minor.unsigned_abs();
        let (units, cents) = (abs / scale, abs % scale);
        let digits = units.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if self.minor < 0 { "-" } else { "" };
        if exponent == 0 {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped}.{cents:0width$}", width = exponent as usize)
        }
    }
}

/// `USD 1,234.56`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.amount_text())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("c", "USD").unwrap())
    }

    #[test]
    fn b1_currencies_are_three_upper_case_letters_from_the_known_list() {
        for good in ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD"] {
            assert_eq!(Currency::parse("currency", good).unwrap().as_str(), good);
        }
        for bad in ["", "usd", "US", "USDX", "XXX", "U5D", "€UR"] {
            assert!(Currency::parse("currency", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn b1_arithmetic_is_checked_and_never_mixes_currencies() {
        assert_eq!(usd(150).checked_add(usd(250)).unwrap(), usd(400));
        assert_eq!(usd(150).checked_sub(usd(250)).unwrap(), usd(-100));
        assert_eq!(usd(1999).times(3).unwrap(), usd(5997));
        assert!(matches!(
            usd(i64::MAX).checked_add(usd(1)),
            Err(Error::AmountOverflow)
        ));
        assert!(matches!(
            usd(i64::MIN).checked_sub(usd(1)),
            Err(Error::AmountOverflow)
        ));
        assert!(matches!(
            usd(i64::MAX / 2 + 1).times(2),
            Err(Error::AmountOverflow)
        ));
        let eur = Money::new(100, Currency::parse("c", "EUR").unwrap());
        assert!(matches!(
            usd(100).checked_add(eur),
            Err(Error::CurrencyMismatch(_))
        ));
        assert_eq!(
            Money::sum(usd(0).currency, [usd(1), usd(2), usd(3)]).unwrap(),
            usd(6)
        );
    }

    #[test]
    fn b1_amounts_print_in_minor_unit_decimals_without_floats() {
        assert_eq!(usd(123456).to_string(), "USD 1,234.56");
        assert_eq!(usd(5).amount_text(), "0.05");
        assert_eq!(usd(-100000).amount_text(), "-1,000.00");
        let yen = Money::new(1500000, Currency::parse("c", "JPY").unwrap());
        assert_eq!(yen.to_string(), "JPY 1,500,000");
    }
}
