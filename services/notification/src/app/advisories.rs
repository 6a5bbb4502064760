//! Publishing an advisory (N1, N2) and importing one from a CSAF document (N11): numbered, written and audited in
//! one transaction, idempotent on the request id (an import also on the document's tracking id and version).
//! The caller then starts resolving the recipients of a fresh advisory.

use chrono::{Datelike, Utc};
use portal_proto::Idempotent;
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use super::audit::{self, Event};
use crate::{
    domain::{Advisory, NewAdvisory, advisory as rules, csaf::CsafTracking},
    error::{Error, Result},
    store::{self, advisories},
};

/// The advisory a publish names, and whether this call wrote it (then its recipients are still to be resolved).
#[derive(Debug, Clone)]
pub struct Published {
    pub advisory: Advisory,
    pub fresh: bool,
}

impl Published {
    async fn replayed(db: &DatabaseConnection, advisory_id: &str) -> Result<Self> {
        Ok(Self {
            advisory: advisories::find(db, advisory_id).await?,
            fresh: false,
        })
    }
}

/// N2: publishes `new`, idempotent on `request`'s id.
pub async fn publish<R: Idempotent>(
    db: &DatabaseConnection,
    context: &CallContext,
    request: &R,
    new: &NewAdvisory,
) -> Result<Published> {
    const OPERATION: &str = "PublishAdvisory";
    let txn = match idempotency::claim(db, OPERATION, request, "").await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(id) => return Published::replayed(db, &id).await,
    };
    let advisory = insert(&txn, context, OPERATION, request.request_id(), new).await?;
    txn.commit().await?;
    Ok(Published {
        advisory,
        fresh: true,
    })
}

/// N11: publishes the advisory a CSAF document maps to and keeps the document (`text`, as sent), idempotent on
/// `request`'s id and on the document's tracking id and version: a second import of the same revision, even a
/// concurrent one, names the first advisory.
pub async fn import<R: Idempotent>(
    db: &DatabaseConnection,
    context: &CallContext,
    request: &R,
    new: &NewAdvisory,
    tracking: &CsafTracking,
    text: &str,
) -> Result<Published> {
    const OPERATION: &str = "PublishCsafAdvisory";
    let txn = match idempotency::claim(db, OPERATION, request, "").await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(id) => return Published::replayed(db, &id).await,
    };
    let request_id = request.request_id();
    if let Some(first) = store::csaf::imported_as(&txn, tracking).await? {
        // The same tracking id and version was imported before: this request id now names that advisory.
        if !request_id.is_empty() {
            idempotency::set_resource(&txn, OPERATION, request_id, &first).await?;
        }
        txn.commit().await?;
        return Published::replayed(db, &first).await;
    }
    let advisory = insert(&txn, context, OPERATION, request_id, new).await?;
    match store::csaf::insert(
        &txn,
        &advisory.advisory_id,
        tracking,
        text,
        advisory.create_time,
    )
    .await
    {
        Ok(()) => {}
        Err(e) if idempotency::is_conflict(&e) => {
            // A concurrent import of the same document committed first: answer with its advisory.
            txn.rollback().await?;
            let first = store::csaf::imported_as(db, tracking)
                .await?
                .ok_or_else(|| Error::internal("conflicting CSAF import vanished"))?;
            return Published::replayed(db, &first).await;
        }
        Err(e) => return Err(e.into()),
    }
    txn.commit().await?;
    Ok(Published {
        advisory,
        fresh: true,
    })
}

/// N1, N2: numbers and writes a new advisory in the publishing transaction (the request id, when given, then
/// names it), audited as `operation`.
async fn insert(
    txn: &DatabaseTransaction,
    context: &CallContext,
    operation: &str,
    request_id: &str,
    new: &NewAdvisory,
) -> Result<Advisory> {
    let now = Utc::now();
    let year = now.year();
    let sequence = advisories::next_number(txn, year).await?;
    let id = rules::n1_advisory_id(year, sequence);
    if !request_id.is_empty() {
        idempotency::set_resource(txn, operation, request_id, &id).await?;
    }
    let ordinal = rules::n1_ordinal(year, sequence);
    let advisory = advisories::insert(txn, &id, ordinal, new, now).await?;
    audit::record(
        txn,
        context,
        Event::AdvisoryPublished {
            operation,
            advisory_id: &id,
            new,
        },
    )
    .await?;
    Ok(advisory)
}
