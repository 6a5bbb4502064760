//! Which accounts hold which products (N1's advisory targets): active keys of a family, or an active
//! deployment.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{column, deployment, key};
use crate::{
    domain::{Family, holders::AccountHoldings},
    error::Result,
};

/// The next `limit` account ids after `after`, in order, holding an active key of one of `families` or (when
/// `deployments` is set) an active deployment; with the families each holds and whether it has a deployment.
pub async fn accounts_holding<C: ConnectionTrait>(
    db: &C,
    families: &[Family],
    deployments: bool,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<AccountHoldings>> {
    let stored: Vec<column::Family> = families.to_vec();
    let mut keys = key::Entity::find()
        .select_only()
        .column(key::Column::AccountId)
        .distinct()
        .filter(key::Column::State.eq(column::KeyState::Active))
        .filter(key::Column::Family.is_in(stored.clone()));
    if let Some(after) = after {
        keys = keys.filter(key::Column::AccountId.gt(after));
    }
    let key_accounts: Vec<String> = keys
        .order_by_asc(key::Column::AccountId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let mut site_accounts: Vec<String> = Vec::new();
    if deployments {
        let mut query = deployment::Entity::find()
            .select_only()
            .column(deployment::Column::AccountId)
            .distinct()
            .filter(deployment::Column::State.eq(column::DeploymentState::Active));
        if let Some(after) = after {
            query = query.filter(deployment::Column::AccountId.gt(after));
        }
        site_accounts = query
            .order_by_asc(deployment::Column::AccountId)
            .limit(limit)
            .into_tuple()
            .all(db)
            .await?;
    }
    // Each list is complete up to its last id only if it was cut by the limit.
    let horizon = |v: &Vec<String>| {
        if v.len() as u64 >= limit {
            v.last().cloned()
        } else {
            None
        }
    };
    let cut = [horizon(&key_accounts), horizon(&site_accounts)]
        .into_iter()
        .flatten()
        .min();
    let mut accounts: Vec<String> = key_accounts
        .iter()
        .chain(site_accounts.iter())
        .cloned()
        .collect();
    accounts.sort();
    accounts.dedup();
    accounts.retain(|a| cut.as_ref().is_none_or(|c| a <= c));
    accounts.truncate(limit as usize);
    let pairs: Vec<(String, column::Family)> = key::Entity::find()
        .select_only()
        .column(key::Column::AccountId)
        .column(key::Column::Family)
        .distinct()
        .filter(key::Column::State.eq(column::KeyState::Active))
        .filter(key::Column::Family.is_in(stored))
        .filter(key::Column::AccountId.is_in(accounts.clone()))
        .into_tuple()
        .all(db)
        .await?;
    let mut held: HashMap<String, Vec<Family>> = HashMap::new();
    for (account, family) in pairs {
        held.entry(account).or_default().push(family);
    }
    Ok(accounts
        .into_iter()
        .map(|account| {
            let has_deployment = site_accounts.binary_search(&account).is_ok();
            let families = held.remove(&account).unwrap_or_default();
            AccountHoldings {
                account_id: account,
                families,
                has_deployment,
            }
        })
        .collect())
}
