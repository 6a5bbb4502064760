//! L6: each key has a pool of fulfillments per product it covers, of a size set by its seats. That a pool never
//! gives out more than its limit, also under concurrent activations, is enforced where the count lives: one
//! conditional increment of the pool's counter (`store::activations::take_from_pool`), refused at
//! [`FulfillmentPool::limit`].

use crate::{
    domain::{Family, Product},
    error::{Error, Result},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FulfillmentPool {
    pub product: Product,
    pub limit: u64,
}

impl FulfillmentPool {
    /// L6: seats × 2 for Desktop, × 1 for Prep Builder and Server.
    pub fn limit(product: Product, seats: u64) -> u64 {
        match product {
            Product::Desktop => seats.saturating_mul(2),
            Product::PrepBuilder | Product::Server | Product::Elearning => seats,
        }
    }

    /// L6: the `product` pool of a key of `family` with `seats`; a product the family does not cover has none.
    pub fn of(family: Family, product: Product, seats: u64) -> Result<Self> {
        if !family.covers(product) {
            return Err(Error::ProductNotInFamily);
        }
        Ok(Self {
            product,
            limit: Self::limit(product, seats),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn l6_pool_sizes_follow_the_product() {
        assert_eq!(FulfillmentPool::limit(Product::Desktop, 3), 6);
        assert_eq!(FulfillmentPool::limit(Product::PrepBuilder, 3), 3);
        assert_eq!(FulfillmentPool::limit(Product::Server, 3), 3);
    }

    #[test]
    fn l6_a_key_only_activates_its_family_products() {
        assert!(matches!(
            FulfillmentPool::of(Family::Ts, Product::Desktop, 1),
            Err(Error::ProductNotInFamily)
        ));
        let pool = FulfillmentPool::of(Family::Tc, Product::PrepBuilder, 4).unwrap();
        assert_eq!(pool.limit, 4);
    }
}
