//! I8: a person identity removes gives up what they held in the account.

use portal_runtime::CallContext;
use sea_orm::DatabaseConnection;

use super::audit::{self, Event};
use crate::{
    error::Result,
    store::{self, holdings::Released},
};

/// I8: releases the assignments, ownerships, activations and site roles of the user `user_id` (e-mail key
/// `email_key`) in `account_id`, in one transaction; returns how many of each.
pub async fn release(
    db: &DatabaseConnection,
    context: &CallContext,
    account_id: &str,
    user_id: &str,
    email_key: &str,
) -> Result<Released> {
    let txn = portal_runtime::db::begin_write(db).await?;
    let released = store::holdings::release_holdings(&txn, account_id, user_id, email_key).await?;
    let event = Event::ReleaseHoldings {
        account_id,
        user_id,
        released: &released,
    };
    audit::record(&txn, context, event).await?;
    txn.commit().await?;
    Ok(released)
}
