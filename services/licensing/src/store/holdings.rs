//! A person's key facts in an account (I9), and releasing them when identity removes the person (I8).

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, sea_query::Expr,
};

use super::{activations, assignment, column, key, membership, stored_count};
use crate::error::{Error, Result};

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
            column::KeyState::Revoked.into(),
        ],
    );
    let counts = HoldingCounts::find_by_statement(statement)
        .one(db)
        .await?
        .ok_or_else(|| Error::internal("holdings query returned no row"))?;
    Ok((
        stored_count(counts.owned, "holding count")?,
        stored_count(counts.assigned, "holding count")?,
    ))
}

/// What releasing a person's holdings ended (I8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    pub assignments: u64,
    pub ownerships: u64,
    pub activations: u64,
    pub site_roles: u64,
}

/// I8: a removed person's assignments, ownerships, activations and site roles (Creator seats among them) in
/// the account end, in one transaction.
pub async fn release_holdings<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    user_id: &str,
    email_key: &str,
) -> Result<Released> {
    let assignments = assignment::Entity::delete_many()
        .filter(assignment::Column::AccountId.eq(account_id))
        .filter(assignment::Column::EmailKey.eq(email_key))
        .exec(db)
        .await?
        .rows_affected;
    let activations =
        activations::release_person(db, activations::Within::Account(account_id), email_key)
            .await?;
    let ownerships = key::Entity::update_many()
        .col_expr(
            key::Column::OwnerUserId,
            Expr::value(Option::<String>::None),
        )
        .filter(key::Column::AccountId.eq(account_id))
        .filter(key::Column::OwnerUserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected;
    let site_roles = membership::Entity::delete_many()
        .filter(membership::Column::AccountId.eq(account_id))
        .filter(membership::Column::EmailKey.eq(email_key))
        .exec(db)
        .await?
        .rows_affected;
    Ok(Released {
        assignments,
        ownerships,
        activations,
        site_roles,
    })
}
