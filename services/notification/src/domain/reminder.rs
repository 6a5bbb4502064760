//! Reminders (N9): RemindAdvisory sends the advisory once more to every contact it reached at an account where
//! nobody acknowledged it, through the same ledger.

use super::{About, Delivery, DeliveryState};

/// N9: the set of reminders to write, as a value: reminder number `number` of `advisory_id`, one copy of every
/// row [`Reminders::n9_copies`] holds for. `store::deliveries::insert_reminders` executes it as one
/// `INSERT … SELECT` over the ledger (an advisory can have 10,000+ recipients) with exactly that criterion,
/// naming each copy [`Reminders::n9_delivery_id`], written `PENDING` to the same recipient with the same
/// escalation mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminders {
    pub advisory_id: String,
    /// 1 for the first reminder, then one more than the last.
    pub number: i32,
}

impl Reminders {
    /// The state of the rows a reminder copies: the advisory reached that recipient.
    pub const COPIES: DeliveryState = DeliveryState::Sent;

    /// N9: the next reminder of `advisory_id`, after reminder `last` (`None`: there was none yet).
    pub fn n9_next(advisory_id: &str, last: Option<i32>) -> Self {
        Self {
            advisory_id: advisory_id.to_string(),
            number: last.unwrap_or(0) + 1,
        }
    }

    /// N9: whether these reminders copy `row` (`acknowledged`: someone at its account acknowledged the
    /// advisory): a mail of the advisory itself — not a reminder; an escalation is one — that was sent, to an
    /// account nobody acknowledged it at.
    pub fn n9_copies(&self, row: &Delivery, acknowledged: bool) -> bool {
        matches!(&row.about, About::Advisory(id) if *id == self.advisory_id)
            && row.reminder == 0
            && row.state == Self::COPIES
            && !acknowledged
    }

    /// N9: what a copy's delivery id ends with, after its original's: `-r<number>`.
    pub fn n9_suffix(&self) -> String {
        format!("-r{}", self.number)
    }

    /// N9: the copy of delivery `original` is a delivery of its own (so its own Message-ID, N3).
    pub fn n9_delivery_id(&self, original: &str) -> String {
        format!("{original}{}", self.n9_suffix())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::Recipient;

    fn row(advisory_id: &str, reminder: u32, state: DeliveryState) -> Delivery {
        let now = Utc::now();
        Delivery {
            delivery_id: "dlv-1".into(),
            about: About::Advisory(advisory_id.into()),
            to: Recipient {
                account_id: "acc-1".into(),
                account_name: "Alpha".into(),
                user_id: "u".into(),
                email: "psirt@alpha.example".into(),
                display_name: "PSIRT".into(),
                fallback: false,
            },
            escalation: false,
            reminder,
            state,
            attempts: 0,
            last_error: String::new(),
            next_attempt_time: now,
            sent_time: None,
            create_time: now,
            update_time: now,
        }
    }

    #[test]
    fn n9_reminders_are_numbered_after_the_last() {
        assert_eq!(Reminders::n9_next("adv-1", None).number, 1);
        assert_eq!(Reminders::n9_next("adv-1", Some(2)).number, 3);
    }

    #[test]
    fn n9_a_reminder_copies_sent_mail_of_the_advisory_to_unacknowledged_accounts() {
        let first = Reminders::n9_next("adv-1", None);
        assert!(first.n9_copies(&row("adv-1", 0, DeliveryState::Sent), false));
        assert!(
            !first.n9_copies(&row("adv-1", 0, DeliveryState::Sent), true),
            "someone at the account acknowledged"
        );
        for state in [
            DeliveryState::Staged,
            DeliveryState::Pending,
            DeliveryState::Failed,
            DeliveryState::Dead,
        ] {
            assert!(
                !first.n9_copies(&row("adv-1", 0, state), false),
                "{state:?}"
            );
        }
        assert!(
            !first.n9_copies(&row("adv-1", 1, DeliveryState::Sent), false),
            "a reminder is not reminded"
        );
        assert!(!first.n9_copies(&row("adv-2", 0, DeliveryState::Sent), false));
        let mut escalated = row("adv-1", 0, DeliveryState::Sent);
        escalated.escalation = true;
        assert!(first.n9_copies(&escalated, false));
    }

    #[test]
    fn n9_each_copy_is_its_own_delivery() {
        let second = Reminders::n9_next("adv-1", Some(1));
        assert_eq!(second.n9_delivery_id("dlv-1"), "dlv-1-r2");
    }
}
