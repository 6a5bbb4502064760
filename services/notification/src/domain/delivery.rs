//! Deliveries (N3, N4): the ledger row's states, the deterministic Message-ID, and what a failed attempt
//! leads to.

use std::time::Duration;

use backon::BackoffBuilder;
use chrono::{DateTime, Utc};

/// A ledger row's state. `Staged` rows belong to an advisory whose recipient list is still being written and
/// are not sent until it is complete (N3); the contract shows them as pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Staged,
    Pending,
    Sent,
    Failed,
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Staged => "STAGED",
            DeliveryState::Pending => "PENDING",
            DeliveryState::Sent => "SENT",
            DeliveryState::Failed => "FAILED",
            DeliveryState::Dead => "DEAD",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "STAGED" => DeliveryState::Staged,
            "SENT" => DeliveryState::Sent,
            "FAILED" => DeliveryState::Failed,
            "DEAD" => DeliveryState::Dead,
            _ => DeliveryState::Pending,
        }
    }
    /// Settled rows need nothing more (N4).
    pub fn is_settled(self) -> bool {
        matches!(self, DeliveryState::Sent | DeliveryState::Dead)
    }
}

/// N3: the same ledger row always carries the same Message-ID, so a resend after a crash is recognisable.
pub fn message_id(delivery_id: &str, domain: &str) -> String {
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
    /// After attempt number `attempts` (1-based) failed: dead if the failure is permanent (SMTP 5xx) or the
    /// attempts are used up, else retry after the attempt's backoff (with jitter).
    pub fn after_failure(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n3_message_ids_are_deterministic_per_row() {
        assert_eq!(
            message_id("dlv-1", "portal.example"),
            message_id("dlv-1", "portal.example")
        );
        assert_ne!(
            message_id("dlv-1", "portal.example"),
            message_id("dlv-2", "portal.example")
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
        let delay = |attempts| match policy.after_failure(attempts, false, now) {
            AfterFailure::RetryAt(at) => (at - now).num_milliseconds(),
            AfterFailure::Dead => -1,
        };
        let (first, third) = (delay(1), delay(3));
        assert!((1000..=2000).contains(&first), "{first}");
        assert!((4000..=8000).contains(&third), "{third}");
        assert_eq!(delay(4), -1, "attempts exhausted");
        assert_eq!(
            policy.after_failure(1, true, now),
            AfterFailure::Dead,
            "permanent failures die at once"
        );
    }

    #[test]
    fn n4_sent_and_dead_are_settled() {
        assert!(DeliveryState::Sent.is_settled() && DeliveryState::Dead.is_settled());
        assert!(!DeliveryState::Failed.is_settled() && !DeliveryState::Staged.is_settled());
    }
}
