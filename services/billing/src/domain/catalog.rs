//! The catalog (B2): SKUs with a price and what licensing issues for one unit (a [`Grant`]); the catalog file
//! shipped with the service that seeds it is read in [`file`].

mod file;

pub use file::{parse_catalog, shipped};

use chrono::{DateTime, Utc};
use portal_runtime::error::FieldViolation;
use serde::{Deserialize, Serialize};

use super::{money::Money, text::check_printable};

/// The most seats (or eLearning codes) one unit grants.
pub const MAX_SEATS_PER_UNIT: i32 = 10_000;
/// The longest term or maintenance one unit grants.
pub const MAX_MONTHS: i32 = 120;
/// The highest price of one unit, in minor units; keeps every invoice total far from overflow.
pub const MAX_UNIT_PRICE_MINOR: i64 = 1_000_000_000_000;
const MAX_DESCRIPTION: usize = 200;
const MAX_CODE: usize = 64;

pub use portal_policy::{Family, LicenseType, Product};

/// What licensing issues for one unit of a SKU (B2). Stored with each invoice line as it was when sold, so a
/// later catalog change never alters what a purchase fulfils (B4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub product: Product,
    /// `None` for eLearning.
    pub family: Option<Family>,
    /// Seats (or eLearning codes) per unit.
    pub seats: i32,
    /// `None` for eLearning.
    pub license_type: Option<LicenseType>,
    /// 0 for perpetual keys and eLearning.
    pub term_months: i32,
    pub maintenance_months: i32,
    pub lblm_enabled: bool,
    /// B11: Creator site seats per unit, provisioned on the account's cloud site with the key (0: none). Lines
    /// sold before site seats existed read back as 0.
    #[serde(default)]
    pub creator_seats: i32,
}

impl Grant {
    /// Why this grant is inconsistent, one violation per field under `prefix` (e.g. `sku.grant`).
    pub fn problems(&self, prefix: &str) -> Vec<FieldViolation> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut problems = Vec::new();
        if !(1..=MAX_SEATS_PER_UNIT).contains(&self.seats) {
            problems.push(FieldViolation::new(
                field("seats"),
                format!("must be between 1 and {MAX_SEATS_PER_UNIT}"),
            ));
        }
        if !(0..=MAX_MONTHS).contains(&self.maintenance_months) {
            problems.push(FieldViolation::new(
                field("maintenance_months"),
                format!("must be between 0 and {MAX_MONTHS}"),
            ));
        }
        if !(0..=MAX_SEATS_PER_UNIT).contains(&self.creator_seats) {
            problems.push(FieldViolation::new(
                field("creator_seats"),
                format!("must be between 0 and {MAX_SEATS_PER_UNIT}"),
            ));
        } else if self.creator_seats > 0 && !self.b11_may_grant_site_seats() {
            problems.push(FieldViolation::new(
                field("creator_seats"),
                "Creator site seats come with LBLM-enabled keys of a family covering Desktop and Prep Builder (TC)",
            ));
        }
        if self.product == Product::Elearning {
            if self.family.is_some() {
                problems.push(FieldViolation::new(
                    field("family"),
                    "eLearning issues access codes, not keys: leave the family unspecified",
                ));
            }
            if self.license_type.is_some() {
                problems.push(FieldViolation::new(
                    field("license_type"),
                    "eLearning has no license type",
                ));
            }
            if self.term_months != 0 {
                problems.push(FieldViolation::new(
                    field("term_months"),
                    "must be 0 for eLearning",
                ));
            }
            if self.lblm_enabled {
                problems.push(FieldViolation::new(
                    field("lblm_enabled"),
                    "eLearning is not login-based licensing",
                ));
            }
            return problems;
        }
        match self.family {
            None => problems.push(FieldViolation::new(
                field("family"),
                "required for keys: KEY_FAMILY_TC, KEY_FAMILY_TD or KEY_FAMILY_TS",
            )),
            Some(family) if !family.covers(self.product) => problems.push(FieldViolation::new(
                field("family"),
                format!(
                    "{} keys do not cover {}",
                    family.as_str(),
                    self.product.as_str()
                ),
            )),
            Some(_) => {}
        }
        match self.license_type {
            None => problems.push(FieldViolation::new(
                field("license_type"),
                "required for keys: LICENSE_TYPE_TERM or LICENSE_TYPE_PERPETUAL",
            )),
            Some(LicenseType::Term) if !(1..=MAX_MONTHS).contains(&self.term_months) => problems
                .push(FieldViolation::new(
                    field("term_months"),
                    format!("a term license lasts 1 to {MAX_MONTHS} months"),
                )),
            Some(LicenseType::Perpetual) if self.term_months != 0 => problems.push(
                FieldViolation::new(field("term_months"), "must be 0 for a perpetual license"),
            ),
            Some(_) => {}
        }
        if self.maintenance_months < 1 {
            problems.push(FieldViolation::new(
                field("maintenance_months"),
                "keys need at least 1 month of maintenance",
            ));
        }
        problems
    }

    /// B11: Creator site seats are login-based licensing of Desktop and Prep Builder: only an LBLM-enabled key
    /// of a family covering both carries them.
    fn b11_may_grant_site_seats(&self) -> bool {
        self.lblm_enabled
            && self
                .family
                .is_some_and(|f| f.covers(Product::Desktop) && f.covers(Product::PrepBuilder))
    }

    /// B11: how many Creator site seats `quantity` units provision (0 when the SKU grants none).
    pub fn site_seats(&self, quantity: i32) -> Option<i32> {
        self.creator_seats
            .checked_mul(quantity)
            .filter(|n| (0..=1_000_000).contains(n))
    }

    /// How many seats (or codes) `quantity` units grant, within what one licensing call issues.
    pub fn units(&self, quantity: i32) -> Option<i32> {
        let limit = if self.product == Product::Elearning {
            10_000
        } else {
            1_000_000
        };
        self.seats
            .checked_mul(quantity)
            .filter(|n| (1..=limit).contains(n))
    }
}

/// A sellable item (B2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku {
    pub code: String,
    pub description: String,
    pub unit_price: Money,
    pub grant: Grant,
    pub active: bool,
}

/// A SKU as the catalog lists it, with when it last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub sku: Sku,
    pub update_time: DateTime<Utc>,
}

/// SKU codes are upper-case letters, digits and dashes, e.g. `DESKTOP-TERM-1Y`.
pub fn check_code(field: &str, code: &str) -> Result<(), FieldViolation> {
    let ok = !code.is_empty()
        && code.len() <= MAX_CODE
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        && !code.starts_with('-')
        && !code.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(FieldViolation::new(
            field,
            format!("must be 1 to {MAX_CODE} upper-case letters, digits and inner dashes"),
        ))
    }
}

/// Why a description cannot be printed on an invoice, if it cannot.
pub fn check_description(field: &str, description: &str) -> Result<(), FieldViolation> {
    check_printable(field, description, MAX_DESCRIPTION)
}

pub fn check_price(field: &str, minor: i64) -> Result<(), FieldViolation> {
    if (0..=MAX_UNIT_PRICE_MINOR).contains(&minor) {
        Ok(())
    } else {
        Err(FieldViolation::new(
            field,
            format!("must be between 0 and {MAX_UNIT_PRICE_MINOR} minor units"),
        ))
    }
}

impl Sku {
    /// Every problem of this SKU, fields named under `prefix` (e.g. `sku`).
    pub fn problems(&self, prefix: &str) -> Vec<FieldViolation> {
        let mut problems = Vec::new();
        problems.extend(check_code(&format!("{prefix}.sku"), &self.code).err());
        problems
            .extend(check_description(&format!("{prefix}.description"), &self.description).err());
        problems.extend(
            check_price(&format!("{prefix}.unit_price_minor"), self.unit_price.minor).err(),
        );
        problems.extend(self.grant.problems(&format!("{prefix}.grant")));
        problems
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// One Desktop term seat for a year, on a `TD` key: a consistent grant for tests to vary.
    pub(crate) fn key_grant() -> Grant {
        Grant {
            product: Product::Desktop,
            family: Some(Family::Td),
            seats: 1,
            license_type: Some(LicenseType::Term),
            term_months: 12,
            maintenance_months: 12,
            lblm_enabled: false,
            creator_seats: 0,
        }
    }

    #[test]
    fn b11_only_lblm_creator_keys_grant_site_seats() {
        let creator = Grant {
            family: Some(Family::Tc),
            lblm_enabled: true,
            creator_seats: 1,
            ..key_grant()
        };
        assert!(creator.problems("g").is_empty());
        assert_eq!(creator.site_seats(3), Some(3));
        assert_eq!(key_grant().site_seats(3), Some(0));
        let fields = |g: Grant| {
            g.problems("g")
                .into_iter()
                .map(|v| v.field)
                .collect::<Vec<_>>()
        };
        for wrong in [
            Grant {
                lblm_enabled: false,
                ..creator
            },
            Grant {
                family: Some(Family::Td),
                ..creator
            },
            Grant {
                creator_seats: -1,
                ..creator
            },
        ] {
            assert_eq!(fields(wrong), ["g.creator_seats"]);
        }
        let old_line: Grant = serde_json::from_str(
            r#"{"product":"DESKTOP","family":"TC","seats":1,"license_type":"TERM","term_months":12,"maintenance_months":12,"lblm_enabled":true}"#,
        )
        .unwrap();
        assert_eq!(
            old_line.creator_seats, 0,
            "lines sold before B11 grant no seats"
        );
    }

    #[test]
    fn b2_grants_must_be_consistent() {
        assert!(key_grant().problems("g").is_empty());
        let fields = |g: Grant| {
            g.problems("g")
                .into_iter()
                .map(|v| v.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(Grant {
                family: None,
                ..key_grant()
            }),
            ["g.family"]
        );
        assert_eq!(
            fields(Grant {
                family: Some(Family::Ts),
                ..key_grant()
            }),
            ["g.family"]
        );
        assert_eq!(
            fields(Grant {
                term_months: 0,
                ..key_grant()
            }),
            ["g.term_months"]
        );
        assert_eq!(
            fields(Grant {
                license_type: Some(LicenseType::Perpetual),
                ..key_grant()
            }),
            ["g.term_months"]
        );
        assert_eq!(
            fields(Grant {
                seats: 0,
                ..key_grant()
            }),
            ["g.seats"]
        );
        let codes = Grant {
            product: Product::Elearning,
            family: None,
            license_type: None,
            term_months: 0,
            ..key_grant()
        };
        assert!(codes.problems("g").is_empty());
        assert_eq!(
            fields(Grant {
                family: Some(Family::Tc),
                ..codes
            }),
            ["g.family"]
        );
    }

    #[test]
    fn b2_units_stay_within_what_licensing_issues() {
        assert_eq!(key_grant().units(3), Some(3));
        assert_eq!(
            Grant {
                seats: 5,
                ..key_grant()
            }
            .units(4),
            Some(20)
        );
        assert_eq!(key_grant().units(0), None);
        assert_eq!(
            Grant {
                seats: 10_000,
                ..key_grant()
            }
            .units(10_000),
            None
        );
        let codes = Grant {
            product: Product::Elearning,
            family: None,
            license_type: None,
            term_months: 0,
            ..key_grant()
        };
        assert_eq!(codes.units(10_001), None);
    }

    #[test]
    fn b2_sku_codes_and_prices_are_checked() {
        assert!(check_code("sku", "DESKTOP-TERM-1Y").is_ok());
        for bad in ["", "desktop", "A B", "-A", "A-", "A_B"] {
            assert!(check_code("sku", bad).is_err(), "{bad}");
        }
        assert!(check_price("p", 0).is_ok());
        assert!(check_price("p", -1).is_err());
        assert!(check_description("d", "  ").is_err());
    }
}
