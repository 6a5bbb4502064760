//! Purchases (B3): what may be ordered, the states a purchase goes through, and what licensing is asked to
//! issue for each line, deterministically, so a retry asks for exactly the same thing.

use chrono::{DateTime, Duration, Months, Utc};
use portal_runtime::error::FieldViolation;

use super::catalog::{Family, Grant, LicenseType, Product};
use crate::error::{Error, Result};

/// The most units of one SKU in one order.
pub const MAX_QUANTITY: i32 = 10_000;
/// The most lines in one order.
pub const MAX_ITEMS: usize = 100;

/// One line of an order, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub sku: String,
    pub quantity: i32,
}

/// B3 input rules: at least one item, each SKU once, each quantity between 1 and [`MAX_QUANTITY`].
pub fn check_items(items: &[Item]) -> Vec<FieldViolation> {
    let mut problems = Vec::new();
    if items.is_empty() {
        problems.push(FieldViolation::new("items", "name at least one SKU to buy"));
    }
    if items.len() > MAX_ITEMS {
        problems.push(FieldViolation::new(
            "items",
            format!("at most {MAX_ITEMS} lines per order"),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if item.sku.trim().is_empty() {
            problems.push(FieldViolation::new(
                format!("items[{i}].sku"),
                "must not be empty",
            ));
        } else if items[..i].iter().any(|earlier| earlier.sku == item.sku) {
            problems.push(FieldViolation::new(
                format!("items[{i}].sku"),
                "each SKU at most once; raise the quantity instead",
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&item.quantity) {
            problems.push(FieldViolation::new(
                format!("items[{i}].quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            ));
        }
    }
    problems
}

/// The fulfilment state of a purchase (B3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseState {
    Pending,
    Fulfilled,
    Failed,
}

impl PurchaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseState::Pending => "PENDING",
            PurchaseState::Fulfilled => "FULFILLED",
            PurchaseState::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "FULFILLED" => PurchaseState::Fulfilled,
            "FAILED" => PurchaseState::Failed,
            _ => PurchaseState::Pending,
        }
    }
}

/// What licensing is asked to issue for one purchase line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    Keys {
        family: Family,
        seats: i32,
        license_type: LicenseType,
        period_end: Option<DateTime<Utc>>,
        maintenance_end: DateTime<Utc>,
        lblm_enabled: bool,
    },
    ElearningCodes {
        count: i32,
    },
}

/// `time` without its fraction of a second, so the same instant reads back identically from every database
/// (PostgreSQL keeps microseconds, chrono nanoseconds).
pub fn whole_seconds(time: DateTime<Utc>) -> DateTime<Utc> {
    time - Duration::nanoseconds(i64::from(time.timestamp_subsec_nanos()))
}

fn months_after(base: DateTime<Utc>, months: i32) -> Result<DateTime<Utc>> {
    let months =
        u32::try_from(months).map_err(|_| Error::internal("negative months in a grant"))?;
    base.checked_add_months(Months::new(months))
        .ok_or_else(|| Error::internal("date out of range"))
}

/// B2/B3: what `quantity` units of `grant` issue, with dates counted from `base` (the purchase's fulfilment base
/// time, fixed when the purchase is made, so every retry sends licensing the same request).
pub fn issue_for(grant: &Grant, quantity: i32, base: DateTime<Utc>) -> Result<Issue> {
    let units = grant
        .units(quantity)
        .ok_or_else(|| Error::internal("line quantity out of range"))?;
    if grant.product == Product::Elearning {
        return Ok(Issue::ElearningCodes { count: units });
    }
    let (Some(family), Some(license_type)) = (grant.family, grant.license_type) else {
        return Err(Error::internal(
            "a key grant without family or license type",
        ));
    };
    let period_end = match license_type {
        LicenseType::Term => Some(months_after(base, grant.term_months)?),
        LicenseType::Perpetual => None,
    };
    Ok(Issue::Keys {
        family,
        seats: units,
        license_type,
        period_end,
        maintenance_end: months_after(base, grant.maintenance_months)?,
        lblm_enabled: grant.lblm_enabled,
    })
}

/// The request id licensing sees for line `line_no` of a purchase: stable across retries, so licensing issues
/// each line once however often billing asks.
pub fn line_request_id(purchase_id: &str, line_no: i32) -> String {
    format!("{purchase_id}/line-{line_no}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone;

    use super::*;

    fn item(sku: &str, quantity: i32) -> Item {
        Item {
            sku: sku.into(),
            quantity,
        }
    }

    fn grant() -> Grant {
        Grant {
            product: Product::Desktop,
            family: Some(Family::Tc),
            seats: 2,
            license_type: Some(LicenseType::Term),
            term_months: 12,
            maintenance_months: 12,
            lblm_enabled: true,
        }
    }

    #[test]
    fn b3_orders_need_items_with_sane_quantities_each_sku_once() {
        assert!(check_items(&[item("A", 1), item("B", MAX_QUANTITY)]).is_empty());
        let fields = |items: &[Item]| {
            check_items(items)
                .into_iter()
                .map(|v| v.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(&[]), ["items"]);
        assert_eq!(fields(&[item("A", 0)]), ["items[0].quantity"]);
        assert_eq!(
            fields(&[item("A", MAX_QUANTITY + 1)]),
            ["items[0].quantity"]
        );
        assert_eq!(fields(&[item("A", -3)]), ["items[0].quantity"]);
        assert_eq!(fields(&[item("A", 1), item("A", 2)]), ["items[1].sku"]);
        assert_eq!(fields(&[item(" ", 1)]), ["items[0].sku"]);
    }

    #[test]
    fn b3_a_line_issues_seats_times_quantity_with_dates_from_the_base_time() {
        let base = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        let issue = issue_for(&grant(), 3, base).unwrap();
        let expected_end = Utc.with_ymd_and_hms(2027, 1, 31, 10, 0, 0).unwrap();
        assert_eq!(
            issue,
            Issue::Keys {
                family: Family::Tc,
                seats: 6,
                license_type: LicenseType::Term,
                period_end: Some(expected_end),
                maintenance_end: expected_end,
                lblm_enabled: true,
            }
        );
        let perpetual = Grant {
            license_type: Some(LicenseType::Perpetual),
            term_months: 0,
            ..grant()
        };
        assert!(matches!(
            issue_for(&perpetual, 1, base).unwrap(),
            Issue::Keys {
                period_end: None,
                ..
            }
        ));
        let codes = Grant {
            product: Product::Elearning,
            family: None,
            license_type: None,
            term_months: 0,
            ..grant()
        };
        assert_eq!(
            issue_for(&codes, 4, base).unwrap(),
            Issue::ElearningCodes { count: 8 }
        );
    }

    #[test]
    fn b3_retries_ask_licensing_for_the_same_thing() {
        let base =
            Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap() + Duration::nanoseconds(123_456_789);
        assert_eq!(whole_seconds(base).timestamp_subsec_nanos(), 0);
        assert_eq!(
            issue_for(&grant(), 1, whole_seconds(base)).unwrap(),
            issue_for(&grant(), 1, whole_seconds(whole_seconds(base))).unwrap()
        );
        assert_eq!(line_request_id("pur-1", 0), line_request_id("pur-1", 0));
        assert_ne!(line_request_id("pur-1", 0), line_request_id("pur-1", 1));
    }
}
