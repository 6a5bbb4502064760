//! Purchases (B3): the states a purchase goes through and when it moves (complete, failed, pending), and what
//! a failed one undoes (B9). What licensing is asked to issue for each line, deterministically so that a retry
//! asks for exactly the same thing, is [`issue`]'s; what may be ordered is `order`'s.

mod issue;

use chrono::{DateTime, Utc};
use portal_clients::ProvisionedSeats;

pub use issue::{Issue, b11_site_request_id, issue_for, line_request_id};

use super::{
    answer::Answer,
    calendar::whole_seconds,
    invoice::{InvoiceState, Line},
};

/// The fulfilment state of a purchase (B3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseState {
    Pending,
    Fulfilled,
    Failed,
}

impl PurchaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseState::Pending => "PENDING",
            PurchaseState::Fulfilled => "FULFILLED",
            PurchaseState::Failed => "FAILED",
        }
    }
}

/// A purchase (B3): an order, its invoice, and what licensing issued for it once fulfilled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub purchase_id: String,
    pub account_id: String,
    pub state: PurchaseState,
    pub invoice_id: String,
    /// The keys licensing issued; empty until fulfilled. A failed purchase lists those issued for its lines
    /// before licensing refused one (B9).
    pub key_ids: Vec<String>,
    /// B9: the keys of a failed purchase revoked since; all of `key_ids` once compensated.
    pub revoked_key_ids: Vec<String>,
    /// B9: a failed purchase whose issued keys are still to be revoked (the retry loop finishes it).
    pub compensation_pending: bool,
    /// The eLearning access codes licensing issued (L11); empty until fulfilled.
    pub elearning_codes: Vec<String>,
    /// The cloud sites its Creator seats went to (B11); empty until fulfilled.
    pub site_ids: Vec<String>,
    /// B11: seats were provisioned but the account had no Administrator to tell.
    pub no_administrator_notified: bool,
    /// Why licensing refused the purchase, once failed.
    pub failure_reason: String,
    /// When it was made, in whole seconds: the base of every date licensing is asked for.
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

impl Purchase {
    /// B3: a new order, pending until licensing has issued what it sells. `now` is cut to whole seconds, so
    /// the dates of every retry count from the same instant.
    pub fn new(
        purchase_id: String,
        account_id: String,
        invoice_id: String,
        now: DateTime<Utc>,
    ) -> Self {
        let now = whole_seconds(now);
        Self {
            purchase_id,
            account_id,
            state: PurchaseState::Pending,
            invoice_id,
            key_ids: Vec::new(),
            revoked_key_ids: Vec::new(),
            compensation_pending: false,
            elearning_codes: Vec::new(),
            site_ids: Vec::new(),
            no_administrator_notified: false,
            failure_reason: String::new(),
            create_time: now,
            update_time: now,
        }
    }

    /// B3: what a fulfilment attempt does before it asks licensing anything.
    pub fn b3_next_attempt(&self, invoice: InvoiceState) -> Attempt {
        match (self.state, invoice) {
            (PurchaseState::Fulfilled | PurchaseState::Failed, _) => Attempt::Settled,
            // An invoice voided while the purchase waited cancels it: nothing is issued against a void invoice.
            (PurchaseState::Pending, InvoiceState::Void) => {
                Attempt::Cancel("the invoice was voided before fulfilment".into())
            }
            (PurchaseState::Pending, InvoiceState::Open | InvoiceState::Paid) => Attempt::Issue,
        }
    }

    /// B9: the keys a failed purchase still has to have revoked, each under a request id of its own (so licensing
    /// revokes each once however often it is asked): those issued before the refusal and not yet revoked.
    pub fn b9_to_revoke(&self) -> Vec<(String, String)> {
        if self.state != PurchaseState::Failed || !self.compensation_pending {
            return Vec::new();
        }
        self.key_ids
            .iter()
            .filter(|k| !self.revoked_key_ids.contains(k))
            .map(|k| (format!("{}/revoke-{k}", self.purchase_id), k.clone()))
            .collect()
    }

    /// B3: what licensing is asked for each of the purchase's invoice lines, in order, each under a request id
    /// of its own (so licensing issues each line once however often it is asked). A line that cannot be issued
    /// is a refusal of the whole purchase.
    pub fn b3_plan(&self, lines: &[Line]) -> Result<Vec<(String, Issue)>, String> {
        lines
            .iter()
            .zip(0i32..)
            .map(|(line, line_no)| {
                issue_for(&line.grant, line.quantity, self.create_time)
                    .map(|issue| (line_request_id(&self.purchase_id, line_no), issue))
                    .map_err(|e| format!("line {line_no} cannot be issued: {e}"))
            })
            .collect()
    }
}

/// What a fulfilment attempt does, judged before licensing is asked (B3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Fulfilled or failed already: nothing to do.
    Settled,
    /// Pending, but it can no longer be fulfilled: it fails for this reason.
    Cancel(String),
    /// Pending: ask licensing.
    Issue,
}

/// What licensing issued for a whole purchase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Issued {
    pub key_ids: Vec<String>,
    pub elearning_codes: Vec<String>,
    /// B11: the cloud sites Creator seats were provisioned on, each once.
    pub site_ids: Vec<String>,
    /// B11: some line provisioned seats but nobody could be told (no Administrator).
    pub no_administrator_notified: bool,
}

impl Issued {
    /// B11: a line's Creator seats are on `seats.site_id`; each site is listed once, and a line whose
    /// Administrators could not be told (there were none) marks the purchase.
    pub fn b11_add_site(&mut self, seats: ProvisionedSeats) {
        if !self.site_ids.contains(&seats.site_id) {
            self.site_ids.push(seats.site_id);
        }
        if seats.administrators_notified == 0 {
            self.no_administrator_notified = true;
        }
    }
}

/// Where a pending purchase goes after licensing answered (B3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// PENDING → FULFILLED with what was issued.
    Fulfil(Issued),
    /// Stays PENDING for the background retry; the attempt is counted.
    StayPending(String),
    /// PENDING → FAILED with why, and its unpaid invoice is voided ([`VOID_REASON`]); what was issued before
    /// the refusal is recorded and its keys revoked (B9).
    Fail(String, Issued),
}

/// B3: the reason on the invoice voided because its purchase failed.
pub const VOID_REASON: &str = "the purchase could not be fulfilled";

/// B9: the reason licensing records on the keys of a failed purchase it revokes.
pub const REVOKE_REASON: &str = "the purchase that issued the key could not be fulfilled";

/// B3: a purchase is complete once licensing issued every line, stays pending while licensing is unavailable
/// (it never ends half-done: the retry asks again for the same lines, which licensing replays), and fails when
/// licensing refuses. B9: `issued` is what licensing issued for the lines asked so far (all of them when
/// done); a refusal keeps it, to be undone.
pub fn b3_transition(answer: Answer<()>, issued: Issued) -> Transition {
    match answer {
        Answer::Done(()) => Transition::Fulfil(issued),
        Answer::Unavailable(why) => Transition::StayPending(why),
        Answer::Refused(why) => Transition::Fail(why, issued),
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone;

    use super::*;
    use crate::domain::catalog::{Family, Grant, LicenseType, Product};

    fn grant() -> Grant {
        Grant {
            product: Product::Desktop,
            family: Some(Family::Tc),
            seats: 2,
            license_type: Some(LicenseType::Term),
            term_months: 12,
            maintenance_months: 12,
            lblm_enabled: true,
            creator_seats: 0,
        }
    }

    #[test]
    fn b11_each_site_is_listed_once_and_nobody_told_marks_the_purchase() {
        let seats = |site: &str, told| ProvisionedSeats {
            site_id: site.into(),
            administrators_notified: told,
            replayed: false,
        };
        let mut issued = Issued::default();
        issued.b11_add_site(seats("dep-1", 2));
        issued.b11_add_site(seats("dep-1", 2));
        assert_eq!(issued.site_ids, ["dep-1"]);
        assert!(!issued.no_administrator_notified);
        issued.b11_add_site(seats("dep-1", 0));
        assert!(issued.no_administrator_notified);
    }

    #[test]
    fn b3_only_a_pending_purchase_with_a_live_invoice_asks_licensing() {
        let base = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        let pending = Purchase::new("pur-1".into(), "acc-1".into(), "inv-1".into(), base);
        assert_eq!(pending.b3_next_attempt(InvoiceState::Open), Attempt::Issue);
        assert_eq!(pending.b3_next_attempt(InvoiceState::Paid), Attempt::Issue);
        assert!(matches!(
            pending.b3_next_attempt(InvoiceState::Void),
            Attempt::Cancel(_)
        ));
        for state in [PurchaseState::Fulfilled, PurchaseState::Failed] {
            let settled = Purchase {
                state,
                ..pending.clone()
            };
            assert_eq!(
                settled.b3_next_attempt(InvoiceState::Void),
                Attempt::Settled
            );
        }
    }

    #[test]
    fn b3_unavailable_licensing_leaves_the_purchase_pending_and_a_refusal_fails_it() {
        let issued = Issued {
            key_ids: vec!["key-1".into()],
            ..Issued::default()
        };
        assert_eq!(
            b3_transition(Answer::Done(()), issued.clone()),
            Transition::Fulfil(issued.clone())
        );
        assert_eq!(
            b3_transition(Answer::Unavailable("down".into()), issued),
            Transition::StayPending("down".into())
        );
        assert_eq!(
            b3_transition(Answer::Refused("no".into()), Issued::default()),
            Transition::Fail("no".into(), Issued::default())
        );
    }

    #[test]
    fn b9_a_refusal_on_line_n_keeps_what_lines_before_it_issued() {
        let before = Issued {
            key_ids: vec!["key-1".into(), "key-2".into()],
            ..Issued::default()
        };
        assert_eq!(
            b3_transition(Answer::Refused("line 2".into()), before.clone()),
            Transition::Fail("line 2".into(), before)
        );
    }

    #[test]
    fn b9_a_failed_purchase_revokes_each_issued_key_once() {
        let base = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        let failed = Purchase {
            state: PurchaseState::Failed,
            key_ids: vec!["key-1".into(), "key-2".into()],
            compensation_pending: true,
            ..Purchase::new("pur-1".into(), "acc-1".into(), "inv-1".into(), base)
        };
        assert_eq!(
            failed.b9_to_revoke(),
            [
                ("pur-1/revoke-key-1".to_string(), "key-1".to_string()),
                ("pur-1/revoke-key-2".to_string(), "key-2".to_string())
            ]
        );
        let half = Purchase {
            revoked_key_ids: vec!["key-1".into()],
            ..failed.clone()
        };
        assert_eq!(half.b9_to_revoke().len(), 1);
        let done = Purchase {
            revoked_key_ids: failed.key_ids.clone(),
            compensation_pending: false,
            ..failed.clone()
        };
        assert!(done.b9_to_revoke().is_empty());
        let fulfilled = Purchase {
            state: PurchaseState::Fulfilled,
            ..failed
        };
        assert!(
            fulfilled.b9_to_revoke().is_empty(),
            "only a failed purchase"
        );
    }

    #[test]
    fn b3_each_line_is_asked_under_its_own_stable_request_id() {
        let base = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        let purchase = Purchase::new("pur-1".into(), "acc-1".into(), "inv-1".into(), base);
        let line = |quantity| Line {
            sku: "A".into(),
            description: "A".into(),
            quantity,
            unit_price: crate::domain::Money::zero(
                crate::domain::Currency::parse("c", "USD").unwrap(),
            ),
            amount: crate::domain::Money::zero(crate::domain::Currency::parse("c", "USD").unwrap()),
            grant: grant(),
        };
        let plan = purchase.b3_plan(&[line(1), line(2)]).unwrap();
        assert_eq!(
            plan.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
            ["pur-1/line-0", "pur-1/line-1"]
        );
        assert!(
            purchase.b3_plan(&[line(0)]).is_err(),
            "an empty line is refused"
        );
    }
}
