//! N9: acknowledgements of advisories — writing one (once per delivery), and which accounts have or have not
//! acknowledged.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{OnConflict, Query},
};

use super::{
    entity::{acknowledgement, delivery},
    inserted,
};
use crate::{
    domain::{Delivery, acknowledgement::Acknowledged},
    error::Result,
};

/// N9: inserts the acknowledgement of `delivery` (of `advisory_id`) at `now` unless one is there. Returns whether
/// this call wrote it.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> Result<bool> {
    let row = acknowledgement::ActiveModel {
        delivery_id: Set(delivery.delivery_id.clone()),
        advisory_id: Set(advisory_id.to_string()),
        account_id: Set(delivery.to.account_id.clone()),
        user_id: Set(delivery.to.user_id.clone()),
        email: Set(delivery.to.email.clone()),
        create_time: Set(now),
    };
    let written = inserted(
        acknowledgement::Entity::insert(row)
            .on_conflict(
                OnConflict::column(acknowledgement::Column::DeliveryId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await,
    )?;
    Ok(written > 0)
}

fn read(row: acknowledgement::Model) -> Acknowledged {
    Acknowledged {
        delivery_id: row.delivery_id,
        advisory_id: row.advisory_id,
        account_id: row.account_id,
        user_id: row.user_id,
        email: row.email,
        time: row.create_time,
    }
}

/// N9: the acknowledgement of `delivery_id`, if there is one.
pub async fn find<C: ConnectionTrait>(db: &C, delivery_id: &str) -> Result<Option<Acknowledged>> {
    Ok(acknowledgement::Entity::find_by_id(delivery_id.to_string())
        .one(db)
        .await?
        .map(read))
}

/// N9: accounts of `advisory_id` someone acknowledged, in id order, at most `limit`.
pub async fn accounts<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    limit: u64,
) -> Result<Vec<String>> {
    Ok(acknowledgement::Entity::find()
        .select_only()
        .column(acknowledgement::Column::AccountId)
        .distinct()
        .filter(acknowledgement::Column::AdvisoryId.eq(advisory_id))
        .order_by_asc(acknowledgement::Column::AccountId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// N9/N10: which of `account_ids` acknowledged `advisory_id`.
pub async fn among<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    account_ids: &[String],
) -> Result<HashSet<String>> {
    let ids: Vec<String> = acknowledgement::Entity::find()
        .select_only()
        .column(acknowledgement::Column::AccountId)
        .distinct()
        .filter(acknowledgement::Column::AdvisoryId.eq(advisory_id))
        .filter(acknowledgement::Column::AccountId.is_in(account_ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().collect())
}

/// N9: up to `limit` accounts of `advisory_id` (with ledger rows) nobody acknowledged, after `after`, in id
/// order.
pub async fn unacknowledged_page<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<String>> {
    let acknowledged = Query::select()
        .column(acknowledgement::Column::AccountId)
        .from(acknowledgement::Entity)
        .and_where(acknowledgement::Column::AdvisoryId.eq(advisory_id))
        .to_owned();
    let mut query = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::AccountId)
        .distinct()
        .filter(delivery::Column::AdvisoryId.eq(advisory_id))
        .filter(delivery::Column::AccountId.not_in_subquery(acknowledged));
    if let Some(after) = after {
        query = query.filter(delivery::Column::AccountId.gt(after));
    }
    Ok(query
        .order_by_asc(delivery::Column::AccountId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}
