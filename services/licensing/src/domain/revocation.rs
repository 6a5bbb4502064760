//! Revocation (L13): what revoking asks for, whether it changes anything ([`l13_plan`]), what it releases, and
//! who is told.

use chrono::{DateTime, Utc};
use portal_runtime::error::FieldViolation;

use crate::domain::{Key, KeyState};

/// The longest revocation reason, in characters.
pub const MAX_REASON: usize = 1000;

/// L13: a checked RevokeKey request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRevocation {
    pub key_id: String,
    pub reason: String,
}

/// L13: a key is revoked for a stated reason of at most [`MAX_REASON`] characters.
pub fn check_reason(reason: &str) -> Result<String, FieldViolation> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(FieldViolation::new("reason", "required"));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(FieldViolation::new(
            "reason",
            format!("must be at most {MAX_REASON} characters"),
        ));
    }
    Ok(reason.to_string())
}

/// L13: revoking a revoked key changes nothing; an active or an expired key is revoked.
pub fn needs_revoking(key: &Key) -> bool {
    key.state != KeyState::Revoked
}

/// L13: what revoking one key does, decided before anything is written; the application layer executes it
/// through the store in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationPlan {
    pub key_id: String,
    /// The state the key leaves.
    pub was: KeyState,
    /// The key becomes `REVOKED` with this reason and time.
    pub revoked: Revoked,
    /// Every active activation of the key goes back to its pool.
    pub release_activations: bool,
    /// Every assignment of the key is removed (its assignees are told).
    pub remove_assignments: bool,
    /// B11: the Creator seats the key put on a cloud site leave it.
    pub release_site_seats: bool,
}

/// L13: revoking `key` (as it is under its lock) for `reason` at `now`: `None` for a key revoked before, which
/// is left as it is; otherwise the key is revoked and its activations, assignments and site seats released.
pub fn l13_plan(key: &Key, reason: &str, now: DateTime<Utc>) -> Option<RevocationPlan> {
    needs_revoking(key).then(|| RevocationPlan {
        key_id: key.key_id.clone(),
        was: key.state,
        revoked: Revoked {
            reason: reason.to_string(),
            time: now,
        },
        release_activations: true,
        remove_assignments: true,
        release_site_seats: true,
    })
}

/// L13: what a revocation did, in the transaction that did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// The key was revoked before: nothing changed.
    AlreadyRevoked(Key),
    /// The key is revoked now (it was `was`); `assignees` are the e-mails whose assignments were removed.
    Revoked {
        key: Key,
        was: KeyState,
        assignees: Vec<String>,
        released_activations: u64,
    },
}

impl Revocation {
    pub fn key(&self) -> &Key {
        match self {
            Revocation::AlreadyRevoked(key) | Revocation::Revoked { key, .. } => key,
        }
    }
}

/// The reason and time a key is revoked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub reason: String,
    pub time: DateTime<Utc>,
}

/// Someone told of a revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Told {
    pub email: String,
    pub display_name: String,
    pub user_id: Option<String>,
}

/// L13: the key's owner (if an active user) and each person it was assigned to hear of the revocation once
/// each: an owner who was also an assignee gets one notice, not two (addresses compare case-insensitively).
pub fn told(owner: Option<Told>, assignees: &[String]) -> Vec<Told> {
    let mut told: Vec<Told> = owner.into_iter().collect();
    for email in assignees {
        if !told.iter().any(|t| t.email.eq_ignore_ascii_case(email)) {
            told.push(Told {
                email: email.clone(),
                display_name: String::new(),
                user_id: None,
            });
        }
    }
    told
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LicenseType, key::tests::key};

    fn owner(email: &str) -> Told {
        Told {
            email: email.into(),
            display_name: "Olga Owner".into(),
            user_id: Some("usr_owner".into()),
        }
    }

    #[test]
    fn l13_revoking_twice_is_a_no_op() {
        assert!(needs_revoking(&key(KeyState::Active, LicenseType::Term)));
        assert!(needs_revoking(&key(KeyState::Expired, LicenseType::Term)));
        assert!(!needs_revoking(&key(KeyState::Revoked, LicenseType::Term)));
    }

    #[test]
    fn l13_the_plan_revokes_and_releases_everything_once() {
        let now = Utc::now();
        let plan = l13_plan(&key(KeyState::Expired, LicenseType::Term), "refund", now)
            .expect("an expired key is revoked");
        assert_eq!(plan.was, KeyState::Expired);
        assert_eq!(plan.revoked.reason, "refund");
        assert_eq!(plan.revoked.time, now);
        assert!(plan.release_activations && plan.remove_assignments && plan.release_site_seats);
        assert_eq!(
            l13_plan(&key(KeyState::Revoked, LicenseType::Term), "again", now),
            None
        );
    }

    #[test]
    fn l13_a_reason_is_required_and_bounded() {
        assert!(check_reason("").is_err());
        assert!(check_reason("   ").is_err());
        assert!(check_reason(&"é".repeat(MAX_REASON + 1)).is_err());
        assert_eq!(
            check_reason(&format!(" {} ", "é".repeat(MAX_REASON))).map(|r| r.chars().count()),
            Ok(MAX_REASON)
        );
        assert_eq!(check_reason(" chargeback ").as_deref(), Ok("chargeback"));
    }

    #[test]
    fn l13_the_owner_and_each_assignee_are_told_once() {
        let assignees = vec![
            "OWNER@acme.example".to_string(),
            "a@acme.example".to_string(),
            "b@acme.example".to_string(),
        ];
        let told_of = told(Some(owner("owner@acme.example")), &assignees);
        let emails: Vec<&str> = told_of.iter().map(|t| t.email.as_str()).collect();
        assert_eq!(
            emails,
            ["owner@acme.example", "a@acme.example", "b@acme.example"]
        );
        assert_eq!(told_of[0].user_id.as_deref(), Some("usr_owner"));
        assert_eq!(told(None, &assignees[1..]).len(), 2);
        assert!(told(None, &[]).is_empty());
    }
}
