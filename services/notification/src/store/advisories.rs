//! Advisories (N1) and the lease under which one resolver writes an advisory's recipients (N2, N3).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};

use serde::{Deserialize, Serialize};

use super::{entity, entity::advisory, keyset_page, to_json, unreadable};
use crate::{
    domain::{
        Advisory, AdvisoryState, Coverage, DeliveryState, NewAdvisory, Tlp, UnreachableAccount,
    },
    error::{Error, Result},
};

/// N7: an unreachable account as `advisories.unreachable_accounts` holds it (a JSON list): with its name since
/// names were kept, a bare id in rows resolved before, which read with an empty name.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum StoredUnreachable {
    Named { id: String, name: String },
    Id(String),
}

impl From<StoredUnreachable> for UnreachableAccount {
    fn from(stored: StoredUnreachable) -> Self {
        match stored {
            StoredUnreachable::Named { id, name } => Self {
                account_id: id,
                account_name: name,
            },
            StoredUnreachable::Id(id) => Self {
                account_id: id,
                account_name: String::new(),
            },
        }
    }
}

fn stored_unreachable(accounts: &[UnreachableAccount]) -> Vec<StoredUnreachable> {
    accounts
        .iter()
        .map(|a| StoredUnreachable::Named {
            id: a.account_id.clone(),
            name: a.account_name.clone(),
        })
        .collect()
}

/// The next advisory number of `year` (N1), taken inside the publishing transaction so a rollback returns it.
pub async fn next_number<C: ConnectionTrait>(db: &C, year: i32) -> Result<i64> {
    db.execute_unprepared(&format!("INSERT INTO advisory_counters (year, last) VALUES ({year}, 0) ON CONFLICT (year) DO NOTHING")).await?;
    entity::counter::Entity::update_many()
        .col_expr(
            entity::counter::Column::Last,
            Expr::col(entity::counter::Column::Last).add(1),
        )
        .filter(entity::counter::Column::Year.eq(year))
        .exec(db)
        .await?;
    let row = entity::counter::Entity::find_by_id(year)
        .one(db)
        .await?
        .ok_or_else(|| Error::internal("advisory counter vanished"))?;
    Ok(row.last)
}

/// Writes a published advisory, still resolving its recipients (N3).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    ordinal: i64,
    new: &NewAdvisory,
    now: DateTime<Utc>,
) -> Result<Advisory> {
    let row = advisory::ActiveModel {
        advisory_id: Set(advisory_id.to_string()),
        ordinal: Set(ordinal),
        kind: Set(new.kind),
        severity: Set(new.severity),
        tlp: Set(new.tlp),
        title: Set(new.title.clone()),
        body: Set(to_json(&new.content)?),
        target: Set(to_json(&new.target)?),
        state: Set(AdvisoryState::Resolving),
        accounts_targeted: Set(0),
        fallback_accounts: Set("[]".into()),
        unreachable_accounts: Set("[]".into()),
        resolver_lease_until: Set(None),
        create_time: Set(now),
        resolve_time: Set(None),
    }
    .insert(db)
    .await?;
    read(row)
}

/// The advisory, or `ADVISORY_NOT_FOUND`.
pub async fn find<C: ConnectionTrait>(db: &C, advisory_id: &str) -> Result<Advisory> {
    let row = advisory::Entity::find_by_id(advisory_id.to_string())
        .one(db)
        .await?
        .ok_or(Error::AdvisoryNotFound)?;
    read(row)
}

/// Up to `limit` advisories in publishing order, after the one numbered `after`.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<Advisory>> {
    let query = advisory::Entity::find();
    keyset_page(db, query, advisory::Column::Ordinal, after, limit, read).await
}

/// N15: the advisories labelled with one of `labels`, in publishing order.
pub async fn labelled<C: ConnectionTrait>(db: &C, labels: &[Tlp]) -> Result<Vec<Advisory>> {
    advisory::Entity::find()
        .filter(advisory::Column::Tlp.is_in(labels.iter().copied()))
        .order_by_asc(advisory::Column::Ordinal)
        .all(db)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

/// N15: how many advisories carry one of `labels`, and the number of the last: what is derived from their
/// content (the CSAF provider's files) changes only with these, since an advisory's content is never edited.
pub async fn labelled_version<C: ConnectionTrait>(
    db: &C,
    labels: &[Tlp],
) -> Result<(i64, Option<i64>)> {
    let version = advisory::Entity::find()
        .select_only()
        .column_as(advisory::Column::Ordinal.count(), "advisories")
        .column_as(advisory::Column::Ordinal.max(), "last")
        .filter(advisory::Column::Tlp.is_in(labels.iter().copied()))
        .into_tuple::<(i64, Option<i64>)>()
        .one(db)
        .await?;
    Ok(version.unwrap_or((0, None)))
}

fn read(row: advisory::Model) -> Result<Advisory> {
    let id = row.advisory_id.as_str();
    Ok(Advisory {
        content: serde_json::from_str(&row.body).map_err(|e| unreadable("advisory body", id, e))?,
        target: serde_json::from_str(&row.target)
            .map_err(|e| unreadable("advisory target", id, e))?,
        unreachable: serde_json::from_str::<Vec<StoredUnreachable>>(&row.unreachable_accounts)
            .map_err(|e| unreadable("advisory unreachable accounts", id, e))?
            .into_iter()
            .map(UnreachableAccount::from)
            .collect(),
        advisory_id: row.advisory_id,
        ordinal: row.ordinal,
        kind: row.kind,
        severity: row.severity,
        tlp: row.tlp,
        title: row.title,
        state: row.state,
        accounts_targeted: row.accounts_targeted,
        create_time: row.create_time,
    })
}

/// Still resolving, and nobody holds the resolution (never taken, or its holder stopped renewing).
fn unresolved_and_free(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(advisory::Column::State.eq(AdvisoryState::Resolving))
        .add(
            Condition::any()
                .add(advisory::Column::ResolverLeaseUntil.is_null())
                .add(advisory::Column::ResolverLeaseUntil.lt(now)),
        )
}

/// N3: takes the resolution of `advisory_id` until `until` if it is still resolving and nobody holds it.
pub async fn claim_resolution(
    db: &DatabaseConnection,
    advisory_id: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool> {
    let claimed = advisory::Entity::update_many()
        .col_expr(
            advisory::Column::ResolverLeaseUntil,
            Expr::value(Some(until)),
        )
        .filter(advisory::Column::AdvisoryId.eq(advisory_id))
        .filter(unresolved_and_free(now))
        .exec(db)
        .await?
        .rows_affected;
    Ok(claimed > 0)
}

/// Keeps the resolution of `advisory_id` until `until` (the resolver is still working).
pub async fn renew_resolution(
    db: &DatabaseConnection,
    advisory_id: &str,
    until: DateTime<Utc>,
) -> Result<()> {
    advisory::Entity::update_many()
        .col_expr(
            advisory::Column::ResolverLeaseUntil,
            Expr::value(Some(until)),
        )
        .filter(advisory::Column::AdvisoryId.eq(advisory_id))
        .exec(db)
        .await?;
    Ok(())
}

/// N3: the recipient list is complete: its staged rows become pending (sendable) and the advisory READY with
/// its coverage, in one transaction.
pub async fn finish_resolution(
    db: &DatabaseConnection,
    advisory_id: &str,
    coverage: &Coverage,
    now: DateTime<Utc>,
) -> Result<()> {
    let txn = portal_runtime::db::begin_write(db).await?;
    entity::delivery::Entity::update_many()
        .col_expr(
            entity::delivery::Column::State,
            Expr::value(DeliveryState::Pending),
        )
        .filter(entity::delivery::Column::AdvisoryId.eq(advisory_id))
        .filter(entity::delivery::Column::State.eq(DeliveryState::Staged))
        .exec(&txn)
        .await?;
    advisory::Entity::update_many()
        .col_expr(advisory::Column::State, Expr::value(AdvisoryState::Ready))
        .col_expr(
            advisory::Column::AccountsTargeted,
            Expr::value(coverage.accounts),
        )
        .col_expr(
            advisory::Column::UnreachableAccounts,
            Expr::value(to_json(&stored_unreachable(&coverage.unreachable))?),
        )
        .col_expr(advisory::Column::ResolveTime, Expr::value(Some(now)))
        .filter(advisory::Column::AdvisoryId.eq(advisory_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Advisories still resolving whose resolver lease has lapsed (a crash, or a failed upstream call).
pub async fn orphaned(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Vec<String>> {
    Ok(advisory::Entity::find()
        .select_only()
        .column(advisory::Column::AdvisoryId)
        .filter(unresolved_and_free(now))
        .into_tuple()
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n7_unreachable_accounts_read_with_their_names_and_old_rows_without() {
        let written = serde_json::to_string(&stored_unreachable(&[UnreachableAccount {
            account_id: "acc-1".into(),
            account_name: "Empty, Inc.".into(),
        }]))
        .unwrap();
        let read = |json: &str| -> Vec<UnreachableAccount> {
            serde_json::from_str::<Vec<StoredUnreachable>>(json)
                .unwrap()
                .into_iter()
                .map(UnreachableAccount::from)
                .collect()
        };
        assert_eq!(read(&written)[0].account_name, "Empty, Inc.");
        let before = read(r#"["acc-2"]"#);
        assert_eq!(
            (
                before[0].account_id.as_str(),
                before[0].account_name.as_str()
            ),
            ("acc-2", "")
        );
    }
}
