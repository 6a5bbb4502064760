//! Background work, in one place: completing what licensing could not do when it was asked — purchases left
//! `PENDING` (B3, `fulfilment`) and paid renewals whose keys still need refreshing (B8, `refresh`) — and what
//! a renewal date brings: reminders before it and auto-renew on it (B10, `auto_renew`). The same
//! steps run at once after a purchase or a payment commits; the loop here retries them. Everything billing
//! asks licensing is idempotent (stable request ids, dates fixed when the purchase was made, refreshes that
//! skip keys already moved), so a retry — or two replicas retrying at once — never issues twice.

mod auto_renew;
mod fulfilment;
mod refresh;

use std::{collections::BTreeSet, time::Duration};

use portal_clients::ClientError;
use portal_runtime::{CallContext, Principal};

use crate::{BillingApi, domain::Answer, store};

/// How many pending purchases (and renewals) one pass of the retry loop takes on.
const BATCH: u64 = 100;

/// The context the retry loop acts in: `svc:billing`, with the resource id as the request id.
fn background(request_id: &str) -> CallContext {
    CallContext {
        principal: billing(),
        request_id: request_id.into(),
        trace_id: String::new(),
    }
}

fn billing() -> Principal {
    Principal::Service {
        name: "billing".into(),
        scopes: BTreeSet::new(),
    }
}

/// Billing's own work begun by `context`'s call (fulfilling the purchase it placed): recorded as billing's in the
/// audit log, as the retry loop records it, under the call's request and trace, so the caller's call leaves
/// exactly one event of theirs.
pub(crate) fn on_behalf_of(context: &CallContext) -> CallContext {
    CallContext {
        principal: billing(),
        ..context.clone()
    }
}

/// What licensing's failure means for the work: only an answer about the request itself is final; anything
/// else (down, overloaded, an internal error on the other side) is worth trying again, since a wrongly failed
/// purchase would void a customer's order.
fn answer<T>(err: ClientError) -> Answer<T> {
    use tonic::Code::*;
    match err {
        failed @ ClientError::Failed {
            code: InvalidArgument | FailedPrecondition | NotFound | PermissionDenied | OutOfRange,
            ..
        } => Answer::Refused(failed.to_string()),
        other => Answer::Unavailable(other.to_string()),
    }
}

/// B3/B8/B9: every `every`, until the process ends, completes the purchases left `PENDING`, the revocations of
/// failed purchases' keys and the renewal refreshes left pending while licensing was unavailable.
pub(crate) fn spawn_retry(api: BillingApi, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            api.retry_pending().await;
        }
    })
}

impl BillingApi {
    /// One pass of the retry loop: pending purchases, failed ones whose keys are still to be revoked (B9),
    /// renewals whose keys still need refreshing, then the renewal milestones due (B10).
    async fn retry_pending(&self) {
        match store::purchases::pending(&self.db, BATCH).await {
            Ok(pending) => {
                for p in pending {
                    if let Err(e) = self
                        .fulfil(&background(&p.purchase_id), &p.purchase_id)
                        .await
                    {
                        tracing::warn!(purchase_id = %p.purchase_id, error = %e, "fulfilment retry failed; retrying next tick");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "listing pending purchases failed; retrying next tick")
            }
        }
        match store::purchases::compensation_due(&self.db, BATCH).await {
            Ok(due) => {
                for p in due {
                    if let Err(e) = self.compensate(&background(&p.purchase_id), &p).await {
                        tracing::warn!(purchase_id = %p.purchase_id, error = %e, "revoking a failed purchase's keys failed; retrying next tick");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "listing failed purchases to compensate failed; retrying next tick")
            }
        }
        match store::renewals::to_refresh(&self.db, BATCH).await {
            Ok(pending) => {
                for r in pending {
                    if let Err(e) = self
                        .refresh_renewal(&background(&r.renewal_id), &r.renewal_id)
                        .await
                    {
                        tracing::warn!(renewal_id = %r.renewal_id, error = %e, "renewal refresh retry failed; retrying next tick");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "listing renewals to refresh failed; retrying next tick")
            }
        }
        self.handle_due_renewals(chrono::Utc::now()).await;
    }
}
