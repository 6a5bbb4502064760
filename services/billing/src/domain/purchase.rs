//! Purchases (B3): what may be ordered, the states a purchase goes through and when it moves (complete, failed,
//! pending), and what licensing is asked to issue for each line, deterministically, so a retry asks for exactly
//! the same thing.

use chrono::{DateTime, Duration, Months, Utc};
use portal_clients::ProvisionedSeats;
use portal_runtime::error::FieldViolation;

use super::{
    catalog::{Family, Grant, LicenseType, Product},
    invoice::{InvoiceState, Line},
};
use crate::error::{Error, Result};

/// The most units of one SKU in one order.
pub const MAX_QUANTITY: i32 = 10_000;
/// The most lines in one order.
pub const MAX_ITEMS: usize = 100;

/// One line of an order, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub sku: String,
    pub quantity: i32,
}

/// B3 input rules: at least one item, each SKU once, each quantity between 1 and [`MAX_QUANTITY`].
pub fn check_items(items: &[Item]) -> Vec<FieldViolation> {
    let mut problems = Vec::new();
    if items.is_empty() {
        problems.push(FieldViolation::new("items", "name at least one SKU to buy"));
    }
    if items.len() > MAX_ITEMS {
        problems.push(FieldViolation::new(
            "items",
            format!("at most {MAX_ITEMS} lines per order"),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if item.sku.trim().is_empty() {
            problems.push(FieldViolation::new(
                format!("items[{i}].sku"),
                "must not be empty",
            ));
        } else if items[..i].iter().any(|earlier| earlier.sku == item.sku) {
            problems.push(FieldViolation::new(
                format!("items[{i}].sku"),
                "each SKU at most once; raise the quantity instead",
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&item.quantity) {
            problems.push(FieldViolation::new(
                format!("items[{i}].quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            ));
        }
    }
    problems
}

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

/// What licensing answered when asked to issue or refresh (B3, B8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    Done(T),
    /// Licensing is down, overloaded or too slow: asking again later may succeed.
    Unavailable(String),
    /// Licensing said no; asking again will not help.
    Refused(String),
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

/// What licensing is asked to issue for one purchase line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    Keys {
        family: Family,
        seats: i32,
        license_type: LicenseType,
        period_end: Option<DateTime<Utc>>,
        maintenance_end: DateTime<Utc>,
        lblm_enabled: bool,
        /// B11: Creator seats the key brings to the account's cloud site (0: none).
        creator_seats: i32,
    },
    ElearningCodes {
        count: i32,
    },
}

/// `time` without its fraction of a second, so the same instant reads back identically from every database
/// (PostgreSQL keeps microseconds, chrono nanoseconds).
pub fn whole_seconds(time: DateTime<Utc>) -> DateTime<Utc> {
    time - Duration::nanoseconds(i64::from(time.timestamp_subsec_nanos()))
}

fn months_after(base: DateTime<Utc>, months: i32) -> Result<DateTime<Utc>> {
    let months =
        u32::try_from(months).map_err(|_| Error::internal("negative months in a grant"))?;
    base.checked_add_months(Months::new(months))
        .ok_or_else(|| Error::internal("date out of range"))
}

/// B2/B3: what `quantity` units of `grant` issue, with dates counted from `base` (the purchase's fulfilment base
/// time, fixed when the purchase is made, so every retry sends licensing the same request).
pub fn issue_for(grant: &Grant, quantity: i32, base: DateTime<Utc>) -> Result<Issue> {
    let units = grant
        .units(quantity)
        .ok_or_else(|| Error::internal("line quantity out of range"))?;
    if grant.product == Product::Elearning {
        return Ok(Issue::ElearningCodes { count: units });
    }
    let (Some(family), Some(license_type)) = (grant.family, grant.license_type) else {
        return Err(Error::internal(
            "a key grant without family or license type",
        ));
    };
    let period_end = match license_type {
        LicenseType::Term => Some(months_after(base, grant.term_months)?),
        LicenseType::Perpetual => None,
    };
    Ok(Issue::Keys {
        family,
        seats: units,
        license_type,
        period_end,
        maintenance_end: months_after(base, grant.maintenance_months)?,
        lblm_enabled: grant.lblm_enabled,
        creator_seats: grant
            .site_seats(quantity)
            .ok_or_else(|| Error::internal("line site seats out of range"))?,
    })
}

/// The request id licensing sees for line `line_no` of a purchase: stable across retries, so licensing issues
/// each line once however often billing asks.
pub fn line_request_id(purchase_id: &str, line_no: i32) -> String {
    format!("{purchase_id}/line-{line_no}")
}

/// B11: the request id under which licensing provisions a line's Creator seats (the line's, with `/site`):
/// stable across retries, so the seats are added once however often billing asks.
pub fn b11_site_request_id(line_request_id: &str) -> String {
    format!("{line_request_id}/site")
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone;

    use super::*;

    fn item(sku: &str, quantity: i32) -> Item {
        Item {
            sku: sku.into(),
            quantity,
        }
    }

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
    fn b3_orders_need_items_with_sane_quantities_each_sku_once() {
        assert!(check_items(&[item("A", 1), item("B", MAX_QUANTITY)]).is_empty());
        let fields = |items: &[Item]| {
            check_items(items)
                .into_iter()
                .map(|v| v.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(&[]), ["items"]);
        assert_eq!(fields(&[item("A", 0)]), ["items[0].quantity"]);
        assert_eq!(
            fields(&[item("A", MAX_QUANTITY + 1)]),
            ["items[0].quantity"]
        );
        assert_eq!(fields(&[item("A", -3)]), ["items[0].quantity"]);
        assert_eq!(fields(&[item("A", 1), item("A", 2)]), ["items[1].sku"]);
        assert_eq!(fields(&[item(" ", 1)]), ["items[0].sku"]);
    }

    #[test]
    fn b3_a_line_issues_seats_times_quantity_with_dates_from_the_base_time() {
        let base = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        let issue = issue_for(&grant(), 3, base).unwrap();
        let expected_end = Utc.with_ymd_and_hms(2027, 1, 31, 10, 0, 0).unwrap();
        assert_eq!(
            issue,
            Issue::Keys {
                family: Family::Tc,
                seats: 6,
                license_type: LicenseType::Term,
                period_end: Some(expected_end),
                maintenance_end: expected_end,
                lblm_enabled: true,
                creator_seats: 0,
            }
        );
        let perpetual = Grant {
            license_type: Some(LicenseType::Perpetual),
            term_months: 0,
            ..grant()
        };
        assert!(matches!(
            issue_for(&perpetual, 1, base).unwrap(),
            Issue::Keys {
                period_end: None,
                ..
            }
        ));
        let codes = Grant {
            product: Product::Elearning,
            family: None,
            license_type: None,
            term_months: 0,
            ..grant()
        };
        assert_eq!(
            issue_for(&codes, 4, base).unwrap(),
            Issue::ElearningCodes { count: 8 }
        );
    }

    #[test]
    fn b11_a_creator_line_provisions_seats_times_quantity_under_a_stable_id_of_its_own() {
        let base = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        let creator = Grant {
            seats: 1,
            creator_seats: 1,
            ..grant()
        };
        assert!(matches!(
            issue_for(&creator, 3, base).unwrap(),
            Issue::Keys {
                seats: 3,
                creator_seats: 3,
                ..
            }
        ));
        assert!(matches!(
            issue_for(&grant(), 3, base).unwrap(),
            Issue::Keys {
                creator_seats: 0,
                ..
            }
        ));
        let line = line_request_id("pur-1", 0);
        assert_eq!(b11_site_request_id(&line), "pur-1/line-0/site");
        assert_ne!(b11_site_request_id(&line), line);
        assert_ne!(
            b11_site_request_id(&line),
            b11_site_request_id(&line_request_id("pur-1", 1))
        );
    }

    #[test]
    fn b3_retries_ask_licensing_for_the_same_thing() {
        let base =
            Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap() + Duration::nanoseconds(123_456_789);
        assert_eq!(whole_seconds(base).timestamp_subsec_nanos(), 0);
        assert_eq!(
            issue_for(&grant(), 1, whole_seconds(base)).unwrap(),
            issue_for(&grant(), 1, whole_seconds(whole_seconds(base))).unwrap()
        );
        assert_eq!(line_request_id("pur-1", 0), line_request_id("pur-1", 0));
        assert_ne!(line_request_id("pur-1", 0), line_request_id("pur-1", 1));
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
