//! N3: delivery workers. Each claims a batch of due ledger rows under a lease, sends them concurrently through
//! the mailer, and records SENT, FAILED (with the next attempt time) or DEAD. On shutdown it stops claiming,
//! finishes what it holds and gives back any row it still holds.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::Utc;
use futures::StreamExt;
use sea_orm::DatabaseConnection;
use serde::Serialize;
use tokio::sync::{Mutex, watch};

use super::metrics;
use crate::{
    domain::{
        About, Advisory, AdvisoryContent, Delivery, NoticePayload, RetryPolicy,
        acknowledgement::{n9_token, n9_token_expiry},
        delivery::AfterFailure,
    },
    mail::{Mailer, SendFailure, View},
    store::{self, ledger::Unreadable},
};

/// How a worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    pub batch: u64,
    pub concurrency: usize,
    pub lease: Duration,
    pub poll: Duration,
    pub policy: RetryPolicy,
}

#[derive(Serialize)]
struct AdvisoryView<'a> {
    advisory_id: &'a str,
    kind: &'a str,
    severity: &'a str,
    /// N1: the advisory's TLP 2.0 label, which tells the reader how far it may be shared.
    tlp: &'a str,
    title: &'a str,
    #[serde(flatten)]
    content: &'a AdvisoryContent,
    /// N9: this recipient's acknowledgement link.
    acknowledgement_url: String,
    /// N9: the number of the reminder this mail is (0: the advisory itself).
    reminder: u32,
}

#[derive(Serialize)]
struct NoticeView<'a> {
    kind: &'a str,
    fields: &'a std::collections::BTreeMap<String, String>,
}

/// Outcomes written per transaction.
const RECORD_CHUNK: usize = 64;

/// What one attempt came to.
enum Outcome {
    Sent(String),
    Failed {
        delivery_id: String,
        error: String,
        next: Option<chrono::DateTime<Utc>>,
    },
}

pub struct Worker {
    db: DatabaseConnection,
    mailer: Arc<Mailer>,
    owner: String,
    settings: WorkerSettings,
    advisories: Mutex<HashMap<String, Arc<Advisory>>>,
    work: Arc<tokio::sync::Notify>,
}

impl Worker {
    /// `work` is notified when this process put deliveries in the ledger; otherwise the worker polls.
    pub fn new(
        db: DatabaseConnection,
        mailer: Arc<Mailer>,
        settings: WorkerSettings,
        work: Arc<tokio::sync::Notify>,
    ) -> Self {
        // A fresh owner per process: leases of a crashed predecessor are never mistaken for ours.
        let owner = portal_runtime::new_id("wrk");
        Self {
            db,
            mailer,
            owner,
            settings,
            advisories: Mutex::new(HashMap::new()),
            work,
        }
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(owner = %self.owner, "delivery worker started");
        while !*stop.borrow() {
            let now = Utc::now();
            let lease_until =
                now + chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
            let batch = match store::ledger::claim_batch(
                &self.db,
                &self.owner,
                now,
                lease_until,
                self.settings.batch,
            )
            .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming deliveries failed");
                    Vec::new()
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    () = tokio::time::sleep(self.settings.poll) => {}
                    () = self.work.notified() => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            // Sends run `concurrency` at a time; their outcomes are written as they come, a chunk per transaction,
            // so the ledger keeps up with the mail without one write per message.
            let mut outcomes = futures::stream::iter(batch)
                .map(|row| self.attempt(row))
                .buffer_unordered(self.settings.concurrency)
                .ready_chunks(RECORD_CHUNK);
            while let Some(chunk) = outcomes.next().await {
                self.record(chunk).await;
            }
        }
        match store::ledger::release(&self.db, &self.owner).await {
            Ok(released) => {
                tracing::info!(owner = %self.owner, released, "delivery worker stopped")
            }
            Err(e) => {
                tracing::warn!(error = %e, "releasing claimed deliveries failed; their leases will expire")
            }
        }
    }

    /// Composes and sends one delivery; what happened, to be recorded with others. A row that cannot be read
    /// is settled DEAD with the cause (logged), never sent as a guess.
    async fn attempt(&self, claimed: Result<Delivery, Unreadable>) -> Outcome {
        let row = match claimed {
            Ok(row) => row,
            Err(Unreadable { delivery_id, cause }) => {
                tracing::error!(delivery_id, error = %cause, "unreadable ledger row");
                metrics::dead();
                return Outcome::Failed {
                    delivery_id,
                    error: format!("unreadable ledger row: {cause}"),
                    next: None,
                };
            }
        };
        let started = std::time::Instant::now();
        let result = match self.compose(&row).await {
            Ok(message) => self.mailer.send(message).await,
            Err(failure) => Err(failure),
        };
        let now = Utc::now();
        match result {
            Ok(()) => {
                metrics::sent(started.elapsed());
                Outcome::Sent(row.delivery_id)
            }
            Err(failure) => {
                let attempts = row.attempts.saturating_add(1);
                let next =
                    match self
                        .settings
                        .policy
                        .n3_after_failure(attempts, failure.permanent, now)
                    {
                        AfterFailure::RetryAt(at) => {
                            metrics::failed();
                            Some(at)
                        }
                        AfterFailure::Dead => {
                            metrics::dead();
                            None
                        }
                    };
                tracing::warn!(delivery_id = %row.delivery_id, attempts, permanent = failure.permanent, error = %failure.message, "delivery failed");
                Outcome::Failed {
                    delivery_id: row.delivery_id,
                    error: failure.message,
                    next,
                }
            }
        }
    }

    /// Writes a chunk of outcomes in one transaction. If that fails the rows stay leased to us; when the lease
    /// ends they are sent again with the same Message-ID (at least once, N3).
    async fn record(&self, outcomes: Vec<Outcome>) {
        let now = Utc::now();
        let mut sent = Vec::new();
        let mut failed = Vec::new();
        for outcome in outcomes {
            match outcome {
                Outcome::Sent(id) => sent.push(id),
                Outcome::Failed {
                    delivery_id,
                    error,
                    next,
                } => failed.push((delivery_id, error, next)),
            }
        }
        if let Err(e) =
            store::ledger::record_outcomes(&self.db, &self.owner, &sent, &failed, now).await
        {
            tracing::warn!(error = %e, sent = sent.len(), failed = failed.len(), "recording delivery outcomes failed");
        }
    }

    /// The advisory a delivery carries, read once per worker.
    async fn advisory(&self, advisory_id: &str) -> Result<Arc<Advisory>, SendFailure> {
        let mut cache = self.advisories.lock().await;
        if let Some(found) = cache.get(advisory_id) {
            return Ok(found.clone());
        }
        let advisory = store::advisories::find(&self.db, advisory_id)
            .await
            .map_err(|e| SendFailure {
                permanent: false,
                message: e.to_string(),
            })?;
        let entry = Arc::new(advisory);
        cache.insert(advisory_id.to_string(), entry.clone());
        Ok(entry)
    }

    async fn compose(&self, row: &Delivery) -> Result<lettre::Message, SendFailure> {
        let id = &row.delivery_id;
        let to = (row.to.display_name.as_str(), row.to.email.as_str());
        match &row.about {
            About::Advisory(advisory_id) => {
                let advisory = self.advisory(advisory_id).await?;
                let view = View {
                    recipient_name: &row.to.display_name,
                    account_id: &row.to.account_id,
                    account_name: &row.to.account_name,
                    fallback: row.to.fallback,
                    escalation: row.escalation,
                    content: AdvisoryView {
                        advisory_id: &advisory.advisory_id,
                        kind: advisory.kind.as_str(),
                        severity: advisory.severity.as_str(),
                        tlp: advisory.tlp.as_str(),
                        title: &advisory.title,
                        content: &advisory.content,
                        acknowledgement_url: self.mailer.acknowledgement_url(&n9_token(
                            &row.delivery_id,
                            n9_token_expiry(row.create_time),
                        )),
                        reminder: row.reminder,
                    },
                };
                let subject = match row.reminder {
                    0 => advisory.n5_subject(),
                    _ => format!("Reminder: {}", advisory.n5_subject()),
                };
                self.mailer
                    .compose("advisory", &subject, to, id, &view, &[])
            }
            About::Notice(payload) => self.compose_notice(row, payload, to, id),
        }
    }

    fn compose_notice(
        &self,
        row: &Delivery,
        payload: &NoticePayload,
        to: (&str, &str),
        id: &str,
    ) -> Result<lettre::Message, SendFailure> {
        let attachments = payload
            .attachments
            .iter()
            .map(|a| Ok((a.filename.clone(), a.content_type.clone(), a.content()?)))
            .collect::<Result<Vec<_>, base64::DecodeError>>()
            .map_err(|e| SendFailure {
                permanent: true,
                message: format!("unreadable attachment: {e}"),
            })?;
        let view = View {
            recipient_name: &row.to.display_name,
            account_id: &row.to.account_id,
            account_name: &row.to.account_name,
            fallback: false,
            escalation: false,
            content: NoticeView {
                kind: payload.kind.as_str(),
                fields: &payload.fields,
            },
        };
        self.mailer
            .compose("notice", &payload.n6_subject(), to, id, &view, &attachments)
    }
}
