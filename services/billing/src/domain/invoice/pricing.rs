//! Pricing an order (B2, B4): lines priced from the catalog as it is at the sale, totals computed from the lines
//! and never taken from the caller.

use std::collections::HashMap;

use portal_runtime::error::FieldViolation;

use crate::{
    domain::{
        catalog::{Grant, Sku},
        money::{Currency, Money},
        order::Item,
    },
    error::{Error, Result},
};

/// One priced line, as it will be printed (and kept) on the invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub sku: String,
    pub description: String,
    pub quantity: i32,
    pub unit_price: Money,
    pub amount: Money,
    pub grant: Grant,
}

/// Computed totals (B4): never taken from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
}

impl Totals {
    /// Subtotal is the sum of the lines; no tax is charged on licenses sold here (the processor handles it), so
    /// tax is zero and the total equals the subtotal.
    pub fn of(currency: Currency, lines: &[Line]) -> Result<Self> {
        let subtotal = Money::sum(currency, lines.iter().map(|l| l.amount))?;
        let tax = Money::zero(currency);
        Ok(Self {
            subtotal,
            tax,
            total: subtotal.checked_add(tax)?,
        })
    }
}

/// An order priced against the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    pub currency: Currency,
    pub lines: Vec<Line>,
    pub totals: Totals,
}

/// B2/B4: prices `items` (already checked with [`crate::domain::order::check_items`]) from `catalog`. Unknown SKUs,
/// retired SKUs, mixed currencies and quantities beyond what licensing issues are refused.
pub fn price(items: &[Item], catalog: &HashMap<String, Sku>) -> Result<Priced> {
    let unknown: Vec<FieldViolation> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| !catalog.contains_key(&item.sku))
        .map(|(i, item)| {
            FieldViolation::new(
                format!("items[{i}].sku"),
                format!("{} is not in the catalog", item.sku),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(Error::UnknownSku(unknown));
    }
    let skus: Vec<&Sku> = items
        .iter()
        .filter_map(|item| catalog.get(&item.sku))
        .collect();
    if let Some(retired) = skus.iter().find(|s| !s.active) {
        return Err(Error::SkuInactive(retired.code.clone()));
    }
    let Some(currency) = skus.first().map(|s| s.unit_price.currency) else {
        return Err(Error::invalid("items", "name at least one SKU to buy"));
    };
    let mismatched: Vec<FieldViolation> = skus
        .iter()
        .enumerate()
        .filter(|(_, s)| s.unit_price.currency != currency)
        .map(|(i, s)| {
            FieldViolation::new(
                format!("items[{i}].sku"),
                format!(
                    "priced in {}, the order in {currency}",
                    s.unit_price.currency
                ),
            )
        })
        .collect();
    if !mismatched.is_empty() {
        return Err(Error::CurrencyMismatch(mismatched));
    }
    let mut lines = Vec::with_capacity(items.len());
    let mut too_many = Vec::new();
    for (i, (item, sku)) in items.iter().zip(skus).enumerate() {
        if sku.grant.units(item.quantity).is_none() {
            too_many.push(FieldViolation::new(
                format!("items[{i}].quantity"),
                "more seats than one purchase line can issue",
            ));
            continue;
        }
        let amount = sku
            .unit_price
            .times(i64::from(item.quantity))
            .map_err(|_| {
                Error::invalid(&format!("items[{i}].quantity"), "the amount is too large")
            })?;
        lines.push(Line {
            sku: sku.code.clone(),
            description: sku.description.trim().to_string(),
            quantity: item.quantity,
            unit_price: sku.unit_price,
            amount,
            grant: sku.grant,
        });
    }
    if !too_many.is_empty() {
        return Err(Error::invalid_fields(too_many));
    }
    let totals = Totals::of(currency, &lines)
        .map_err(|_| Error::invalid("items", "the order total is too large"))?;
    Ok(Priced {
        currency,
        lines,
        totals,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::catalog::tests::key_grant;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("c", "USD").unwrap())
    }

    fn sku(code: &str, minor: i64, currency: &str) -> Sku {
        Sku {
            code: code.into(),
            description: format!("{code} license"),
            unit_price: Money::new(minor, Currency::parse("c", currency).unwrap()),
            grant: key_grant(),
            active: true,
        }
    }

    fn catalog(skus: Vec<Sku>) -> HashMap<String, Sku> {
        skus.into_iter().map(|s| (s.code.clone(), s)).collect()
    }

    fn item(sku: &str, quantity: i32) -> Item {
        Item {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn b4_totals_are_computed_from_the_lines() {
        let priced = price(
            &[item("A", 3), item("B", 1)],
            &catalog(vec![sku("A", 1999, "USD"), sku("B", 500, "USD")]),
        )
        .unwrap();
        assert_eq!(
            priced.lines.iter().map(|l| l.amount).collect::<Vec<_>>(),
            [usd(5997), usd(500)]
        );
        assert_eq!(
            priced.totals,
            Totals {
                subtotal: usd(6497),
                tax: usd(0),
                total: usd(6497)
            }
        );
    }

    #[test]
    fn b4_unknown_retired_and_mixed_currency_skus_are_refused() {
        let skus = catalog(vec![
            sku("A", 100, "USD"),
            sku("E", 100, "EUR"),
            Sku {
                active: false,
                ..sku("OLD", 100, "USD")
            },
        ]);
        let Err(Error::UnknownSku(v)) = price(&[item("A", 1), item("NOPE", 1)], &skus) else {
            panic!("unknown SKU accepted")
        };
        assert_eq!(v[0].field, "items[1].sku");
        assert!(
            matches!(price(&[item("OLD", 1)], &skus), Err(Error::SkuInactive(code)) if code == "OLD")
        );
        let Err(Error::CurrencyMismatch(v)) = price(&[item("A", 1), item("E", 1)], &skus) else {
            panic!("mixed currencies accepted")
        };
        assert_eq!(v[0].field, "items[1].sku");
    }

    #[test]
    fn b4_amounts_that_overflow_are_refused_not_wrapped() {
        let skus = catalog(vec![
            sku("BIG", i64::MAX / 2, "USD"),
            sku("BIG2", i64::MAX / 2, "USD"),
        ]);
        assert!(matches!(
            price(&[item("BIG", 3)], &skus),
            Err(Error::Common(portal_runtime::error::Common::Invalid(_)))
        ));
        assert!(matches!(
            price(&[item("BIG", 2), item("BIG2", 2)], &skus),
            Err(Error::Common(portal_runtime::error::Common::Invalid(_)))
        ));
    }
}
