//! L6: each key has a pool of fulfillments per product it covers.

use crate::{
    domain::{Family, Product},
    error::{Error, Result},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FulfillmentPool {
    pub product: Product,
    pub used: u64,
    pub limit: u64,
}

impl FulfillmentPool {
    /// Seats × 2 for Desktop, × 1 for Prep Builder and Server.
    pub fn limit(product: Product, seats: u64) -> u64 {
        match product {
            Product::Desktop => seats.saturating_mul(2),
            Product::PrepBuilder | Product::Server | Product::Elearning => seats,
        }
    }

    pub fn of(family: Family, product: Product, seats: u64, used: u64) -> Result<Self> {
        if !family.covers(product) {
            return Err(Error::ProductNotInFamily);
        }
        Ok(Self {
            product,
            used,
            limit: Self::limit(product, seats),
        })
    }

    /// Takes one fulfillment for a machine not yet active on the key; a machine already active takes none.
    pub fn take(&self, machine_already_active: bool) -> Result<()> {
        if machine_already_active || self.used < self.limit {
            Ok(())
        } else {
            Err(Error::MaxActivations)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l6_pool_sizes_follow_the_product() {
        assert_eq!(FulfillmentPool::limit(Product::Desktop, 3), 6);
        assert_eq!(FulfillmentPool::limit(Product::PrepBuilder, 3), 3);
        assert_eq!(FulfillmentPool::limit(Product::Server, 3), 3);
    }

    #[test]
    fn l6_an_empty_pool_refuses_new_machines_but_not_known_ones() {
        let full = FulfillmentPool::of(Family::Td, Product::Desktop, 1, 2).unwrap();
        assert!(matches!(full.take(false), Err(Error::MaxActivations)));
        assert!(full.take(true).is_ok());
        assert!(
            FulfillmentPool::of(Family::Td, Product::Desktop, 1, 1)
                .unwrap()
                .take(false)
                .is_ok()
        );
    }

    #[test]
    fn l6_a_key_only_activates_its_family_products() {
        assert!(matches!(
            FulfillmentPool::of(Family::Ts, Product::Desktop, 1, 0),
            Err(Error::ProductNotInFamily)
        ));
    }
}
