//! Background work of the notification service, in one place: the delivery worker (N3, [`worker`]) and the
//! resolution of advisories' recipients (N2, [`resolver`]) — right after publishing, and as a sweep that takes
//! over resolutions that stopped (a crash, an upstream outage) — and the escalation of accounts whose designated
//! contacts' mail all ended dead (N8, [`escalation`]), in the same sweep.

mod escalation;
mod metrics;
mod resolver;
mod worker;

use std::time::Duration;

use tokio::{sync::watch, task::JoinHandle};
pub use worker::WorkerSettings;

use crate::{NotificationApi, store};

/// How often the sweep looks for advisories whose resolution stopped.
const SWEEP: Duration = Duration::from_secs(5);

/// N8 right after N14: escalates account `account_id` of `advisory_id` if a hard bounce left it without a living
/// designated contact, and wakes the worker to send the escalation, without waiting for the sweep.
pub(crate) async fn escalate_now(
    api: &NotificationApi,
    advisory_id: &str,
    account_id: &str,
) -> crate::error::Result<()> {
    let due = escalation::escalate_due(&api.db, &api.upstream, Some(advisory_id), Some(account_id))
        .await?;
    if due > 0 {
        api.wake_worker();
    }
    Ok(())
}

impl NotificationApi {
    async fn record_gauges(&self) {
        if let Ok(depth) = store::ledger::queue_depth(&self.db).await {
            metrics::queue_depth(depth);
        }
        if let Ok(oldest) = store::ledger::oldest_unsettled_advisory(&self.db).await {
            let age = oldest
                .and_then(|t| (chrono::Utc::now() - t).to_std().ok())
                .unwrap_or_default();
            metrics::oldest_unsettled(age);
        }
    }

    /// Resolves a just-published advisory's recipients in the background, then wakes the delivery worker.
    pub(crate) fn start_resolving(&self, advisory_id: String) {
        let api = self.clone();
        tokio::spawn(async move {
            match resolver::resolve(&api.db, &api.upstream, &advisory_id).await {
                Ok(()) => api.wake_worker(),
                Err(e) => {
                    tracing::warn!(advisory_id, error = %e, "resolving recipients failed; the sweep tries again")
                }
            }
        });
    }

    /// Starts the delivery worker and the resolver sweep (which takes over advisories whose resolution stopped,
    /// e.g. after a crash). Both stop when `stop` turns true; the worker then releases what it holds.
    pub fn spawn_workers(
        &self,
        settings: WorkerSettings,
        stop: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        metrics::register();
        let worker = worker::Worker::new(
            self.db.clone(),
            self.mailer.clone(),
            settings,
            self.work.clone(),
        );
        let deliveries = tokio::spawn(worker.run(stop.clone()));
        let sweep = tokio::spawn(self.clone().sweep(stop));
        vec![deliveries, sweep]
    }

    /// N2/N3: resolves every advisory still resolving whose resolver lease lapsed, until `stop` turns true;
    /// (N8) escalates accounts whose designated contacts' mail all ended dead; and (N4) refreshes the delivery
    /// gauges each round, also while the worker is busy with a long fan-out.
    async fn sweep(self, mut stop: watch::Receiver<bool>) {
        loop {
            self.record_gauges().await;
            match store::advisories::orphaned(&self.db, chrono::Utc::now()).await {
                Ok(ids) => {
                    for id in ids {
                        match resolver::resolve(&self.db, &self.upstream, &id).await {
                            Ok(()) => self.wake_worker(),
                            Err(e) => {
                                tracing::warn!(advisory_id = id, error = %e, "resolving recipients failed; retrying later")
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "looking for unresolved advisories failed")
                }
            }
            match escalation::escalate_due(&self.db, &self.upstream, None, None).await {
                Ok(0) => {}
                Ok(_) => self.wake_worker(),
                Err(e) => tracing::warn!(error = %e, "looking for accounts to escalate failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(SWEEP) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
