//! The dates billing derives: instants cut to whole seconds, and the calendar of a renewal date — the window in
//! which its invoice is paid and the auto-renew lock (B8), the reminder milestones before it (B10). Invoices,
//! renewals and auto-renew all read it; it reads none of them.

use chrono::{DateTime, Duration, Months, Utc};

use crate::error::{Error, Result};

/// `time` without its fraction of a second, so the same instant reads back identically from every database
/// (PostgreSQL keeps microseconds, chrono nanoseconds).
pub fn whole_seconds(time: DateTime<Utc>) -> DateTime<Utc> {
    time - Duration::nanoseconds(i64::from(time.timestamp_subsec_nanos()))
}

/// A renewal invoice can be paid from this many months before the renewal date.
pub const PAYMENT_WINDOW_MONTHS: u32 = 4;
/// Auto-renew can be turned off until this many days before the renewal date.
pub const AUTO_RENEW_LOCK_DAYS: i64 = 7;

/// B8: from when the renewal invoice can be paid.
pub fn payment_window_start(renewal_date: DateTime<Utc>) -> DateTime<Utc> {
    renewal_date
        .checked_sub_months(Months::new(PAYMENT_WINDOW_MONTHS))
        .unwrap_or(renewal_date)
}

/// B8: until when auto-renew can be turned off.
pub fn auto_renew_lock_time(renewal_date: DateTime<Utc>) -> DateTime<Utc> {
    renewal_date - Duration::days(AUTO_RENEW_LOCK_DAYS)
}

/// B8: a renewal invoice is paid within 4 months before its renewal date, not earlier and not after.
pub fn ensure_payable(renewal_date: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    if now < payment_window_start(renewal_date) || now > renewal_date {
        Err(Error::OutsideRenewalWindow)
    } else {
        Ok(())
    }
}

/// B10: reminders go out this many days before a renewal date, in this order.
pub const REMINDER_DAYS: [i64; 3] = [90, 30, 7];
/// B10: the reminders, then the renewal date.
pub const MILESTONES: u8 = REMINDER_DAYS.len() as u8 + 1;

/// When milestone `index` (0-based: the reminders, then the date) of `renewal_date` falls.
fn milestone(renewal_date: DateTime<Utc>, index: u8) -> Option<DateTime<Utc>> {
    match REMINDER_DAYS.get(usize::from(index)) {
        Some(days) => Some(renewal_date - Duration::days(*days)),
        None => (index < MILESTONES).then_some(renewal_date),
    }
}

/// B10: how many milestones of `renewal_date` have passed at `now` (0 to [`MILESTONES`]).
pub fn b10_passed(renewal_date: DateTime<Utc>, now: DateTime<Utc>) -> u8 {
    (0..MILESTONES)
        .take_while(|&i| milestone(renewal_date, i).is_some_and(|at| at <= now))
        .count() as u8
}

/// B10: when the sweep looks at a renewal again, having handled `done` milestones; `None` once all are.
pub fn b10_next_due(renewal_date: DateTime<Utc>, done: u8) -> Option<DateTime<Utc>> {
    milestone(renewal_date, done)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone;

    use super::*;

    fn date() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 9, 30, 0, 0, 0).unwrap()
    }

    #[test]
    fn b8_renewals_are_paid_within_four_months_before_the_date() {
        let date = date();
        assert_eq!(
            payment_window_start(date),
            Utc.with_ymd_and_hms(2026, 5, 30, 0, 0, 0).unwrap()
        );
        assert!(ensure_payable(date, date - Duration::days(30)).is_ok());
        assert!(ensure_payable(date, payment_window_start(date)).is_ok());
        assert!(ensure_payable(date, date).is_ok());
        assert!(matches!(
            ensure_payable(date, payment_window_start(date) - Duration::seconds(1)),
            Err(Error::OutsideRenewalWindow)
        ));
        assert!(matches!(
            ensure_payable(date, date + Duration::seconds(1)),
            Err(Error::OutsideRenewalWindow)
        ));
    }
}
