//! L11: eLearning access codes, issued with a purchase and redeemed once.

use chrono::Utc;
use portal_proto::Idempotent;
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
    new_id,
};
use sea_orm::DatabaseConnection;

use super::audit::{self, Event};
use crate::{
    domain::{ElearningCode, Email, NewElearningCodes, elearning},
    error::Result,
    store,
};

/// L11: issues the codes `new` asks for, one batch, idempotent on `request`'s id.
pub async fn issue(
    db: &DatabaseConnection,
    context: &CallContext,
    new: &NewElearningCodes,
    request: &impl Idempotent,
) -> Result<Vec<ElearningCode>> {
    let batch_id = new_id("elb");
    let txn = match idempotency::claim(db, "IssueElearningCodes", request, &batch_id).await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(batch) => return store::elearning::codes_of_batch(db, &batch).await,
    };
    let codes = store::elearning::insert_codes(&txn, new, &batch_id, Utc::now()).await?;
    let event = Event::IssueElearningCodes {
        batch_id: &batch_id,
        new,
    };
    audit::record(&txn, context, event).await?;
    txn.commit().await?;
    Ok(codes)
}

/// L11: redeems the (normalized) `code` for `email`; redeeming it again for the same person changes nothing.
pub async fn redeem(
    db: &DatabaseConnection,
    context: &CallContext,
    code: &str,
    email: &Email,
) -> Result<ElearningCode> {
    let txn = portal_runtime::db::begin_write(db).await?;
    let (redeemed, now_redeemed) =
        store::elearning::redeem_code(&txn, code, email, Utc::now()).await?;
    elearning::ensure_redeemed_by(&redeemed, email, now_redeemed)?;
    if now_redeemed {
        let event = Event::RedeemElearningCode {
            code: &redeemed,
            email: email.as_str(),
        };
        audit::record(&txn, context, event).await?;
    }
    txn.commit().await?;
    Ok(redeemed)
}
