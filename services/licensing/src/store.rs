//! Persistence of keys, assignments, activations and deployments. "No row" becomes the domain's not-found
//! here, where it happens.

pub mod entity;

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

pub use entity::{
    activation, assignment, deployment, elearning_code, key, membership, pool_count, report,
    report_quota, run_usage,
};

use crate::{
    domain::{Family, KeyState, Product},
    error::{Error, Result},
};

pub const ACTIVE: &str = "ACTIVE";
pub const DEACTIVATED: &str = "DEACTIVATED";

pub async fn find_key<C: ConnectionTrait>(db: &C, key_id: &str) -> Result<key::Model> {
    key::Entity::find_by_id(key_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::KeyNotFound)
}

pub async fn find_key_by_string<C: ConnectionTrait>(db: &C, key: &str) -> Result<key::Model> {
    key::Entity::find()
        .filter(key::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or(Error::KeyNotFound)
}

/// Serialises mutations of one key: the transaction's first write takes the key row's lock (PostgreSQL row
/// lock, SQLite write lock), so seat and pool checks cannot interleave (L5, L6).
pub async fn lock_key<C: ConnectionTrait>(db: &C, key_id: &str) -> Result<key::Model> {
    // One round trip takes the row lock (PostgreSQL) or the write lock (SQLite) and reads the locked row.
    key::Entity::update_many()
        .col_expr(
            key::Column::Revision,
            Expr::col(key::Column::Revision).add(1),
        )
        .filter(key::Column::KeyId.eq(key_id))
        .exec_with_returning(db)
        .await?
        .pop()
        .ok_or(Error::KeyNotFound)
}

pub async fn lock_deployment<C: ConnectionTrait>(db: &C, deployment_id: &str) -> Result<()> {
    let updated = deployment::Entity::update_many()
        .col_expr(
            deployment::Column::Revision,
            Expr::col(deployment::Column::Revision).add(1),
        )
        .filter(deployment::Column::DeploymentId.eq(deployment_id))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        Err(Error::DeploymentNotFound)
    } else {
        Ok(())
    }
}

pub async fn find_deployment<C: ConnectionTrait>(
    db: &C,
    deployment_id: &str,
) -> Result<deployment::Model> {
    deployment::Entity::find_by_id(deployment_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::DeploymentNotFound)
}

/// The e-mail addresses each of `key_ids` is assigned to.
pub async fn assignees<C: ConnectionTrait>(
    db: &C,
    key_ids: &[String],
) -> Result<HashMap<String, Vec<String>>> {
    let rows = assignment::Entity::find()
        .filter(assignment::Column::KeyId.is_in(key_ids.iter().cloned()))
        .order_by_asc(assignment::Column::CreateTime)
        .all(db)
        .await?;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for row in rows {
        map.entry(row.key_id).or_default().push(row.email);
    }
    Ok(map)
}

/// Active fulfillments per key and product (L6), from the pools' counters.
pub async fn pool_usage<C: ConnectionTrait>(
    db: &C,
    key_ids: &[String],
) -> Result<HashMap<(String, Product), u64>> {
    let rows = pool_count::Entity::find()
        .filter(pool_count::Column::KeyId.is_in(key_ids.iter().cloned()))
        .filter(pool_count::Column::Used.gt(0))
        .all(db)
        .await?;
    rows.into_iter()
        .map(|r| {
            let product = Product::parse(&r.product).ok_or_else(|| {
                Error::internal(format!("pool counter with unknown product {:?}", r.product))
            })?;
            let used = u64::try_from(r.used)
                .map_err(|_| Error::internal(format!("negative pool counter {}", r.used)))?;
            Ok(((r.key_id, product), used))
        })
        .collect()
}

pub async fn count_assignments<C: ConnectionTrait>(db: &C, key_id: &str) -> Result<u64> {
    Ok(assignment::Entity::find()
        .filter(assignment::Column::KeyId.eq(key_id))
        .count(db)
        .await?)
}

pub async fn find_assignment<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    email_key: &str,
) -> Result<Option<assignment::Model>> {
    Ok(
        assignment::Entity::find_by_id((key_id.to_string(), email_key.to_string()))
            .one(db)
            .await?,
    )
}

/// The machine's active fulfillment of the key's `product` pool, if it has one.
pub async fn active_activation_id<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    product: Product,
    fingerprint: &str,
) -> Result<Option<String>> {
    Ok(activation::Entity::find()
        .select_only()
        .column(activation::Column::ActivationId)
        .filter(activation::Column::KeyId.eq(key_id))
        .filter(activation::Column::Product.eq(product.as_str()))
        .filter(activation::Column::MachineFingerprint.eq(fingerprint))
        .filter(activation::Column::State.eq(ACTIVE))
        .into_tuple()
        .one(db)
        .await?)
}

/// Writes a new activation; `None` when the machine already holds an active one on the pool (the partial
/// unique index: a concurrent activation of the same machine committed first).
pub async fn insert_activation<C: ConnectionTrait>(
    db: &C,
    row: activation::ActiveModel,
) -> Result<Option<activation::Model>> {
    use sea_orm::ActiveModelTrait;
    match row.insert(db).await {
        Ok(created) => Ok(Some(created)),
        Err(e) if portal_runtime::idempotency::is_conflict(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The same machine activating again: what we know of it is refreshed; `None` if the activation is no longer
/// active (released since it was looked up).
pub async fn touch_activation<C: ConnectionTrait>(
    db: &C,
    activation_id: &str,
    hostname: &str,
    version: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<activation::Model>> {
    Ok(activation::Entity::update_many()
        .col_expr(activation::Column::Hostname, Expr::value(hostname))
        .col_expr(activation::Column::Version, Expr::value(version))
        .col_expr(activation::Column::LastUseTime, Expr::value(now))
        .filter(activation::Column::ActivationId.eq(activation_id))
        .filter(activation::Column::State.eq(ACTIVE))
        .exec_with_returning(db)
        .await?
        .pop())
}

/// Takes one fulfillment from the key's `product` pool of `limit`, in one statement that also locks the pool's
/// counter row; false when the pool is empty (L6).
pub async fn take_from_pool<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    product: Product,
    limit: u64,
) -> Result<bool> {
    if limit == 0 {
        return Ok(false);
    }
    let backend = db.get_database_backend();
    let p = portal_runtime::db::placeholders(backend, 3);
    let sql = format!(
        "INSERT INTO pool_counts (key_id, product, used) VALUES ({k}, {p}, 1) \
         ON CONFLICT (key_id, product) DO UPDATE SET used = pool_counts.used + 1 \
         WHERE pool_counts.used < {l} RETURNING used",
        k = p[0],
        p = p[1],
        l = p[2],
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [key_id.into(), product.as_str().into(), limit.into()],
    );
    Ok(db.query_one_raw(statement).await?.is_some())
}

/// Releases active fulfillments (matching `filter`) with a deactivation time, and gives them back to their
/// pools in the same transaction; returns how many.
pub async fn deactivate_where<C: ConnectionTrait>(
    db: &C,
    filter: sea_orm::Condition,
) -> Result<u64> {
    let now = chrono::Utc::now();
    let released = activation::Entity::update_many()
        .col_expr(activation::Column::State, Expr::value(DEACTIVATED))
        .col_expr(activation::Column::DeactivateTime, Expr::value(Some(now)))
        .filter(activation::Column::State.eq(ACTIVE))
        .filter(filter)
        .exec_with_returning(db)
        .await?;
    // Counter rows are touched in one order, so transactions releasing several pools cannot deadlock.
    let mut per_pool: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for row in &released {
        *per_pool
            .entry((row.key_id.clone(), row.product.clone()))
            .or_default() += 1;
    }
    for ((key_id, product), n) in per_pool {
        let updated = pool_count::Entity::update_many()
            .col_expr(
                pool_count::Column::Used,
                Expr::col(pool_count::Column::Used).sub(n),
            )
            .filter(pool_count::Column::KeyId.eq(key_id.as_str()))
            .filter(pool_count::Column::Product.eq(product.as_str()))
            .exec(db)
            .await?;
        if updated.rows_affected != 1 {
            return Err(Error::internal(format!(
                "pool counter missing for a released fulfillment of key {key_id}"
            )));
        }
    }
    Ok(u64::try_from(released.len()).unwrap_or(u64::MAX))
}

/// Which keys of an account a listing shows.
#[derive(Debug, Clone)]
pub enum KeyScope {
    All,
    /// Owned by this user id, or assigned to this e-mail key.
    Holder {
        user_id: String,
        email_key: String,
    },
}

pub async fn list_keys<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    scope: &KeyScope,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<key::Model>> {
    let mut query = key::Entity::find().filter(key::Column::AccountId.eq(account_id));
    if let KeyScope::Holder { user_id, email_key } = scope {
        let assigned: Vec<String> = assignment::Entity::find()
            .select_only()
            .column(assignment::Column::KeyId)
            .filter(assignment::Column::AccountId.eq(account_id))
            .filter(assignment::Column::EmailKey.eq(email_key.as_str()))
            .into_tuple()
            .all(db)
            .await?;
        query = query.filter(
            sea_orm::Condition::any()
                .add(key::Column::OwnerUserId.eq(user_id.as_str()))
                .add(key::Column::KeyId.is_in(assigned)),
        );
    }
    if let Some(after) = after {
        query = query.filter(key::Column::KeyId.gt(after));
    }
    Ok(query
        .order_by_asc(key::Column::KeyId)
        .limit(limit)
        .all(db)
        .await?)
}

#[derive(Debug, FromQueryResult)]
struct HoldingCounts {
    owned: i64,
    assigned: i64,
}

/// (owned, assigned) counts of a person in an account; revoked keys do not count. One statement: this is on
/// the path of every persona decision for a Download Only user (I9).
pub async fn holdings<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    user_id: &str,
    email_key: &str,
) -> Result<(u64, u64)> {
    let backend = db.get_database_backend();
    let p = portal_runtime::db::placeholders(backend, 4);
    let sql = format!(
        "SELECT \
           (SELECT COUNT(*) FROM keys WHERE account_id = {a} AND owner_user_id = {u} AND state <> {revoked}) AS owned, \
           (SELECT COUNT(*) FROM assignments WHERE account_id = {a} AND email_key = {e}) AS assigned",
        a = p[0],
        u = p[1],
        e = p[2],
        revoked = p[3],
    );
    let statement = sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [
            account_id.into(),
            user_id.into(),
            email_key.into(),
            KeyState::Revoked.as_str().into(),
        ],
    );
    let counts = HoldingCounts::find_by_statement(statement)
        .one(db)
        .await?
        .ok_or_else(|| Error::internal("holdings query returned no row"))?;
    let count = |n: i64| {
        u64::try_from(n).map_err(|_| Error::internal(format!("negative holding count {n}")))
    };
    Ok((count(counts.owned)?, count(counts.assigned)?))
}

/// Marks active term keys past their period end `EXPIRED` (L7). One statement: idempotent and safe to run
/// from several replicas at once.
pub async fn expire_due_keys<C: ConnectionTrait>(
    db: &C,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64> {
    let result = key::Entity::update_many()
        .col_expr(key::Column::State, Expr::value(KeyState::Expired.as_str()))
        .col_expr(key::Column::UpdateTime, Expr::value(now))
        .filter(key::Column::State.eq(KeyState::Active.as_str()))
        .filter(key::Column::LicenseType.eq("TERM"))
        .filter(key::Column::PeriodEnd.lte(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// The next `limit` account ids after `after`, in order, holding an active key of one of `families` or (when
/// `deployments` is set) an active deployment; with the families each holds and whether it has a deployment.
pub async fn accounts_holding<C: ConnectionTrait>(
    db: &C,
    families: &[Family],
    deployments: bool,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<(String, Vec<Family>, bool)>> {
    let prefixes: Vec<&str> = families.iter().map(|f| f.as_str()).collect();
    let mut keys = key::Entity::find()
        .select_only()
        .column(key::Column::AccountId)
        .distinct()
        .filter(key::Column::State.eq(KeyState::Active.as_str()))
        .filter(key::Column::Family.is_in(prefixes.clone()));
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
            .filter(deployment::Column::State.eq(ACTIVE));
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
    let pairs: Vec<(String, String)> = key::Entity::find()
        .select_only()
        .column(key::Column::AccountId)
        .column(key::Column::Family)
        .distinct()
        .filter(key::Column::State.eq(KeyState::Active.as_str()))
        .filter(key::Column::Family.is_in(prefixes))
        .filter(key::Column::AccountId.is_in(accounts.clone()))
        .into_tuple()
        .all(db)
        .await?;
    let mut held: HashMap<String, Vec<Family>> = HashMap::new();
    for (account, family) in pairs {
        held.entry(account)
            .or_default()
            .extend(Family::parse(&family));
    }
    Ok(accounts
        .into_iter()
        .map(|account| {
            let site = site_accounts.binary_search(&account).is_ok();
            let families = held.remove(&account).unwrap_or_default();
            (account, families, site)
        })
        .collect())
}
