//! What the vendor sells (L1): products, the key families that license them, and license types. Licensing
//! issues keys of these families and billing sells them, so both speak this one vocabulary — also in their
//! databases: each is a sea-orm enum column storing the names below, so a row can hold no other value.

use sea_orm::{DeriveActiveEnum, EnumIter, sea_query::StringLen};
use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Product {
    #[sea_orm(string_value = "DESKTOP")]
    Desktop,
    #[sea_orm(string_value = "PREP_BUILDER")]
    PrepBuilder,
    #[sea_orm(string_value = "SERVER")]
    Server,
    #[sea_orm(string_value = "ELEARNING")]
    Elearning,
}

impl Product {
    pub const ALL: [Product; 4] = [
        Product::Desktop,
        Product::PrepBuilder,
        Product::Server,
        Product::Elearning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Product::Desktop => "DESKTOP",
            Product::PrepBuilder => "PREP_BUILDER",
            Product::Server => "SERVER",
            Product::Elearning => "ELEARNING",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Product::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A product key's family, named by its prefix.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "UPPERCASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Family {
    /// Desktop + Prep Builder.
    #[sea_orm(string_value = "TC")]
    Tc,
    /// Desktop only (legacy).
    #[sea_orm(string_value = "TD")]
    Td,
    /// Server.
    #[sea_orm(string_value = "TS")]
    Ts,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Tc, Family::Td, Family::Ts];

    /// The key prefix: `TC`, `TD` or `TS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Tc => "TC",
            Family::Td => "TD",
            Family::Ts => "TS",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Family::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// L1: `TC` covers Desktop and Prep Builder, `TD` Desktop, `TS` Server.
    pub fn products(self) -> &'static [Product] {
        match self {
            Family::Tc => &[Product::Desktop, Product::PrepBuilder],
            Family::Td => &[Product::Desktop],
            Family::Ts => &[Product::Server],
        }
    }

    pub fn covers(self, product: Product) -> bool {
        self.products().contains(&product)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "UPPERCASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum LicenseType {
    /// Usable until its period end; refreshed by moving that date (L7).
    #[sea_orm(string_value = "TERM")]
    Term,
    /// Usable forever; only maintenance ends.
    #[sea_orm(string_value = "PERPETUAL")]
    Perpetual,
}

impl LicenseType {
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseType::Term => "TERM",
            LicenseType::Perpetual => "PERPETUAL",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [LicenseType::Term, LicenseType::Perpetual]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l1_families_cover_their_products() {
        assert!(Family::Tc.covers(Product::Desktop) && Family::Tc.covers(Product::PrepBuilder));
        assert!(Family::Td.covers(Product::Desktop) && !Family::Td.covers(Product::PrepBuilder));
        assert!(Family::Ts.covers(Product::Server) && !Family::Ts.covers(Product::Desktop));
        assert!(Family::ALL.iter().all(|f| !f.covers(Product::Elearning)));
    }

    #[test]
    fn l1_names_round_trip() {
        for p in Product::ALL {
            assert_eq!(Product::parse(p.as_str()), Some(p));
        }
        for f in Family::ALL {
            assert_eq!(Family::parse(f.as_str()), Some(f));
        }
        assert_eq!(
            LicenseType::parse("PERPETUAL"),
            Some(LicenseType::Perpetual)
        );
        assert_eq!(Family::parse("TX"), None);
    }
}
