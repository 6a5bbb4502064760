//! Ledger rows (N2, N3, N6) as the handlers and the resolver write and read them: an advisory's recipients,
//! a notice, the listing, the counts by state (N4), and the manual retry of DEAD rows.

use chrono::{DateTime, Utc};
use portal_runtime::new_id;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};

use super::{entity::delivery, keyset_page, to_json, unreadable};
use crate::{
    domain::{About, Counts, Delivery, DeliveryState, NewNotice, Recipient, reminder::Reminders},
    error::Result,
};

/// A new ledger row to `to` in `state`, due now.
pub(super) fn new_row(
    delivery_id: String,
    to: &Recipient,
    advisory_id: Option<String>,
    notice: Option<(&NewNotice, String)>,
    state: DeliveryState,
    now: DateTime<Utc>,
) -> delivery::ActiveModel {
    let (notice_kind, payload) = match notice {
        Some((notice, payload)) => (Some(notice.payload.kind), Some(payload)),
        None => (None, None),
    };
    delivery::ActiveModel {
        delivery_id: Set(delivery_id),
        advisory_id: Set(advisory_id),
        notice_kind: Set(notice_kind),
        account_id: Set(to.account_id.clone()),
        account_name: Set(to.account_name.clone()),
        user_id: Set(to.user_id.clone()),
        email_key: Set(to.email.to_lowercase()),
        email: Set(to.email.clone()),
        display_name: Set(to.display_name.clone()),
        fallback: Set(to.fallback),
        payload: Set(payload),
        state: Set(state),
        attempts: Set(0),
        last_error: Set(String::new()),
        next_attempt_time: Set(now),
        lease_owner: Set(None),
        lease_until: Set(None),
        sent_time: Set(None),
        create_time: Set(now),
        update_time: Set(now),
        escalation: Set(false),
        reminder: Set(0),
    }
}

/// The unique key of an advisory's rows: one per (advisory, account, recipient, reminder).
pub(super) fn one_per_recipient() -> OnConflict {
    OnConflict::columns([
        delivery::Column::AdvisoryId,
        delivery::Column::AccountId,
        delivery::Column::EmailKey,
        delivery::Column::Reminder,
    ])
    .do_nothing()
    .to_owned()
}

/// N3: writes recipients of an advisory as STAGED rows (not sent before the list is complete); rows already
/// there (a resolution restarted after a crash) are left as they are.
pub async fn insert_staged<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    recipients: &[Recipient],
) -> Result<()> {
    if recipients.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = recipients.iter().map(|to| {
        let id = Some(advisory_id.to_string());
        new_row(new_id("dlv"), to, id, None, DeliveryState::Staged, now)
    });
    match delivery::Entity::insert_many(rows)
        .on_conflict(one_per_recipient())
        .exec_without_returning(db)
        .await
    {
        Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// N6: writes a notice as a PENDING row, sent by the same worker as advisories.
pub async fn insert_notice<C: ConnectionTrait>(
    db: &C,
    delivery_id: &str,
    notice: &NewNotice,
    now: DateTime<Utc>,
) -> Result<()> {
    let payload = to_json(&notice.payload)?;
    let to = &notice.recipient;
    new_row(
        delivery_id.to_string(),
        to,
        None,
        Some((notice, payload)),
        DeliveryState::Pending,
        now,
    )
    .insert(db)
    .await?;
    Ok(())
}

/// Up to `limit` rows of `advisory_id` in one of `states` (any when `None`), after delivery `after`.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    states: Option<&[DeliveryState]>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Delivery>> {
    let mut query = delivery::Entity::find().filter(delivery::Column::AdvisoryId.eq(advisory_id));
    if let Some(states) = states {
        query = query.filter(delivery::Column::State.is_in(states.iter().copied()));
    }
    keyset_page(db, query, delivery::Column::DeliveryId, after, limit, read).await
}

/// A ledger row as the domain sees it; a row that is neither an advisory's nor a notice's, or whose payload
/// or attempt count does not read, is an error.
pub(super) fn read(row: delivery::Model) -> Result<Delivery> {
    let id = row.delivery_id.as_str();
    let about = match (row.advisory_id, row.payload) {
        (Some(advisory_id), None) => About::Advisory(advisory_id),
        (None, Some(payload)) => About::Notice(
            serde_json::from_str(&payload).map_err(|e| unreadable("notice payload", id, e))?,
        ),
        _ => {
            return Err(unreadable(
                "delivery",
                id,
                "neither an advisory's nor a notice's",
            ));
        }
    };
    let reminder = u32::try_from(row.reminder).map_err(|e| unreadable("reminder of", id, e))?;
    Ok(Delivery {
        attempts: u32::try_from(row.attempts).map_err(|e| unreadable("attempts of", id, e))?,
        about,
        delivery_id: row.delivery_id,
        to: Recipient {
            account_id: row.account_id,
            account_name: row.account_name,
            user_id: row.user_id,
            email: row.email,
            display_name: row.display_name,
            fallback: row.fallback,
        },
        escalation: row.escalation,
        reminder,
        state: row.state,
        last_error: row.last_error,
        next_attempt_time: row.next_attempt_time,
        sent_time: row.sent_time,
        create_time: row.create_time,
        update_time: row.update_time,
    })
}

#[derive(Debug, FromQueryResult)]
struct StateCount {
    state: DeliveryState,
    n: i64,
}

/// N4: the rows of `advisory_id` by state.
pub async fn counts<C: ConnectionTrait>(db: &C, advisory_id: &str) -> Result<Counts> {
    let rows = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::State)
        .column_as(delivery::Column::DeliveryId.count(), "n")
        .filter(delivery::Column::AdvisoryId.eq(advisory_id))
        .group_by(delivery::Column::State)
        .into_model::<StateCount>()
        .all(db)
        .await?;
    let mut counts = Counts::default();
    for row in rows {
        counts.add(row.state, row.n);
    }
    Ok(counts)
}

/// Accounts of an advisory that fell back to their Administrators (N2): (id, name), at most `limit`.
pub async fn fallback_accounts<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    limit: u64,
) -> Result<Vec<(String, String)>> {
    Ok(delivery::Entity::find()
        .select_only()
        .column(delivery::Column::AccountId)
        .column(delivery::Column::AccountName)
        .distinct()
        .filter(delivery::Column::AdvisoryId.eq(advisory_id))
        .filter(delivery::Column::Fallback.eq(true))
        .order_by_asc(delivery::Column::AccountId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// N3: DEAD rows of `advisory_id` (those of `delivery_ids`, or all when empty) are PENDING again with fresh
/// attempts, due now; returns how many.
pub async fn requeue_dead<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    delivery_ids: &[String],
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut update = delivery::Entity::update_many()
        .col_expr(delivery::Column::State, Expr::value(DeliveryState::Pending))
        .col_expr(delivery::Column::Attempts, Expr::value(0))
        .col_expr(delivery::Column::NextAttemptTime, Expr::value(now))
        .col_expr(delivery::Column::UpdateTime, Expr::value(now))
        .filter(delivery::Column::AdvisoryId.eq(advisory_id))
        .filter(delivery::Column::State.eq(DeliveryState::Dead));
    if !delivery_ids.is_empty() {
        update = update.filter(delivery::Column::DeliveryId.is_in(delivery_ids.iter().cloned()));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// The ledger row `delivery_id`, if there is one.
pub async fn find<C: ConnectionTrait>(db: &C, delivery_id: &str) -> Result<Option<Delivery>> {
    delivery::Entity::find_by_id(delivery_id.to_string())
        .one(db)
        .await?
        .map(read)
        .transpose()
}

/// N9: every row of `advisory_id` to the accounts `account_ids`, by account, then e-mail.
pub async fn of_accounts<C: ConnectionTrait>(
    db: &C,
    advisory_id: &str,
    account_ids: &[String],
) -> Result<Vec<Delivery>> {
    delivery::Entity::find()
        .filter(delivery::Column::AdvisoryId.eq(advisory_id))
        .filter(delivery::Column::AccountId.is_in(account_ids.iter().cloned()))
        .order_by_asc(delivery::Column::AccountId)
        .order_by_asc(delivery::Column::EmailKey)
        .all(db)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

/// N9: the number of the last reminder of `advisory_id` (`None`: there was none).
pub async fn last_reminder<C: ConnectionTrait>(db: &C, advisory_id: &str) -> Result<Option<i32>> {
    Ok(delivery::Entity::find()
        .select_only()
        .expr(sea_orm::sea_query::Func::max(Expr::col(
            delivery::Column::Reminder,
        )))
        .filter(delivery::Column::AdvisoryId.eq(advisory_id))
        .into_tuple::<Option<i32>>()
        .one(db)
        .await?
        .flatten())
}

/// N9: writes `reminders` in one `INSERT … SELECT`: a PENDING copy of every row of the advisory for which
/// [`Reminders::n9_copies`] holds (not a reminder, in state [`Reminders::COPIES`], at an account without an
/// acknowledgement), each named [`Reminders::n9_delivery_id`]; returns how many.
pub async fn insert_reminders<C: ConnectionTrait>(
    db: &C,
    reminders: &Reminders,
    now: DateTime<Utc>,
) -> Result<u64> {
    let backend = db.get_database_backend();
    let p = portal_runtime::db::placeholders(backend, 5);
    let sql = format!(
        "INSERT INTO deliveries (delivery_id, advisory_id, notice_kind, account_id, account_name, user_id, email, \
           email_key, display_name, fallback, payload, state, attempts, last_error, next_attempt_time, lease_owner, \
           lease_until, sent_time, create_time, update_time, escalation, reminder) \
         SELECT d.delivery_id || {suffix}, d.advisory_id, NULL, d.account_id, d.account_name, d.user_id, d.email, \
           d.email_key, d.display_name, d.fallback, NULL, 'PENDING', 0, '', {now}, NULL, NULL, NULL, {now}, {now}, \
           d.escalation, {reminder} \
         FROM deliveries d WHERE d.advisory_id = {id} AND d.reminder = 0 AND d.state = {copies} \
           AND d.account_id NOT IN (SELECT a.account_id FROM acknowledgements a WHERE a.advisory_id = {id})",
        suffix = p[0],
        now = p[1],
        reminder = p[2],
        id = p[3],
        copies = p[4],
    );
    let statement = sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [
            reminders.n9_suffix().into(),
            now.into(),
            reminders.number.into(),
            reminders.advisory_id.as_str().into(),
            Reminders::COPIES.into(),
        ],
    );
    Ok(db.execute_raw(statement).await?.rows_affected())
}
