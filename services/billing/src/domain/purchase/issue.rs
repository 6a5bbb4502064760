//! What licensing is asked to issue for one purchase line (B3, B11): keys with their dates counted from the
//! purchase's base time, or eLearning codes, each under a request id that stays the same across retries.

use chrono::{DateTime, Months, Utc};

use crate::{
    domain::catalog::{Family, Grant, LicenseType, Product},
    error::{Error, Result},
};

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
        /// B11: Creator seats the key brings to the account's cloud site (0: none).
        creator_seats: i32,
    },
    ElearningCodes {
        count: i32,
    },
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
        creator_seats: grant
            .site_seats(quantity)
            .ok_or_else(|| Error::internal("line site seats out of range"))?,
    })
}

/// The request id licensing sees for line `line_no` of a purchase: stable across retries, so licensing issues
/// each line once however often billing asks.
pub fn line_request_id(purchase_id: &str, line_no: i32) -> String {
    format!("{purchase_id}/line-{line_no}")
}

/// B11: the request id under which licensing provisions a line's Creator seats (the line's, with `/site`):
/// stable across retries, so the seats are added once however often billing asks.
pub fn b11_site_request_id(line_request_id: &str) -> String {
    format!("{line_request_id}/site")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::calendar::whole_seconds;

    fn grant() -> Grant {
        Grant {
            product: Product::Desktop,
            family: Some(Family::Tc),
            seats: 2,
            license_type: Some(LicenseType::Term),
            term_months: 12,
            maintenance_months: 12,
            lblm_enabled: true,
            creator_seats: 0,
        }
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
                creator_seats: 0,
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
    fn b11_a_creator_line_provisions_seats_times_quantity_under_a_stable_id_of_its_own() {
        let base = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        let creator = Grant {
            seats: 1,
            creator_seats: 1,
            ..grant()
        };
        assert!(matches!(
            issue_for(&creator, 3, base).unwrap(),
            Issue::Keys {
                seats: 3,
                creator_seats: 3,
                ..
            }
        ));
        assert!(matches!(
            issue_for(&grant(), 3, base).unwrap(),
            Issue::Keys {
                creator_seats: 0,
                ..
            }
        ));
        let line = line_request_id("pur-1", 0);
        assert_eq!(b11_site_request_id(&line), "pur-1/line-0/site");
        assert_ne!(b11_site_request_id(&line), line);
        assert_ne!(
            b11_site_request_id(&line),
            b11_site_request_id(&line_request_id("pur-1", 1))
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
