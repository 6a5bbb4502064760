//! The catalog (B2): SKUs with a price and what licensing issues for one unit (a [`Grant`]), and the catalog
//! file shipped with the service that seeds it.

use portal_runtime::error::FieldViolation;
use serde::{Deserialize, Serialize};

use super::money::{Currency, Money};
use crate::error::{Error, Result};

/// The catalog shipped with the service, seeded on first start.
pub const SHIPPED: &str = include_str!("../../catalog.toml");

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
    let trimmed = description.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > MAX_DESCRIPTION
        || trimmed.chars().any(char::is_control)
    {
        Err(FieldViolation::new(
            field,
            format!("must be 1 to {MAX_DESCRIPTION} printable characters"),
        ))
    } else {
        Ok(())
    }
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

/// One `[[sku]]` table of the catalog file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    sku: String,
    description: String,
    unit_price_minor: i64,
    currency: String,
    product: String,
    family: Option<String>,
    seats: i32,
    license_type: Option<String>,
    #[serde(default)]
    term_months: i32,
    #[serde(default)]
    maintenance_months: i32,
    #[serde(default)]
    lblm_enabled: bool,
    #[serde(default = "active_by_default")]
    active: bool,
}

fn active_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    sku: Vec<Entry>,
}

/// Parses and checks a catalog file; every SKU must be valid and appear once.
pub fn parse_catalog(text: &str) -> Result<Vec<Sku>> {
    let file: CatalogFile =
        toml::from_str(text).map_err(|e| Error::internal(format!("catalog file: {e}")))?;
    let mut skus: Vec<Sku> = Vec::new();
    for (i, entry) in file.sku.into_iter().enumerate() {
        let prefix = format!("sku[{i}]");
        let bad = |what: &str| Error::internal(format!("catalog file: {prefix}: {what}"));
        let currency =
            Currency::parse("currency", &entry.currency).map_err(|v| bad(&v.description))?;
        let product = Product::parse(&entry.product).ok_or_else(|| bad("unknown product"))?;
        let family = entry
            .family
            .as_deref()
            .map(|f| Family::parse(f).ok_or_else(|| bad("unknown family")))
            .transpose()?;
        let license_type = entry
            .license_type
            .as_deref()
            .map(|t| LicenseType::parse(t).ok_or_else(|| bad("unknown license type")))
            .transpose()?;
        let sku = Sku {
            code: entry.sku,
            description: entry.description,
            unit_price: Money::new(entry.unit_price_minor, currency),
            grant: Grant {
                product,
                family,
                seats: entry.seats,
                license_type,
                term_months: entry.term_months,
                maintenance_months: entry.maintenance_months,
                lblm_enabled: entry.lblm_enabled,
            },
            active: entry.active,
        };
        if let Some(problem) = sku.problems(&prefix).into_iter().next() {
            return Err(bad(&format!("{}: {}", problem.field, problem.description)));
        }
        if skus.iter().any(|s| s.code == sku.code) {
            return Err(bad(&format!("{} appears twice", sku.code)));
        }
        skus.push(sku);
    }
    Ok(skus)
}

/// The catalog shipped with the service.
pub fn shipped() -> Result<Vec<Sku>> {
    parse_catalog(SHIPPED)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key_grant() -> Grant {
        Grant {
            product: Product::Desktop,
            family: Some(Family::Td),
            seats: 1,
            license_type: Some(LicenseType::Term),
            term_months: 12,
            maintenance_months: 12,
            lblm_enabled: false,
        }
    }

    #[test]
    fn b2_the_shipped_catalog_parses_and_sells_every_product() {
        let skus = shipped().unwrap();
        for product in [
            Product::Desktop,
            Product::PrepBuilder,
            Product::Server,
            Product::Elearning,
        ] {
            assert!(
                skus.iter().any(|s| s.grant.product == product && s.active),
                "{product:?}"
            );
        }
        let creator = skus.iter().find(|s| s.code == "CREATOR-TERM-1Y").unwrap();
        assert_eq!(
            (creator.grant.family, creator.grant.lblm_enabled),
            (Some(Family::Tc), true)
        );
        let elearning = skus
            .iter()
            .find(|s| s.grant.product == Product::Elearning)
            .unwrap();
        assert_eq!(
            (elearning.grant.family, elearning.grant.license_type),
            (None, None)
        );
    }

    #[test]
    fn b2_catalog_files_with_bad_entries_are_refused() {
        let good = r#"
            [[sku]]
            sku = "X-1"
            description = "X"
            unit_price_minor = 100
            currency = "USD"
            product = "DESKTOP"
            family = "TD"
            seats = 1
            license_type = "TERM"
            term_months = 12
            maintenance_months = 12
        "#;
        assert_eq!(parse_catalog(good).unwrap().len(), 1);
        assert!(parse_catalog(&good.replace("\"USD\"", "\"usd\"")).is_err());
        assert!(
            parse_catalog(&good.replace("\"TD\"", "\"TS\"")).is_err(),
            "TS does not cover Desktop"
        );
        assert!(parse_catalog(&good.replace("= 100", "= -1")).is_err());
        assert!(
            parse_catalog(&format!("{good}\n{good}")).is_err(),
            "duplicate SKU"
        );
        assert!(parse_catalog("[[sku]]\nsku = 1").is_err());
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
