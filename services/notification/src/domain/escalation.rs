//! Escalation and coverage (N8): when every designated contact's mail of an account ends `DEAD`, the account's
//! Administrators get the advisory, once; what each targeted account's ledger rows say about whether a human
//! there was reached (also N10's report).

use super::{DeliveryState, Recipient};

/// N8: whether an advisory reached a human at one targeted account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Mail is still on its way, or an escalation is due.
    Pending,
    /// A designated point of contact got it.
    Reached,
    /// An Administrator standing in for missing contacts got it (N2).
    Fallback,
    /// An Administrator got it by escalation.
    Escalated,
    /// Nobody got it: no one to tell (N7), or every mail, escalation included, ended `DEAD`.
    Unreachable,
}

impl Coverage {
    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::Pending => "PENDING",
            Coverage::Reached => "REACHED",
            Coverage::Fallback => "FALLBACK",
            Coverage::Escalated => "ESCALATED",
            Coverage::Unreachable => "UNREACHABLE",
        }
    }
}

/// Mails of one advisory to one account (a group of its ledger rows) by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub sent: i64,
    pub dead: i64,
    /// Staged, pending or failed: not settled yet.
    pub open: i64,
}

impl Tally {
    pub fn add(&mut self, state: DeliveryState, n: i64) {
        match state {
            DeliveryState::Sent => self.sent += n,
            DeliveryState::Dead => self.dead += n,
            DeliveryState::Staged | DeliveryState::Pending | DeliveryState::Failed => {
                self.open += n
            }
        }
    }

    /// Every mail ended `DEAD` (and there was at least one).
    pub fn all_dead(&self) -> bool {
        self.dead > 0 && self.sent == 0 && self.open == 0
    }
}

/// One targeted account's part of an advisory's ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountLedger {
    /// The mails to its designated contacts (or to its Administrators standing in for them).
    pub designated: Tally,
    /// Its recipients were Administrators standing in for missing contacts (N2).
    pub fallback: bool,
    /// The escalation, once claimed: its mails (none when there was nobody else to tell).
    pub escalation: Option<Tally>,
}

impl AccountLedger {
    /// N8: escalation is due once every designated mail ended `DEAD`, and only once.
    ///
    /// This is the criterion `store::escalations::due` executes as one set-based query over the ledger (an
    /// account's designated rows — neither escalation nor reminder — all `DEAD`, and no escalation claimed); it
    /// returns each candidate's ledger, and [`AccountLedger::n8_escalation`] decides on it.
    pub fn n8_escalation_due(&self) -> bool {
        self.designated.all_dead() && self.escalation.is_none()
    }

    /// N8: the escalation decision for the account: none unless it is due; then its Administrators, unless its
    /// recipients already were its Administrators standing in for missing contacts (N2): then there is nobody
    /// else, the escalation is claimed with no mail and the account is unreachable.
    pub fn n8_escalation(&self) -> Option<Escalation> {
        if !self.n8_escalation_due() {
            return None;
        }
        Some(if self.fallback {
            Escalation::NobodyElse
        } else {
            Escalation::ToAdministrators
        })
    }

    /// N8: what the ledger says about the account. A designated mail sent is enough, even one sent after the
    /// escalation (a manual retry, N3).
    pub fn n8_coverage(&self) -> Coverage {
        let d = self.designated;
        if d.sent > 0 {
            return if self.fallback {
                Coverage::Fallback
            } else {
                Coverage::Reached
            };
        }
        if d.open > 0 || d.dead == 0 {
            return Coverage::Pending;
        }
        match self.escalation {
            None => Coverage::Pending,
            Some(e) if e.sent > 0 => Coverage::Escalated,
            Some(e) if e.open > 0 => Coverage::Pending,
            Some(_) => Coverage::Unreachable,
        }
    }
}

/// N8: an escalation decided by [`AccountLedger::n8_escalation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// The account's Administrators get the advisory, marked as escalation ([`n8_escalate_to`]).
    ToAdministrators,
    /// Its recipients already were its Administrators (fallback, N2): nobody else to tell.
    NobodyElse,
}

/// N8: the recipients of an escalation to `administrators`, each marked as escalation (not a fallback). An
/// Administrator who was also a designated contact already has a (dead) row and the ledger keeps that one.
pub fn n8_escalate_to(administrators: Vec<Recipient>) -> Vec<Recipient> {
    administrators
        .into_iter()
        .map(|a| Recipient {
            fallback: false,
            ..a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(sent: i64, dead: i64, open: i64) -> Tally {
        Tally { sent, dead, open }
    }

    fn ledger(designated: Tally, fallback: bool, escalation: Option<Tally>) -> AccountLedger {
        AccountLedger {
            designated,
            fallback,
            escalation,
        }
    }

    #[test]
    fn n8_escalation_is_due_only_when_every_designated_mail_is_dead() {
        assert!(ledger(tally(0, 2, 0), false, None).n8_escalation_due());
        assert!(!ledger(tally(1, 1, 0), false, None).n8_escalation_due());
        assert!(
            !ledger(tally(0, 1, 1), false, None).n8_escalation_due(),
            "one still retrying"
        );
        assert!(!ledger(tally(0, 0, 0), false, None).n8_escalation_due());
        assert_eq!(ledger(tally(1, 1, 0), false, None).n8_escalation(), None);
    }

    #[test]
    fn n8_escalation_happens_once() {
        assert!(!ledger(tally(0, 2, 0), false, Some(tally(0, 0, 1))).n8_escalation_due());
        assert_eq!(
            ledger(tally(0, 2, 0), true, Some(Tally::default())).n8_escalation(),
            None
        );
    }

    #[test]
    fn n8_coverage_per_account() {
        assert_eq!(
            ledger(tally(1, 1, 0), false, None).n8_coverage(),
            Coverage::Reached
        );
        assert_eq!(
            ledger(tally(1, 0, 0), true, None).n8_coverage(),
            Coverage::Fallback
        );
        assert_eq!(
            ledger(tally(0, 0, 1), false, None).n8_coverage(),
            Coverage::Pending
        );
        assert_eq!(
            ledger(tally(0, 2, 0), false, None).n8_coverage(),
            Coverage::Pending,
            "escalation due"
        );
        assert_eq!(
            ledger(tally(0, 2, 0), false, Some(tally(0, 0, 2))).n8_coverage(),
            Coverage::Pending
        );
        assert_eq!(
            ledger(tally(0, 2, 0), false, Some(tally(1, 1, 0))).n8_coverage(),
            Coverage::Escalated
        );
        assert_eq!(
            ledger(tally(0, 2, 0), false, Some(tally(0, 2, 0))).n8_coverage(),
            Coverage::Unreachable
        );
        assert_eq!(
            ledger(tally(0, 1, 0), true, Some(Tally::default())).n8_coverage(),
            Coverage::Unreachable,
            "fallback accounts have nobody else"
        );
        assert_eq!(
            ledger(tally(1, 1, 0), false, Some(tally(0, 1, 0))).n8_coverage(),
            Coverage::Reached,
            "a designated mail retried by hand and sent"
        );
    }

    #[test]
    fn n8_fallback_accounts_have_nobody_to_escalate_to() {
        let admin = Recipient {
            account_id: "a".into(),
            account_name: "A".into(),
            user_id: "u".into(),
            email: "admin@a.example".into(),
            display_name: "Admin".into(),
            fallback: true,
        };
        assert_eq!(
            ledger(tally(0, 1, 0), true, None).n8_escalation(),
            Some(Escalation::NobodyElse)
        );
        assert_eq!(
            ledger(tally(0, 1, 0), false, None).n8_escalation(),
            Some(Escalation::ToAdministrators)
        );
        let to = n8_escalate_to(vec![admin]);
        assert_eq!(to.len(), 1);
        assert!(!to[0].fallback);
    }
}
