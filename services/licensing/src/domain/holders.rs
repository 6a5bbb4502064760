//! Which accounts hold which products, how an advisory finds its targets (N1): an account holds a product
//! when it has an active key of a family covering it (L1), or — for Server — an active deployment (L8).

use crate::domain::{Family, Product};

/// One account's active holdings, as far as product targeting needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountHoldings {
    pub account_id: String,
    /// Families of its active keys.
    pub families: Vec<Family>,
    /// Whether it has an active deployment.
    pub has_deployment: bool,
}

/// The products asked about, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    products: Vec<Product>,
}

impl ProductQuery {
    pub fn new(mut products: Vec<Product>) -> Self {
        products.sort();
        products.dedup();
        Self { products }
    }

    /// L1: the key families that cover any of the products.
    pub fn families(&self) -> Vec<Family> {
        Family::ALL
            .into_iter()
            .filter(|f| self.products.iter().any(|p| f.covers(*p)))
            .collect()
    }

    /// L8: whether an active deployment counts (it runs Server).
    pub fn counts_deployments(&self) -> bool {
        self.products.contains(&Product::Server)
    }

    /// The products asked about that `account` holds.
    pub fn held_by(&self, account: &AccountHoldings) -> Vec<Product> {
        self.products
            .iter()
            .copied()
            .filter(|p| {
                account.families.iter().any(|f| f.covers(*p))
                    || (account.has_deployment && *p == Product::Server)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l1_l8_accounts_hold_products_through_key_families_and_deployments() {
        let query = ProductQuery::new(vec![Product::Server, Product::Desktop, Product::Server]);
        assert_eq!(query.families(), vec![Family::Tc, Family::Td, Family::Ts]);
        assert!(query.counts_deployments());
        let site_only = AccountHoldings {
            account_id: "a".into(),
            families: vec![],
            has_deployment: true,
        };
        assert_eq!(query.held_by(&site_only), vec![Product::Server]);
        let desktop = AccountHoldings {
            account_id: "b".into(),
            families: vec![Family::Td],
            has_deployment: false,
        };
        assert_eq!(query.held_by(&desktop), vec![Product::Desktop]);
    }
}
