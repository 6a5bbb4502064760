//! N9: acknowledging an advisory with the token its mail carries, through `AcknowledgeAdvisory` or the page the
//! mail links to. Reading what a token names never records anything: mail scanners open every link.

use chrono::{DateTime, Utc};
use portal_runtime::CallContext;
use sea_orm::DatabaseConnection;

use super::audit::{self, Event};
use crate::{
    domain::{
        About, Advisory, Delivery,
        acknowledgement::{Acknowledged, TokenError, n9_read_token},
    },
    error::{Error, Result},
    store::{acknowledgements, advisories, deliveries},
};

/// What an acknowledgement link shows: the advisory, whom its mail was for, and whether it was acknowledged.
#[derive(Debug, Clone)]
pub struct Acknowledgeable {
    pub delivery: Delivery,
    pub advisory: Advisory,
    pub acknowledged: Option<Acknowledged>,
}

/// N9: the advisory delivery `token` names, if the token is ours, has not expired at `now`, and its row
/// exists. Whether it failed because the token was edited or because its row is unknown is not told apart.
async fn delivery_of(
    db: &DatabaseConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(Delivery, String)> {
    let delivery_id = n9_read_token(token, now).map_err(|e| match e {
        TokenError::Invalid => Error::AckTokenInvalid,
        TokenError::Expired => Error::AckTokenExpired,
    })?;
    let delivery = deliveries::find(db, &delivery_id)
        .await?
        .ok_or(Error::AckTokenInvalid)?;
    match &delivery.about {
        About::Advisory(advisory_id) => {
            let advisory_id = advisory_id.clone();
            Ok((delivery, advisory_id))
        }
        About::Notice(_) => Err(Error::AckTokenInvalid),
    }
}

/// N9: what `token` acknowledges, and whether it already was. Writes nothing.
pub async fn look_up(
    db: &DatabaseConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Acknowledgeable> {
    let (delivery, advisory_id) = delivery_of(db, token, now).await?;
    let advisory = advisories::find(db, &advisory_id).await?;
    let acknowledged = acknowledgements::find(db, &delivery.delivery_id).await?;
    Ok(Acknowledgeable {
        delivery,
        advisory,
        acknowledged,
    })
}

/// N9: records the first acknowledgement of the delivery `token` names, audited as `context`'s; a later one
/// changes nothing. Returns the acknowledgement that stands, and whether this call recorded it.
pub async fn acknowledge(
    db: &DatabaseConnection,
    context: &CallContext,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(Acknowledged, bool)> {
    let (delivery, advisory_id) = delivery_of(db, token, now).await?;
    record(db, context, &advisory_id, &delivery, now).await
}

/// N9: the same, for a link already looked up (the page shows what it names before its button records it).
pub async fn acknowledge_looked_up(
    db: &DatabaseConnection,
    context: &CallContext,
    page: &Acknowledgeable,
    now: DateTime<Utc>,
) -> Result<(Acknowledged, bool)> {
    record(db, context, &page.advisory.advisory_id, &page.delivery, now).await
}

/// N9: records that `delivery` (of `advisory_id`) was acknowledged at `now`, audited, unless it was already:
/// then the first acknowledgement stands. Returns it, and whether this call recorded it.
async fn record(
    db: &DatabaseConnection,
    context: &CallContext,
    advisory_id: &str,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> Result<(Acknowledged, bool)> {
    let txn = portal_runtime::db::begin_write(db).await?;
    let fresh = acknowledgements::insert(&txn, advisory_id, delivery, now).await?;
    if fresh {
        audit::record(
            &txn,
            context,
            Event::Acknowledged {
                advisory_id,
                delivery,
            },
        )
        .await?;
    }
    let stands = acknowledgements::find(&txn, &delivery.delivery_id)
        .await?
        .ok_or_else(|| Error::internal("acknowledgement vanished"))?;
    txn.commit().await?;
    Ok((stands, fresh))
}
