//! Product keys (L1–L3, L5, L7): their format, family, state and the rules on refreshing them.

use std::fmt;

use chrono::{DateTime, Utc};
use portal_runtime::error::FieldViolation;
use rand::Rng;

use crate::error::{Error, Result};

pub use portal_policy::{Family, LicenseType, Product};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    Expired,
    Revoked,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "ACTIVE",
            KeyState::Expired => "EXPIRED",
            KeyState::Revoked => "REVOKED",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "EXPIRED" => KeyState::Expired,
            "REVOKED" => KeyState::Revoked,
            _ => KeyState::Active,
        }
    }
}

/// `TC12-3456-7890-ABCD-1234`: a family prefix and 18 characters in five groups of four (L1).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyString(String);

const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

impl KeyString {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate(family: Family) -> Self {
        let mut rng = rand::rngs::OsRng;
        let mut body: String = family.as_str().to_string();
        for i in 0..18 {
            if (i + 2) % 4 == 0 {
                body.push('-');
            }
            body.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
        }
        Self(body)
    }

    /// Accepts the canonical form, case-insensitively and without the dashes.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        let bad = || {
            FieldViolation::new(
                field,
                "must look like TC12-3456-7890-ABCD-1234 (TC, TD or TS and 18 letters or digits)",
            )
        };
        if compact.len() != 20
            || Family::parse(&compact[..2]).is_none()
            || !compact.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(bad());
        }
        let groups: Vec<&str> = (0..5).map(|i| &compact[i * 4..i * 4 + 4]).collect();
        Ok(Self(groups.join("-")))
    }

    pub fn family(&self) -> Family {
        Family::parse(&self.0[..2]).unwrap_or(Family::Tc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The only part of a key that may be logged or shown to those who may not see the key.
    pub fn last_group(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

/// Never prints the whole key (L1).
impl fmt::Debug for KeyString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}**-****-****-****-{}", &self.0[..2], self.last_group())
    }
}

impl fmt::Display for KeyString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// L6/L7: a key activates only while active and (for a term key) before its period end.
pub fn ensure_activatable(
    state: KeyState,
    license_type: LicenseType,
    period_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    match state {
        KeyState::Revoked => Err(Error::KeyRevoked),
        KeyState::Expired => Err(Error::KeyExpired),
        KeyState::Active
            if license_type == LicenseType::Term && period_end.is_some_and(|end| end <= now) =>
        {
            Err(Error::KeyExpired)
        }
        KeyState::Active => Ok(()),
    }
}

/// L5: assignments never exceed seats.
pub fn ensure_seat_free(assigned: u64, seats: u64) -> Result<()> {
    if assigned >= seats {
        Err(Error::SeatsExhausted)
    } else {
        Ok(())
    }
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
    fn l1_keys_have_the_family_prefix_and_five_groups_of_four() {
        for family in Family::ALL {
            let key = KeyString::generate(family);
            let s = key.as_str();
            assert_eq!(s.len(), 24, "{s}");
            assert!(s.starts_with(family.as_str()));
            assert_eq!(s.split('-').map(str::len).collect::<Vec<_>>(), vec![4; 5]);
            assert_eq!(KeyString::parse("key", s).unwrap(), key);
            assert_eq!(key.family(), family);
        }
    }

    #[test]
    fn l1_keys_are_random_and_never_printed_whole() {
        let a = KeyString::generate(Family::Tc);
        let b = KeyString::generate(Family::Tc);
        assert_ne!(a, b);
        let shown = format!("{a:?} {a}");
        assert!(!shown.contains(&a.as_str()[5..19]), "{shown}");
        assert!(shown.contains(a.last_group()));
    }

    #[test]
    fn l1_malformed_keys_are_refused() {
        for bad in [
            "",
            "TC12-3456",
            "XX12-3456-7890-ABCD-1234",
            "TC12-3456-7890-ABCD-12345",
            "TC12-3456-7890-ABCD-12!4",
        ] {
            assert!(KeyString::parse("key", bad).is_err(), "{bad}");
        }
        assert_eq!(
            KeyString::parse("key", "tc1234567890abcd1234")
                .unwrap()
                .as_str(),
            "TC12-3456-7890-ABCD-1234"
        );
    }

    #[test]
    fn l5_assignments_never_exceed_seats() {
        assert!(ensure_seat_free(1, 2).is_ok());
        assert!(matches!(ensure_seat_free(2, 2), Err(Error::SeatsExhausted)));
    }

    #[test]
    fn l6_expired_or_revoked_keys_do_not_activate() {
        let now = Utc::now();
        assert!(matches!(
            ensure_activatable(KeyState::Revoked, LicenseType::Term, None, now),
            Err(Error::KeyRevoked)
        ));
        assert!(matches!(
            ensure_activatable(KeyState::Expired, LicenseType::Term, None, now),
            Err(Error::KeyExpired)
        ));
        assert!(matches!(
            ensure_activatable(
                KeyState::Active,
                LicenseType::Term,
                Some(now - Duration::seconds(1)),
                now
            ),
            Err(Error::KeyExpired)
        ));
        assert!(ensure_activatable(KeyState::Active, LicenseType::Perpetual, None, now).is_ok());
    }

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
