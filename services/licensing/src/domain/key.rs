//! Product keys (L2, L3, L5, L6): what a key is, what issuing one asks for, and the checks made on it before
//! a seat or a fulfillment is handed out.

use chrono::{DateTime, Utc};
use portal_runtime::error::FieldViolation;

use crate::{
    domain::{Family, KeyString, LicenseType},
    error::{Error, Result},
};

/// L2: a key's status.
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
}

/// L2: a product key as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub key_id: String,
    pub key: KeyString,
    pub account_id: String,
    pub family: Family,
    pub seats: u64,
    pub license_type: LicenseType,
    pub period_end: Option<DateTime<Utc>>,
    pub maintenance_end: DateTime<Utc>,
    pub state: KeyState,
    pub owner_user_id: Option<String>,
    pub lblm_enabled: bool,
    pub deployment_id: Option<String>,
    pub purchase_id: Option<String>,
    /// L13: why and when the key was revoked; set exactly when `state` is `Revoked` by RevokeKey.
    pub revoked: Option<crate::domain::Revoked>,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

impl Key {
    /// L4: whether `user_id` owns the key.
    pub fn is_owned_by(&self, user_id: &str) -> bool {
        self.owner_user_id.as_deref() == Some(user_id)
    }
}

/// L3: an issue of `count` keys alike, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKeys {
    pub account_id: String,
    pub family: Family,
    pub seats: u64,
    pub license_type: LicenseType,
    pub period_end: Option<DateTime<Utc>>,
    pub maintenance_end: DateTime<Utc>,
    pub count: u32,
    pub lblm_enabled: bool,
    pub purchase_id: Option<String>,
}

/// L2: a term key has a period end in the future; a perpetual key has none.
pub fn check_period(
    license_type: LicenseType,
    period_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), FieldViolation> {
    let bad = |why: &str| Err(FieldViolation::new("period_end", why));
    match (license_type, period_end) {
        (LicenseType::Term, None) => bad("a term key needs a period end"),
        (LicenseType::Term, Some(end)) if end <= now => bad("must be in the future"),
        (LicenseType::Perpetual, Some(_)) => bad("a perpetual key has no period end"),
        _ => Ok(()),
    }
}

/// L4: a key's owner is an active user of the key's account. `owner_account` is the account identity knows
/// the person in (`None`: no active user).
pub fn ensure_owner_eligible(key: &Key, owner_account: Option<&str>) -> Result<()> {
    match owner_account {
        Some(account_id) if account_id == key.account_id => Ok(()),
        _ => Err(Error::UserNotInAccount),
    }
}

/// L6/L7: a key activates only while active and (for a term key) before its period end.
pub fn ensure_activatable(key: &Key, now: DateTime<Utc>) -> Result<()> {
    match key.state {
        KeyState::Revoked => Err(Error::KeyRevoked),
        KeyState::Expired => Err(Error::KeyExpired),
        KeyState::Active
            if key.license_type == LicenseType::Term
                && key.period_end.is_some_and(|end| end <= now) =>
        {
            Err(Error::KeyExpired)
        }
        KeyState::Active => Ok(()),
    }
}

/// L5, L13: a revoked key is assigned to nobody.
pub fn ensure_assignable(key: &Key) -> Result<()> {
    match key.state {
        KeyState::Revoked => Err(Error::KeyRevoked),
        KeyState::Active | KeyState::Expired => Ok(()),
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

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::Duration;

    use super::*;

    /// An active term key of the account `acc`, ending in ten days.
    pub(crate) fn key(state: KeyState, license_type: LicenseType) -> Key {
        let now = Utc::now();
        Key {
            key_id: "key_1".into(),
            key: KeyString::generate(Family::Tc),
            account_id: "acc".into(),
            family: Family::Tc,
            seats: 2,
            license_type,
            period_end: (license_type == LicenseType::Term).then(|| now + Duration::days(10)),
            maintenance_end: now + Duration::days(10),
            state,
            owner_user_id: Some("owner".into()),
            lblm_enabled: false,
            deployment_id: None,
            purchase_id: None,
            revoked: None,
            create_time: now,
            update_time: now,
        }
    }

    #[test]
    fn l2_term_keys_need_a_future_period_end_and_perpetual_keys_none() {
        let now = Utc::now();
        assert!(check_period(LicenseType::Term, None, now).is_err());
        assert!(check_period(LicenseType::Term, Some(now), now).is_err());
        assert!(check_period(LicenseType::Term, Some(now + Duration::days(1)), now).is_ok());
        assert!(check_period(LicenseType::Perpetual, Some(now), now).is_err());
        assert!(check_period(LicenseType::Perpetual, None, now).is_ok());
    }

    #[test]
    fn l4_owners_are_users_of_the_keys_account() {
        let key = key(KeyState::Active, LicenseType::Term);
        assert!(ensure_owner_eligible(&key, Some("acc")).is_ok());
        assert!(matches!(
            ensure_owner_eligible(&key, Some("other")),
            Err(Error::UserNotInAccount)
        ));
        assert!(ensure_owner_eligible(&key, None).is_err());
    }

    #[test]
    fn l5_assignments_never_exceed_seats() {
        assert!(ensure_seat_free(1, 2).is_ok());
        assert!(matches!(ensure_seat_free(2, 2), Err(Error::SeatsExhausted)));
    }

    #[test]
    fn l13_a_revoked_key_is_assigned_to_nobody() {
        assert!(matches!(
            ensure_assignable(&key(KeyState::Revoked, LicenseType::Term)),
            Err(Error::KeyRevoked)
        ));
        assert!(ensure_assignable(&key(KeyState::Active, LicenseType::Term)).is_ok());
    }

    #[test]
    fn l6_expired_or_revoked_keys_do_not_activate() {
        let now = Utc::now();
        assert!(matches!(
            ensure_activatable(&key(KeyState::Revoked, LicenseType::Term), now),
            Err(Error::KeyRevoked)
        ));
        assert!(matches!(
            ensure_activatable(&key(KeyState::Expired, LicenseType::Term), now),
            Err(Error::KeyExpired)
        ));
        let lapsed = Key {
            period_end: Some(now - Duration::seconds(1)),
            ..key(KeyState::Active, LicenseType::Term)
        };
        assert!(matches!(
            ensure_activatable(&lapsed, now),
            Err(Error::KeyExpired)
        ));
        let perpetual = key(KeyState::Active, LicenseType::Perpetual);
        assert!(ensure_activatable(&perpetual, now).is_ok());
    }
}
