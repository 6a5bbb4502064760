//! Deliveries (N3, N4): the ledger row and its states, the deterministic Message-ID, what a failed attempt
//! leads to, and an advisory's progress.

use std::time::Duration;

use backon::BackoffBuilder;
use chrono::{DateTime, Utc};
use sea_orm::{DeriveActiveEnum, EnumIter, sea_query::StringLen};

use super::{AdvisoryState, NoticePayload, Recipient};

/// A ledger row's state. `Staged` rows belong to an advisory whose recipient list is still being written and
/// are not sent until it is complete (N3); the contract shows them as pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum DeliveryState {
    #[sea_orm(string_value = "STAGED")]
    Staged,
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "SENT")]
    Sent,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    #[sea_orm(string_value = "DEAD")]
    Dead,
}

impl DeliveryState {
    /// N4: settled rows need nothing more.
    pub fn is_settled(self) -> bool {
        matches!(self, DeliveryState::Sent | DeliveryState::Dead)
    }
}

/// What a ledger row delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// One recipient's copy of an advisory (N2).
    Advisory(String),
    /// A transactional notice (N6).
    Notice(NoticePayload),
}

/// One ledger row (N3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub delivery_id: String,
    pub about: About,
    pub to: Recipient,
    /// N8: an Administrator told by escalation, every designated contact's mail having ended `DEAD`.
    pub escalation: bool,
    /// N9: 0 for the advisory itself, n for its n-th reminder.
    pub reminder: u32,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: String,
    pub next_attempt_time: DateTime<Utc>,
    pub sent_time: Option<DateTime<Utc>>,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// N3: the same ledger row always carries the same Message-ID, so a resend after a crash is recognisable.
pub fn n3_message_id(delivery_id: &str, domain: &str) -> String {
    format!("<{delivery_id}@{domain}>")
}

/// N3: exponential backoff with jitter between attempts, and a bound on attempts before a row is DEAD.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(600),
            max_attempts: 8,
        }
    }
}

/// What a failed attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(DateTime<Utc>),
    Dead,
}

impl RetryPolicy {
    /// N3: after attempt number `attempts` (1-based) failed: dead if the failure is permanent (SMTP 5xx) or the
    /// attempts are used up, else retry after the attempt's backoff (with jitter).
    pub fn n3_after_failure(
        &self,
        attempts: u32,
        permanent: bool,
        now: DateTime<Utc>,
    ) -> AfterFailure {
        if permanent || attempts >= self.max_attempts {
            return AfterFailure::Dead;
        }
        let delay = backon::ExponentialBuilder::default()
            .with_min_delay(self.first_delay)
            .with_max_delay(self.max_delay)
            .with_jitter()
            .with_max_times(self.max_attempts as usize)
            .build()
            .nth(attempts.saturating_sub(1) as usize)
            .unwrap_or(self.max_delay);
        AfterFailure::RetryAt(
            now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(600)),
        )
    }
}

/// N4: delivery counts of one advisory by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub staged: i64,
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    pub dead: i64,
}

impl Counts {
    pub fn add(&mut self, state: DeliveryState, n: i64) {
        let count = match state {
            DeliveryState::Staged => &mut self.staged,
            DeliveryState::Pending => &mut self.pending,
            DeliveryState::Sent => &mut self.sent,
            DeliveryState::Failed => &mut self.failed,
            DeliveryState::Dead => &mut self.dead,
        };
        *count += n;
    }

    pub fn total(&self) -> i64 {
        self.staged + self.pending + self.sent + self.failed + self.dead
    }

    /// N4: the watch ends when the recipient list is complete and every delivery is settled.
    pub fn n4_settled(&self, state: AdvisoryState) -> bool {
        state == AdvisoryState::Ready && self.staged + self.pending + self.failed == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n3_message_ids_are_deterministic_per_row() {
        assert_eq!(
            n3_message_id("dlv-1", "portal.example"),
            n3_message_id("dlv-1", "portal.example")
        );
        assert_ne!(
            n3_message_id("dlv-1", "portal.example"),
            n3_message_id("dlv-2", "portal.example")
        );
    }

    #[test]
    fn n3_failures_back_off_exponentially_then_die() {
        let policy = RetryPolicy {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_attempts: 4,
        };
        let now = Utc::now();
        let delay = |attempts| match policy.n3_after_failure(attempts, false, now) {
            AfterFailure::RetryAt(at) => (at - now).num_milliseconds(),
            AfterFailure::Dead => -1,
        };
        let (first, third) = (delay(1), delay(3));
        assert!((1000..=2000).contains(&first), "{first}");
        assert!((4000..=8000).contains(&third), "{third}");
        assert_eq!(delay(4), -1, "attempts exhausted");
        assert_eq!(
            policy.n3_after_failure(1, true, now),
            AfterFailure::Dead,
            "permanent failures die at once"
        );
    }

    #[test]
    fn n4_sent_and_dead_are_settled() {
        assert!(DeliveryState::Sent.is_settled() && DeliveryState::Dead.is_settled());
        assert!(!DeliveryState::Failed.is_settled() && !DeliveryState::Staged.is_settled());
    }

    #[test]
    fn n4_an_advisory_settles_when_resolved_and_nothing_is_unsettled() {
        let mut counts = Counts::default();
        counts.add(DeliveryState::Sent, 2);
        counts.add(DeliveryState::Dead, 1);
        assert!(counts.n4_settled(AdvisoryState::Ready));
        assert!(
            !counts.n4_settled(AdvisoryState::Resolving),
            "list not complete"
        );
        counts.add(DeliveryState::Failed, 1);
        assert!(!counts.n4_settled(AdvisoryState::Ready), "a retry is due");
        assert_eq!(counts.total(), 4);
    }
}
