//! The contracts' product vocabulary (L1) and the shared one in `portal_policy`, converted in one place: every
//! service translates products, key families and license types the same way. From the wire, `UNSPECIFIED` or
//! a number the contract does not name is `Err(())` — the caller says which field was wrong.

use portal_policy::{Family, LicenseType, Product};

use crate::common;

impl From<Product> for common::Product {
    fn from(product: Product) -> Self {
        match product {
            Product::Desktop => common::Product::Desktop,
            Product::PrepBuilder => common::Product::PrepBuilder,
            Product::Server => common::Product::Server,
            Product::Elearning => common::Product::Elearning,
        }
    }
}

impl From<Family> for common::KeyFamily {
    fn from(family: Family) -> Self {
        match family {
            Family::Tc => common::KeyFamily::Tc,
            Family::Td => common::KeyFamily::Td,
            Family::Ts => common::KeyFamily::Ts,
        }
    }
}

impl From<LicenseType> for common::LicenseType {
    fn from(license_type: LicenseType) -> Self {
        match license_type {
            LicenseType::Term => common::LicenseType::Term,
            LicenseType::Perpetual => common::LicenseType::Perpetual,
        }
    }
}

/// The product a wire value names.
pub fn product(raw: i32) -> Result<Product, ()> {
    match common::Product::try_from(raw) {
        Ok(common::Product::Desktop) => Ok(Product::Desktop),
        Ok(common::Product::PrepBuilder) => Ok(Product::PrepBuilder),
        Ok(common::Product::Server) => Ok(Product::Server),
        Ok(common::Product::Elearning) => Ok(Product::Elearning),
        Ok(common::Product::Unspecified) | Err(_) => Err(()),
    }
}

/// The key family a wire value names.
pub fn family(raw: i32) -> Result<Family, ()> {
    match common::KeyFamily::try_from(raw) {
        Ok(common::KeyFamily::Tc) => Ok(Family::Tc),
        Ok(common::KeyFamily::Td) => Ok(Family::Td),
        Ok(common::KeyFamily::Ts) => Ok(Family::Ts),
        Ok(common::KeyFamily::Unspecified) | Err(_) => Err(()),
    }
}

/// The license type a wire value names.
pub fn license_type(raw: i32) -> Result<LicenseType, ()> {
    match common::LicenseType::try_from(raw) {
        Ok(common::LicenseType::Term) => Ok(LicenseType::Term),
        Ok(common::LicenseType::Perpetual) => Ok(LicenseType::Perpetual),
        Ok(common::LicenseType::Unspecified) | Err(_) => Err(()),
    }
}
