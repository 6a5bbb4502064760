//! Renewals (B8): the payment window before the renewal date, the auto-renew lock, and how far a paid renewal
//! moves the covered keys (L7).

use chrono::{DateTime, Months, Utc};

use super::{
    answer::Answer,
    calendar::{auto_renew_lock_time, b10_passed},
    catalog::LicenseType,
    invoice::{Invoice, InvoiceState},
};
use crate::error::{Error, Result};

/// `term_months` when the request leaves it 0.
pub const DEFAULT_TERM_MONTHS: i32 = 12;
pub const MAX_TERM_MONTHS: i32 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewalState {
    Open,
    Renewed,
    Lapsed,
    Cancelled,
}

impl RenewalState {
    pub fn as_str(self) -> &'static str {
        match self {
            RenewalState::Open => "OPEN",
            RenewalState::Renewed => "RENEWED",
            RenewalState::Lapsed => "LAPSED",
            RenewalState::Cancelled => "CANCELLED",
        }
    }

    /// The state as seen at `now`: an open renewal whose date has passed unpaid has lapsed (derived, like a
    /// persona, rather than swept).
    pub fn at(self, renewal_date: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        if self == RenewalState::Open && now > renewal_date {
            RenewalState::Lapsed
        } else {
            self
        }
    }
}

/// A renewal of keys (B8): its date, term and invoice, auto-renew, and whether its keys still wait for licensing
/// to refresh them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    pub renewal_id: String,
    pub account_id: String,
    pub key_ids: Vec<String>,
    pub renewal_date: DateTime<Utc>,
    pub term_months: i32,
    pub auto_renew: bool,
    pub invoice_id: String,
    pub state: RenewalState,
    /// Paid, and licensing has not refreshed the keys yet.
    pub refresh_pending: bool,
    /// The keys licensing refused to refresh, with why.
    pub refresh_error: Option<String>,
    /// B10: how many of the renewal date's milestones (reminders, then the date) have been handled.
    pub milestones_done: u8,
    /// B10: renewed on its date by auto-renew while unpaid (its invoice stays due).
    pub renewed_automatically: bool,
    /// B10: the next term's renewal, created on this one's date by auto-renew.
    pub next_renewal_id: Option<String>,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// What a renewal is created for (B8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub account_id: String,
    pub key_ids: Vec<String>,
    pub renewal_date: DateTime<Utc>,
    pub term_months: i32,
}

impl Renewal {
    /// B8: a new renewal is open, auto-renews until turned off, and has nothing to refresh until it is paid.
    /// B10: reminder milestones already passed when it is created are not sent.
    pub fn open(renewal_id: String, invoice_id: String, terms: Terms, now: DateTime<Utc>) -> Self {
        Self {
            milestones_done: b10_passed(terms.renewal_date, now),
            renewed_automatically: false,
            next_renewal_id: None,
            renewal_id,
            account_id: terms.account_id,
            key_ids: terms.key_ids,
            renewal_date: terms.renewal_date,
            term_months: terms.term_months,
            auto_renew: true,
            invoice_id,
            state: RenewalState::Open,
            refresh_pending: false,
            refresh_error: None,
            create_time: now,
            update_time: now,
        }
    }

    /// B8: the state as seen at `now` (see [`RenewalState::at`]); an auto-renewing renewal whose date passed
    /// is open until the sweep renews it (B10), not lapsed.
    pub fn state_at(&self, now: DateTime<Utc>) -> RenewalState {
        if self.auto_renew && self.state == RenewalState::Open {
            return self.state;
        }
        self.state.at(self.renewal_date, now)
    }

    /// B8/B10: the renewal date limits when its invoice can be paid only while it is open; once auto-renew
    /// renewed it unpaid, the invoice is simply due.
    pub fn payment_deadline(&self) -> Option<DateTime<Utc>> {
        (self.state == RenewalState::Open).then_some(self.renewal_date)
    }

    /// B8: the renewal with auto-renew set to `wanted` at `now` (see [`set_auto_renew`]); `None` when that is
    /// its value already.
    pub fn with_auto_renew(&self, wanted: bool, now: DateTime<Utc>) -> Result<Option<Renewal>> {
        let changed = set_auto_renew(self.state, self.auto_renew, wanted, self.renewal_date, now)?;
        Ok(changed.then(|| Renewal {
            auto_renew: wanted,
            update_time: now,
            ..self.clone()
        }))
    }

    /// B8: paying the renewal invoice in full renews the renewal, and its keys wait for licensing to refresh
    /// them (L7); `None` while `invoice` (this renewal's, just paid) still has a balance.
    pub fn renewed_by(&self, invoice: &Invoice, now: DateTime<Utc>) -> Option<Renewal> {
        // Renewed already (by auto-renew, B10): its keys moved then; paying settles the invoice only.
        (invoice.state == InvoiceState::Paid && self.state == RenewalState::Open).then(|| Renewal {
            state: RenewalState::Renewed,
            refresh_pending: true,
            update_time: now,
            ..self.clone()
        })
    }

    /// B8: voiding the renewal invoice cancels the renewal.
    pub fn cancelled(&self, now: DateTime<Utc>) -> Renewal {
        Renewal {
            state: RenewalState::Cancelled,
            update_time: now,
            ..self.clone()
        }
    }

    /// B8/L7: where paying this renewal moves its keys.
    pub fn extended_until(&self) -> Result<DateTime<Utc>> {
        extended_until(self.renewal_date, self.term_months)
    }
}

/// B8: what became of refreshing a paid renewal's keys: the refusals (key and why) to note on the renewal,
/// or `None` while licensing was unavailable for one of them, so the refresh stays pending and is retried.
pub fn b8_refresh_outcome(answers: Vec<(String, Answer<()>)>) -> Option<Vec<String>> {
    let mut refused = Vec::new();
    for (key_id, answer) in answers {
        match answer {
            Answer::Done(()) => {}
            Answer::Unavailable(_) => return None,
            Answer::Refused(why) => refused.push(format!("{key_id}: {why}")),
        }
    }
    Some(refused)
}

/// B8: a renewal covers keys of its own account only; `owner` is the account licensing says holds `key_id`
/// (`None`: no such key).
pub fn ensure_key_of(account_id: &str, key_id: &str, owner: Option<&str>) -> Result<()> {
    if owner == Some(account_id) {
        Ok(())
    } else {
        Err(Error::KeyNotInAccount(key_id.to_string()))
    }
}

/// B8: auto-renew can be turned off until 7 days before the renewal date and on until the renewal date, only
/// while the renewal is open. Setting the current value changes nothing (`Ok(false)`).
pub fn set_auto_renew(
    state: RenewalState,
    current: bool,
    wanted: bool,
    renewal_date: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    if current == wanted {
        return Ok(false);
    }
    if state.at(renewal_date, now) != RenewalState::Open {
        return Err(Error::RenewalNotOpen);
    }
    let deadline = if wanted {
        renewal_date
    } else {
        auto_renew_lock_time(renewal_date)
    };
    if now >= deadline {
        Err(Error::AutoRenewLocked)
    } else {
        Ok(true)
    }
}

/// B8/L7: where a paid renewal moves the covered keys: `renewal_date` plus `term_months`.
pub fn extended_until(renewal_date: DateTime<Utc>, term_months: i32) -> Result<DateTime<Utc>> {
    let months =
        u32::try_from(term_months).map_err(|_| Error::internal("negative renewal term"))?;
    renewal_date
        .checked_add_months(Months::new(months))
        .ok_or_else(|| Error::internal("renewal date out of range"))
}

/// New dates to send licensing for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRefresh {
    pub period_end: Option<DateTime<Utc>>,
    pub maintenance_end: Option<DateTime<Utc>>,
}

/// B8/L7: a term key's period end and maintenance end move to `until`, a perpetual key's maintenance end only;
/// dates never move backwards. `None` when the key already reaches `until`, so a retried refresh asks nothing.
pub fn refresh_plan(
    license_type: LicenseType,
    period_end: Option<DateTime<Utc>>,
    maintenance_end: Option<DateTime<Utc>>,
    until: DateTime<Utc>,
) -> Option<KeyRefresh> {
    let behind = |date: Option<DateTime<Utc>>| date.is_none_or(|d| d < until).then_some(until);
    let plan = match license_type {
        LicenseType::Term => KeyRefresh {
            period_end: behind(period_end),
            maintenance_end: behind(maintenance_end),
        },
        LicenseType::Perpetual => KeyRefresh {
            period_end: None,
            maintenance_end: behind(maintenance_end),
        },
    };
    (plan.period_end.is_some() || plan.maintenance_end.is_some()).then_some(plan)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::{Duration, TimeZone};

    use super::*;

    fn date() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 9, 30, 0, 0, 0).unwrap()
    }

    #[test]
    fn b8_a_renewal_covers_keys_of_its_own_account_only() {
        assert!(ensure_key_of("acc-1", "key-1", Some("acc-1")).is_ok());
        for owner in [Some("acc-2"), None] {
            assert!(matches!(
                ensure_key_of("acc-1", "key-1", owner),
                Err(Error::KeyNotInAccount(key)) if key == "key-1"
            ));
        }
    }

    #[test]
    fn b8_auto_renew_turns_off_until_seven_days_before() {
        let date = date();
        let open = RenewalState::Open;
        assert!(set_auto_renew(open, true, false, date, date - Duration::days(8)).unwrap());
        assert!(matches!(
            set_auto_renew(open, true, false, date, date - Duration::days(7)),
            Err(Error::AutoRenewLocked)
        ));
        assert!(matches!(
            set_auto_renew(open, true, false, date, date - Duration::days(1)),
            Err(Error::AutoRenewLocked)
        ));
        // Turning it back on is allowed until the date; setting the current value changes nothing.
        assert!(set_auto_renew(open, false, true, date, date - Duration::days(1)).unwrap());
        assert!(!set_auto_renew(open, true, true, date, date - Duration::days(1)).unwrap());
        assert!(matches!(
            set_auto_renew(
                RenewalState::Renewed,
                true,
                false,
                date,
                date - Duration::days(60)
            ),
            Err(Error::RenewalNotOpen)
        ));
        assert!(
            matches!(
                set_auto_renew(open, false, true, date, date + Duration::days(1)),
                Err(Error::RenewalNotOpen)
            ),
            "lapsed"
        );
    }

    #[test]
    fn b8_open_renewals_lapse_after_their_date() {
        let date = date();
        assert_eq!(
            RenewalState::Open.at(date, date - Duration::days(1)),
            RenewalState::Open
        );
        assert_eq!(
            RenewalState::Open.at(date, date + Duration::days(1)),
            RenewalState::Lapsed
        );
        assert_eq!(
            RenewalState::Renewed.at(date, date + Duration::days(1)),
            RenewalState::Renewed
        );
    }

    #[test]
    fn b8_paid_renewals_move_term_and_maintenance_ends_forward_once() {
        let date = date();
        let until = extended_until(date, 12).unwrap();
        assert_eq!(until, Utc.with_ymd_and_hms(2027, 9, 30, 0, 0, 0).unwrap());
        let plan = refresh_plan(LicenseType::Term, Some(date), Some(date), until).unwrap();
        assert_eq!(
            plan,
            KeyRefresh {
                period_end: Some(until),
                maintenance_end: Some(until)
            }
        );
        assert_eq!(
            refresh_plan(LicenseType::Term, Some(until), Some(until), until),
            None,
            "already refreshed"
        );
        let later = until + Duration::days(100);
        assert_eq!(
            refresh_plan(LicenseType::Term, Some(date), Some(later), until),
            Some(KeyRefresh {
                period_end: Some(until),
                maintenance_end: None
            })
        );
        let perpetual = refresh_plan(LicenseType::Perpetual, None, Some(date), until).unwrap();
        assert_eq!(
            perpetual,
            KeyRefresh {
                period_end: None,
                maintenance_end: Some(until)
            }
        );
    }

    #[test]
    fn b8_a_refresh_stays_pending_while_licensing_is_unavailable_and_notes_refusals() {
        let answers = |last: Answer<()>| {
            vec![
                ("key-1".to_string(), Answer::Done(())),
                ("key-2".to_string(), last),
            ]
        };
        assert_eq!(b8_refresh_outcome(answers(Answer::Done(()))), Some(vec![]));
        assert_eq!(
            b8_refresh_outcome(answers(Answer::Refused("revoked".into()))),
            Some(vec!["key-2: revoked".to_string()])
        );
        assert_eq!(
            b8_refresh_outcome(answers(Answer::Unavailable("down".into()))),
            None
        );
    }

    #[test]
    fn b8_paying_the_invoice_in_full_renews_and_voiding_it_cancels() {
        use crate::domain::invoice::tests::{invoice, usd};
        let date = date();
        let now = date - Duration::days(30);
        let terms = Terms {
            account_id: "acc-1".into(),
            key_ids: vec!["key-1".into()],
            renewal_date: date,
            term_months: 12,
        };
        let renewal = Renewal::open("ren-1".into(), "inv-1".into(), terms, now);
        assert_eq!(
            (renewal.state, renewal.auto_renew, renewal.refresh_pending),
            (RenewalState::Open, true, false)
        );
        let invoice = Invoice {
            renewal_id: Some("ren-1".into()),
            ..invoice(InvoiceState::Open, 1000, 0)
        };
        let partly = invoice.pay(usd(400), Some(date), now).unwrap();
        assert_eq!(renewal.renewed_by(&partly, now), None);
        let paid = partly.pay(usd(600), Some(date), now).unwrap();
        let renewed = renewal.renewed_by(&paid, now).unwrap();
        assert_eq!(
            (renewed.state, renewed.refresh_pending),
            (RenewalState::Renewed, true)
        );
        assert_eq!(renewal.cancelled(now).state, RenewalState::Cancelled);
    }
}
