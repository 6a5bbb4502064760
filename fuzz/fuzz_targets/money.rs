//! B1: currencies and amounts: no panic on any code or amount; checked arithmetic agrees with exact (128-bit)
//! arithmetic and refuses exactly what does not fit; an amount prints back to its minor units.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portal_billing::domain::{Currency, Money};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    code: &'a str,
    other: &'a str,
    a: i64,
    b: i64,
    quantity: i64,
    amounts: Vec<i64>,
}

fn fits(exact: i128) -> Option<i64> {
    i64::try_from(exact).ok()
}

/// `1,234.56` → 123456 (the sign, group separators and decimal point dropped).
fn minor_units(text: &str, exponent: u32) -> u128 {
    let digits = text.trim_start_matches('-');
    let (units, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    assert_eq!(fraction.len(), exponent as usize, "{text}");
    let plain: String = units
        .chars()
        .filter(|c| *c != ',')
        .chain(fraction.chars())
        .collect();
    plain.parse().expect("only digits")
}

fuzz_target!(|input: Input<'_>| {
    let Ok(currency) = Currency::parse("currency", input.code) else {
        return;
    };
    assert_eq!(currency.as_str(), input.code);
    let (a, b) = (Money::new(input.a, currency), Money::new(input.b, currency));
    let (wide_a, wide_b) = (i128::from(input.a), i128::from(input.b));
    assert_eq!(
        a.checked_add(b).ok().map(|m| m.minor),
        fits(wide_a + wide_b)
    );
    assert_eq!(
        a.checked_sub(b).ok().map(|m| m.minor),
        fits(wide_a - wide_b)
    );
    assert_eq!(
        a.times(input.quantity).ok().map(|m| m.minor),
        fits(wide_a * i128::from(input.quantity))
    );
    let total: Option<i128> = input
        .amounts
        .iter()
        .try_fold(0i128, |sum, m| fits(sum + i128::from(*m)).map(i128::from));
    let summed = Money::sum(
        currency,
        input.amounts.iter().map(|m| Money::new(*m, currency)),
    );
    assert_eq!(summed.ok().map(|m| i128::from(m.minor)), total);
    if let Ok(other) = Currency::parse("currency", input.other) {
        if other != currency {
            assert!(a.checked_add(Money::new(input.b, other)).is_err());
        }
    }
    let text = a.amount_text();
    assert_eq!(text.starts_with('-'), input.a < 0, "{text}");
    assert_eq!(
        minor_units(&text, currency.exponent()),
        u128::from(input.a.unsigned_abs())
    );
    assert_eq!(a.to_string(), format!("{currency} {text}"));
});
