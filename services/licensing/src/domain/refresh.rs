//! L7: refreshing a key moves its dates; the key string never changes.

use chrono::{DateTime, Utc};

use crate::{
    domain::{KeyState, LicenseType},
    error::{Error, Result},
};

/// L7: a refresh as asked for: the key and its new dates, each optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRefresh {
    pub key_id: String,
    pub period_end: Option<DateTime<Utc>>,
    pub maintenance_end: Option<DateTime<Utc>>,
}

/// New dates of a refreshed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    pub period_end: Option<DateTime<Utc>>,
    pub maintenance_end: DateTime<Utc>,
}

/// L7: a term key is refreshed before its period end by moving the date (after it, a new key is needed); a
/// perpetual key only moves its maintenance end. The key string never changes. Dates never move backwards.
pub fn refresh(
    license_type: LicenseType,
    state: KeyState,
    current: Refreshed,
    period_end: Option<DateTime<Utc>>,
    maintenance_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Refreshed> {
    if state == KeyState::Revoked {
        return Err(Error::KeyRevoked);
    }
    let mut next = current;
    match license_type {
        LicenseType::Perpetual => {
            if period_end.is_some() {
                return Err(Error::invalid(
                    "period_end",
                    "a perpetual key has no period end; refresh its maintenance_end",
                ));
            }
        }
        LicenseType::Term => {
            if state == KeyState::Expired || current.period_end.is_some_and(|end| end <= now) {
                return Err(Error::KeyExpired);
            }
            if let Some(end) = period_end {
                if current.period_end.is_some_and(|c| end < c) || end <= now {
                    return Err(Error::invalid(
                        "period_end",
                        "must be later than the current period end",
                    ));
                }
                next.period_end = Some(end);
            }
        }
    }
    if let Some(end) = maintenance_end {
        if end < current.maintenance_end {
            return Err(Error::invalid(
                "maintenance_end",
                "must not be earlier than the current maintenance end",
            ));
        }
        next.maintenance_end = end;
    }
    if next == current {
        return Err(Error::invalid(
            "period_end",
            "give a new period_end or maintenance_end",
        ));
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::Duration;

    use super::*;

    #[test]
    fn l7_refresh_moves_dates_before_period_end_only() {
        let now = Utc::now();
        let current = Refreshed {
            period_end: Some(now + Duration::days(10)),
            maintenance_end: now + Duration::days(10),
        };
        let later = now + Duration::days(375);
        let next = refresh(
            LicenseType::Term,
            KeyState::Active,
            current,
            Some(later),
            Some(later),
            now,
        )
        .unwrap();
        assert_eq!(
            next,
            Refreshed {
                period_end: Some(later),
                maintenance_end: later
            }
        );
        let lapsed = Refreshed {
            period_end: Some(now - Duration::days(1)),
            ..current
        };
        assert!(matches!(
            refresh(
                LicenseType::Term,
                KeyState::Active,
                lapsed,
                Some(later),
                None,
                now
            ),
            Err(Error::KeyExpired)
        ));
        assert!(
            refresh(
                LicenseType::Term,
                KeyState::Active,
                current,
                Some(now + Duration::days(1)),
                None,
                now
            )
            .is_err()
        );
    }

    #[test]
    fn l7_perpetual_keys_move_maintenance_only() {
        let now = Utc::now();
        let current = Refreshed {
            period_end: None,
            maintenance_end: now,
        };
        let later = now + Duration::days(365);
        let next = refresh(
            LicenseType::Perpetual,
            KeyState::Active,
            current,
            None,
            Some(later),
            now,
        )
        .unwrap();
        assert_eq!(
            next,
            Refreshed {
                period_end: None,
                maintenance_end: later
            }
        );
        assert!(
            refresh(
                LicenseType::Perpetual,
                KeyState::Active,
                current,
                Some(later),
                None,
                now
            )
            .is_err()
        );
    }
}
