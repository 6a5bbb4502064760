//! The catalog file shipped with the service (B2): `[[sku]]` tables, every SKU checked like an UpdateSku, each
//! code once. It seeds the catalog table on first start.

use serde::Deserialize;

use super::{Family, Grant, LicenseType, Product, Sku};
use crate::{
    domain::money::{Currency, Money},
    error::{Error, Result},
};

/// The catalog shipped with the service, seeded on first start.
pub const SHIPPED: &str = include_str!("../../../catalog.toml");

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
    /// B11: Creator site seats per unit.
    #[serde(default)]
    creator_seats: i32,
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
                creator_seats: entry.creator_seats,
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
        // B11: the catalog, not code, says which SKUs grant Creator site seats.
        let seated: Vec<&str> = skus
            .iter()
            .filter(|s| s.grant.creator_seats > 0)
            .map(|s| s.code.as_str())
            .collect();
        assert_eq!(seated, ["CREATOR-TERM-1Y"]);
        assert_eq!(creator.grant.creator_seats, 1);
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
}
