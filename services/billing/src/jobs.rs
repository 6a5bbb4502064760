//! Background work, in one place: completing what licensing could not do when it was asked — purchases left
//! `PENDING` (B3), failed purchases whose keys are still to be revoked (B9) and paid renewals whose keys still
//! need refreshing (B8) — and what a renewal date brings: reminders before it and auto-renew on it (B10). The
//! same use cases (`crate::app`) run at once after a purchase or a payment commits; the loop here finds what is
//! left and retries them. Everything billing asks licensing is idempotent (stable request ids, dates fixed when
//! the purchase was made, refreshes that skip keys already moved), so a retry — or two replicas retrying at
//! once — never issues twice.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    BillingApi,
    app::{
        auto_renew,
        fulfilment::{self, background},
        renewals,
    },
    store,
};

/// How many pending purchases (and renewals) one pass of the retry loop takes on.
const BATCH: u64 = 100;

/// B3/B8/B9: every `every`, until the process ends, completes the purchases left `PENDING`, the revocations of
/// failed purchases' keys and the renewal refreshes left pending while licensing was unavailable.
pub(crate) fn spawn_retry(api: BillingApi, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            retry_pending(&api).await;
        }
    })
}

/// One pass of the retry loop: pending purchases, failed ones whose keys are still to be revoked (B9),
/// renewals whose keys still need refreshing, then the renewal milestones due (B10).
async fn retry_pending(api: &BillingApi) {
    match store::purchases::pending(&api.db, BATCH).await {
        Ok(pending) => {
            for p in pending {
                let context = background(&p.purchase_id);
                if let Err(e) = fulfilment::fulfil_pending(api, &context, &p.purchase_id).await {
                    tracing::warn!(purchase_id = %p.purchase_id, error = %e, "fulfilment retry failed; retrying next tick");
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "listing pending purchases failed; retrying next tick")
        }
    }
    match store::purchases::compensation_due(&api.db, BATCH).await {
        Ok(due) => {
            for p in due {
                if let Err(e) = fulfilment::compensate(api, &background(&p.purchase_id), &p).await {
                    tracing::warn!(purchase_id = %p.purchase_id, error = %e, "revoking a failed purchase's keys failed; retrying next tick");
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "listing failed purchases to compensate failed; retrying next tick")
        }
    }
    match store::renewals::to_refresh(&api.db, BATCH).await {
        Ok(pending) => {
            for r in pending {
                if let Err(e) =
                    renewals::refresh(api, &background(&r.renewal_id), &r.renewal_id).await
                {
                    tracing::warn!(renewal_id = %r.renewal_id, error = %e, "renewal refresh retry failed; retrying next tick");
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "listing renewals to refresh failed; retrying next tick")
        }
    }
    handle_due_renewals(api, Utc::now()).await;
}

/// B10: handles every renewal milestone due at `now` (a batch per pass); one that fails is retried next pass.
async fn handle_due_renewals(api: &BillingApi, now: DateTime<Utc>) {
    let due = match store::renewals::due(&api.db, now, BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "listing renewals with a milestone due failed; retrying next tick");
            return;
        }
    };
    for renewal in due {
        let context = background(&format!("{}-b10", renewal.renewal_id));
        if let Err(e) = auto_renew::handle_milestone(api, &context, &renewal, now).await {
            tracing::warn!(renewal_id = %renewal.renewal_id, error = %e, "renewal milestone failed; retrying next tick");
        }
    }
}
