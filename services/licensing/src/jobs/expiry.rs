//! L7: the scheduled sweep that marks term keys expired at their period end.

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;

use crate::{HoldingsCache, store};

/// Marks term keys past their period end `EXPIRED` every `every`, until the process ends. Each run is one
/// idempotent statement, so several replicas may run it at once; the remembered key facts are cleared after a
/// run that changed any.
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
        }
    })
}
