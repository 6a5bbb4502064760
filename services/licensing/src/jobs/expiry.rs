//! L7: the scheduled sweep that marks term keys expired at their period end; and B11: the Creator seats of keys
//! no longer live (expired here, or revoked) leave their cloud site.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use portal_runtime::{CallContext, Principal};
use sea_orm::DatabaseConnection;

use crate::{HoldingsCache, app, error::Result, store};

/// How many keys' seats one pass releases; the rest wait for the next tick.
const BATCH: u64 = 100;

/// Marks term keys past their period end `EXPIRED` every `every`, until the process ends. Each run is one
/// idempotent statement, so several replicas may run it at once; the remembered key facts are cleared after a
/// run that changed any. Then the seats of keys no longer live leave their sites (B11).
pub(crate) fn spawn_expiry_sweep(
    db: DatabaseConnection,
    holdings: Arc<HoldingsCache>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store::keys::expire_due_keys(&db, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => {
                    holdings.invalidate();
                    tracing::info!(expired = n, "expiry sweep");
                }
                Err(e) => tracing::warn!(error = %e, "expiry sweep failed; retrying next tick"),
            }
            if let Err(e) = release_stale_seats(&db).await {
                tracing::warn!(error = %e, "releasing the seats of expired keys failed; retrying next tick");
            }
        }
    })
}

/// B11: each key no longer live that still has seats on a cloud site gives them up, as the licensing service.
async fn release_stale_seats(db: &DatabaseConnection) -> Result<()> {
    let context = CallContext {
        principal: Principal::Service {
            name: "licensing".into(),
            scopes: BTreeSet::new(),
        },
        request_id: String::new(),
        trace_id: String::new(),
    };
    app::sites::release_stale_seats(db, &context, BATCH).await
}
