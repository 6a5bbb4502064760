//! L6: each key has a pool of fulfillments per product it covers, of a size set by its seats. What activating a
//! machine takes from it is decided by [`l6_activate`]; that a pool never gives out more than its limit, also
//! under concurrent activations, is guarded where the count lives: one conditional increment of the pool's
//! counter (`store::activations::take_from_pool`), refused at [`FulfillmentPool::limit`].

use chrono::{DateTime, Utc};

use crate::{
    domain::{Family, Key, Product, ensure_activatable},
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

/// L6: what one activation does with its pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    /// The same machine again takes none: its active activation is refreshed.
    Again { activation_id: String },
    /// A new machine takes one fulfillment.
    One,
}

/// L6: activating a machine on `key`'s `pool`, of which `used` fulfillments are taken and the machine holds
/// `held` (its active activation, if any). An expired or revoked key refuses (L7, L13); the same machine again
/// takes none; a new machine takes one, and an empty pool refuses (`MAX_ACTIVATIONS`).
pub fn l6_activate(
    key: &Key,
    pool: &FulfillmentPool,
    held: Option<String>,
    used: u64,
    now: DateTime<Utc>,
) -> Result<Take> {
    ensure_activatable(key, now)?;
    if let Some(activation_id) = held {
        return Ok(Take::Again { activation_id });
    }
    if used >= pool.limit {
        return Err(Error::MaxActivations);
    }
    Ok(Take::One)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::{KeyState, LicenseType, key::tests::key};

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

    #[test]
    fn l6_the_same_machine_takes_none_a_new_one_takes_one_until_empty() {
        let now = chrono::Utc::now();
        let key = key(KeyState::Active, LicenseType::Perpetual);
        let pool = FulfillmentPool::of(key.family, Product::Desktop, 1).unwrap();
        assert_eq!(
            l6_activate(&key, &pool, Some("act_1".into()), 2, now).unwrap(),
            Take::Again {
                activation_id: "act_1".into()
            }
        );
        assert_eq!(l6_activate(&key, &pool, None, 1, now).unwrap(), Take::One);
        assert!(matches!(
            l6_activate(&key, &pool, None, 2, now),
            Err(Error::MaxActivations)
        ));
    }

    #[test]
    fn l6_an_expired_or_revoked_key_activates_nothing() {
        let now = chrono::Utc::now();
        let pool = FulfillmentPool::of(Family::Tc, Product::Desktop, 1).unwrap();
        let revoked = key(KeyState::Revoked, LicenseType::Perpetual);
        let expired = key(KeyState::Expired, LicenseType::Perpetual);
        assert!(matches!(
            l6_activate(&revoked, &pool, Some("act_1".into()), 0, now),
            Err(Error::KeyRevoked)
        ));
        assert!(matches!(
            l6_activate(&expired, &pool, None, 0, now),
            Err(Error::KeyExpired)
        ));
    }
}
