//! Auto-renew that renews (B10): a renewal date has four milestones — reminders to the Administrators 90, 30 and
//! 7 days before it, then the date itself, on which an auto-renewing renewal renews and the next term's renewal
//! (with its invoice) is created. A renewal row counts the milestones handled, so each happens once whichever
//! replica's sweep gets there first; one passed before the renewal existed, or overtaken by a later one while no
//! sweep ran, is never sent late.

use chrono::{DateTime, Utc};

use super::{
    calendar::{MILESTONES, REMINDER_DAYS, b10_passed},
    renewal::{Renewal, RenewalState, Terms},
};
use crate::error::Result;

/// B10: what the sweep does for a renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing to send or create; only the count of handled milestones moves (to `done`).
    Nothing { done: u8 },
    /// Remind the Administrators: the renewal date is this many days away (the milestone's, not to the day).
    Reminder { days: i64, done: u8 },
    /// The renewal date of an auto-renewing renewal: renew, and create the next term's renewal.
    Renew,
}

impl Due {
    /// How many milestones are handled once this is done.
    pub fn done(self) -> u8 {
        match self {
            Due::Nothing { done } | Due::Reminder { done, .. } => done,
            Due::Renew => MILESTONES,
        }
    }
}

/// B10: what is due for `renewal` at `now`, or `None` when no milestone passed since the last handled one.
/// Reminders go to open renewals only (a paid one needs none); on the date an auto-renewing renewal renews
/// whether it was paid or not (paid, its keys moved already; unpaid, they move now and its invoice stays due),
/// and either way the next term's renewal is created. A cancelled renewal, or one not auto-renewing on its
/// date, is done with.
pub fn b10_due(renewal: &Renewal, now: DateTime<Utc>) -> Option<Due> {
    let passed = b10_passed(renewal.renewal_date, now);
    if passed <= renewal.milestones_done {
        return None;
    }
    let due = match renewal.state {
        RenewalState::Cancelled | RenewalState::Lapsed => Due::Nothing { done: MILESTONES },
        _ if passed == MILESTONES => {
            if renewal.auto_renew {
                Due::Renew
            } else {
                Due::Nothing { done: MILESTONES }
            }
        }
        RenewalState::Open => Due::Reminder {
            days: REMINDER_DAYS[usize::from(passed - 1)],
            done: passed,
        },
        RenewalState::Renewed => Due::Nothing { done: passed },
    };
    Some(due)
}

impl Renewal {
    /// B10: on its date an auto-renewing renewal renews — an open one now (its keys move as a paid one's do, and
    /// its invoice stays due), a paid one stays as it is — and the next term's renewal, starting where this
    /// one's term ends, is created with `next_id` and `next_invoice_id`. Returns both.
    pub fn b10_renew(
        &self,
        next_id: String,
        next_invoice_id: String,
        now: DateTime<Utc>,
    ) -> Result<(Renewal, Renewal)> {
        let terms = Terms {
            account_id: self.account_id.clone(),
            key_ids: self.key_ids.clone(),
            renewal_date: self.extended_until()?,
            term_months: self.term_months,
        };
        let next = Renewal::open(next_id, next_invoice_id, terms, now);
        let renewed = Renewal {
            state: RenewalState::Renewed,
            refresh_pending: self.refresh_pending || self.state == RenewalState::Open,
            renewed_automatically: self.state == RenewalState::Open,
            milestones_done: MILESTONES,
            next_renewal_id: Some(next.renewal_id.clone()),
            update_time: now,
            ..self.clone()
        };
        Ok((renewed, next))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::calendar::b10_next_due;

    fn date() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 6, 1, 12, 0, 0).unwrap()
    }

    fn renewal(created: DateTime<Utc>) -> Renewal {
        let terms = Terms {
            account_id: "acc-1".into(),
            key_ids: vec!["key-1".into()],
            renewal_date: date(),
            term_months: 12,
        };
        Renewal::open("ren-1".into(), "inv-1".into(), terms, created)
    }

    /// Runs the sweep at `now` the way the job does: what is due, then the count moves.
    fn sweep(renewal: &mut Renewal, now: DateTime<Utc>) -> Option<Due> {
        let due = b10_due(renewal, now)?;
        renewal.milestones_done = due.done();
        Some(due)
    }

    #[test]
    fn b10_reminders_go_out_90_30_and_7_days_before_once_each() {
        let mut r = renewal(date() - Duration::days(200));
        assert_eq!(r.milestones_done, 0);
        assert_eq!(
            b10_next_due(r.renewal_date, 0),
            Some(date() - Duration::days(90))
        );
        assert_eq!(sweep(&mut r, date() - Duration::days(91)), None);
        let mut sent = Vec::new();
        for days_before in [90, 89, 60, 30, 29, 8, 7, 6, 1] {
            if let Some(Due::Reminder { days, .. }) =
                sweep(&mut r, date() - Duration::days(days_before))
            {
                sent.push(days);
            }
        }
        assert_eq!(sent, vec![90, 30, 7]);
        assert_eq!(
            b10_next_due(r.renewal_date, r.milestones_done),
            Some(date())
        );
    }

    #[test]
    fn b10_a_milestone_passed_before_the_renewal_existed_or_while_no_sweep_ran_is_not_sent_late() {
        let created = date() - Duration::days(20);
        let mut r = renewal(created);
        assert_eq!(
            r.milestones_done, 2,
            "90 and 30 days had passed at creation"
        );
        assert_eq!(sweep(&mut r, created + Duration::days(1)), None);
        assert_eq!(
            sweep(&mut r, date() - Duration::days(7)),
            Some(Due::Reminder { days: 7, done: 3 })
        );
        let mut idle = renewal(date() - Duration::days(200));
        assert_eq!(
            sweep(&mut idle, date() - Duration::days(10)),
            Some(Due::Reminder { days: 30, done: 2 }),
            "only the latest passed reminder"
        );
    }

    #[test]
    fn b10_on_its_date_an_auto_renewing_renewal_renews_and_the_next_term_is_created_once() {
        let mut r = renewal(date() - Duration::days(200));
        r.milestones_done = 3;
        assert_eq!(b10_due(&r, date() - Duration::seconds(1)), None);
        assert_eq!(b10_due(&r, date()), Some(Due::Renew));
        let (renewed, next) = r.b10_renew("ren-2".into(), "inv-2".into(), date()).unwrap();
        assert_eq!(renewed.state, RenewalState::Renewed);
        assert!(renewed.refresh_pending, "the keys move as if it were paid");
        assert!(renewed.renewed_automatically);
        assert_eq!(renewed.next_renewal_id.as_deref(), Some("ren-2"));
        assert_eq!(b10_due(&renewed, date() + Duration::days(1)), None, "once");
        assert_eq!(next.renewal_date, r.extended_until().unwrap());
        assert_eq!(next.key_ids, r.key_ids);
        assert_eq!((next.state, next.auto_renew), (RenewalState::Open, true));
        assert_eq!(
            next.milestones_done, 0,
            "the next term's reminders are all ahead"
        );
    }

    #[test]
    fn b10_a_paid_renewal_gets_no_reminder_but_its_next_term_on_the_date() {
        let mut paid = renewal(date() - Duration::days(200));
        paid.state = RenewalState::Renewed;
        assert_eq!(
            sweep(&mut paid, date() - Duration::days(30)),
            Some(Due::Nothing { done: 2 })
        );
        assert_eq!(sweep(&mut paid, date()), Some(Due::Renew));
        let (renewed, _) = paid
            .b10_renew("ren-2".into(), "inv-2".into(), date())
            .unwrap();
        assert!(!renewed.renewed_automatically, "it was paid");
        assert!(!renewed.refresh_pending, "its keys moved when it was paid");
    }

    #[test]
    fn b10_without_auto_renew_or_once_cancelled_nothing_happens_on_the_date() {
        let mut off = renewal(date() - Duration::days(200));
        off.auto_renew = false;
        off.milestones_done = 3;
        assert_eq!(
            b10_due(&off, date()),
            Some(Due::Nothing { done: MILESTONES })
        );
        let mut cancelled = renewal(date() - Duration::days(200));
        cancelled.state = RenewalState::Cancelled;
        assert_eq!(
            b10_due(&cancelled, date() - Duration::days(30)),
            Some(Due::Nothing { done: MILESTONES })
        );
        assert_eq!(b10_next_due(date(), MILESTONES), None);
    }
}
