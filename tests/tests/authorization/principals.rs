//! The per-principal half of the authorization matrix (issue 14): every RPC of the descriptor set has a row
//! (a row naming no RPC fails too), and each row is called by a service holding every scope but the ones it
//! needs, by another account's Administrator and by each persona of the account that may not call it: each is
//! refused, with the very same status (code, reason, message and field violations) for A's real ids as for
//! made-up ones (no existence oracle, not even in the wording). The right principal gets OK (or the documented
//! answer), and each successful mutation leaves exactly one audit event.

#[path = "principals/fixture.rs"]
mod fixture;
#[path = "principals/rows.rs"]
mod rows;

use std::collections::BTreeSet;

use tonic::{Code, Status};

use portal_runtime::error::{FieldViolation, reason_of, violations_of};
use portal_testkit::{TestApp, storage_test};

use self::{
    fixture::Fixture,
    rows::{Fixed, Row},
};
use super::{Rpc, every_rpc, invoke};

/// The suite's scopes; a wrong service holds all but the ones a row accepts.
const SCOPES: [&str; 7] = [
    "identity.admin",
    "licensing.issue",
    "licensing.activate",
    "billing.payments",
    "billing.catalog",
    "notification.publish",
    "internal",
];

/// A caller of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    AdminA,
    GroupManager,
    Individual,
    SupportOnly,
    CaseAdmin,
    AdminB,
    /// A service principal holding exactly this scope.
    Service(&'static str),
}

const USERS: [Who; 6] = [
    Who::AdminA,
    Who::GroupManager,
    Who::Individual,
    Who::SupportOnly,
    Who::CaseAdmin,
    Who::AdminB,
];

impl Fixture {
    fn token(&self, app: &TestApp, who: Who) -> String {
        match who {
            Who::AdminA => self.admin_a.clone(),
            Who::GroupManager => self.group_manager.clone(),
            Who::Individual => self.individual.clone(),
            Who::SupportOnly => self.support_only.clone(),
            Who::CaseAdmin => self.case_admin.clone(),
            Who::AdminB => self.admin_b.clone(),
            Who::Service(scope) => app.service_token("matrix", scope),
        }
    }

    /// The audit actor of `who`.
    fn actor(&self, who: Who) -> String {
        match who {
            Who::Service(_) => "svc:matrix".into(),
            user => format!("user:{}", self.user_ids[&format!("{user:?}")]),
        }
    }
}

/// What a call answered: OK, or its code and reason.
fn outcome(result: &Result<(), Status>) -> (Code, String) {
    match result {
        Ok(()) => (Code::Ok, String::new()),
        Err(status) => (status.code(), reason_of(status).unwrap_or_default()),
    }
}

/// Everything a refusal tells its caller: code, reason, message and field violations. Two refusals that differ
/// in any of them tell the caller something, so real and made-up ids must agree on all of it.
fn whole(result: &Result<(), Status>) -> (Code, String, String, Vec<FieldViolation>) {
    match result {
        Ok(()) => (Code::Ok, String::new(), String::new(), Vec::new()),
        Err(status) => (
            status.code(),
            reason_of(status).unwrap_or_default(),
            status.message().to_string(),
            violations_of(status),
        ),
    }
}

fn described(result: &Result<(), Status>) -> String {
    match result {
        Ok(()) => "OK".into(),
        Err(status) => format!(
            "{:?} {} ({}) {:?}",
            status.code(),
            reason_of(status).unwrap_or_default(),
            status.message(),
            violations_of(status)
        ),
    }
}

/// Rows and RPCs match one to one, or the names of those without a partner.
fn unmatched(rows: &[Row], rpcs: &[Rpc]) -> Vec<String> {
    let paths: BTreeSet<&str> = rpcs.iter().map(|r| r.path.as_str()).collect();
    let rowed: BTreeSet<&str> = rows.iter().map(|r| r.path.as_str()).collect();
    let mut wrong: Vec<String> = paths
        .difference(&rowed)
        .map(|p| format!("{p}: an RPC of the descriptor set without a row"))
        .collect();
    wrong.extend(
        rowed
            .difference(&paths)
            .map(|p| format!("{p}: a row naming no RPC")),
    );
    if rows.len() != rowed.len() {
        wrong.push("two rows name the same RPC".into());
    }
    wrong
}

struct Tally {
    calls: usize,
    refusals_compared: usize,
    mutations_audited: usize,
    wrong: Vec<String>,
}

async fn run_row(
    app: &TestApp,
    channel: &tonic::transport::Channel,
    fixture: &Fixture,
    audit: &portal_testkit::audit::AuditLog,
    rpc: &Rpc,
    row: &Row,
    tally: &mut Tally,
) {
    let mut next_request_id = {
        let mut n = 0;
        move || {
            n += 1;
            format!(
                "matrix-{}-{n}",
                rpc.path.rsplit('/').next().unwrap_or_default()
            )
            .to_lowercase()
        }
    };
    let mut real = fixture.real.clone();
    let mut made_up = fixture.made_up.clone();

    // Callers that must be refused, the same way for real and made-up ids.
    let others: Vec<&str> = SCOPES
        .iter()
        .copied()
        .filter(|s| !row.scopes.contains(s))
        .collect();
    let mut refused: Vec<(String, String)> = USERS
        .iter()
        .filter(|who| !row.users.contains(who))
        .map(|who| (format!("{who:?}"), fixture.token(app, *who)))
        .collect();
    if !others.is_empty() {
        refused.push((
            format!("a service with {}", others.join(" ")),
            app.service_token("wrong", &others.join(" ")),
        ));
    }
    for (who, token) in &refused {
        real.request_id = next_request_id();
        made_up.request_id = next_request_id();
        let with_real = invoke(channel, rpc, Some(token), (row.request)(&real)).await;
        let with_made_up = invoke(channel, rpc, Some(token), (row.request)(&made_up)).await;
        tally.calls += 2;
        tally.refusals_compared += 1;
        let (code, _) = outcome(&with_real);
        if !matches!(code, Code::PermissionDenied) {
            tally.wrong.push(format!(
                "{} by {who} with A's ids: {} (expected PERMISSION_DENIED)",
                rpc.path,
                described(&with_real)
            ));
        }
        if whole(&with_real) != whole(&with_made_up) {
            tally.wrong.push(format!(
                "{} by {who}: {} with A's ids but {} with made-up ids (an existence oracle)",
                rpc.path,
                described(&with_real),
                described(&with_made_up)
            ));
        }
    }

    // Other callers the contract allows: a read answers them too.
    if !row.mutates {
        for who in row.users.iter().filter(|w| **w != row.right) {
            real.request_id = next_request_id();
            let result = invoke(
                channel,
                rpc,
                Some(&fixture.token(app, *who)),
                (row.request)(&real),
            )
            .await;
            tally.calls += 1;
            if result.is_err() {
                tally.wrong.push(format!(
                    "{} by {who:?}, whom the contract allows: {}",
                    rpc.path,
                    described(&result)
                ));
            }
        }
    }

    // The right principal, counting the audit events it leaves.
    let token = fixture.token(app, row.right);
    let actor = fixture.actor(row.right);
    let before = audit.count_by(&actor).await;
    real.request_id = next_request_id();
    let result = invoke(channel, rpc, Some(&token), (row.request)(&real)).await;
    let after = audit.count_by(&actor).await;
    tally.calls += 1;
    let expected = row
        .answer
        .map(|(code, reason)| (code, reason.to_string()))
        .unwrap_or((Code::Ok, String::new()));
    if outcome(&result) != expected {
        tally.wrong.push(format!(
            "{} by the right principal {:?}: {} (expected {expected:?})",
            rpc.path,
            row.right,
            described(&result)
        ));
    }
    let new_events: Vec<String> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| a.1 != b.1)
        .map(|(b, a)| format!("{} in {}", a.1 - b.1, a.0))
        .collect();
    let total: u64 =
        after.iter().map(|a| a.1).sum::<u64>() - before.iter().map(|b| b.1).sum::<u64>();
    let succeeded = result.is_ok();
    if row.mutates && succeeded {
        tally.mutations_audited += 1;
        if total != 1 {
            tally.wrong.push(format!(
                "{} by {:?} succeeded and left {total} audit events ({}), not exactly one",
                rpc.path,
                row.right,
                new_events.join(", ")
            ));
        }
    } else if total != 0 {
        tally.wrong.push(format!(
            "{} by {:?} ({}) left audit events: {}",
            rpc.path,
            row.right,
            if succeeded { "a read" } else { "refused" },
            new_events.join(", ")
        ));
    }

    // Requests naming two accounts' ids: the other account's real ones answer as made-up ones do.
    for probe in &row.probes {
        let (fixed, other) = match probe.fixed {
            Fixed::A => (&fixture.real, &fixture.b),
            Fixed::B => (&fixture.b, &fixture.real),
        };
        let token = fixture.token(app, probe.who);
        let with_real = invoke(channel, rpc, Some(&token), (probe.request)(fixed, other)).await;
        let with_made_up = invoke(
            channel,
            rpc,
            Some(&token),
            (probe.request)(fixed, &fixture.made_up),
        )
        .await;
        tally.calls += 2;
        tally.refusals_compared += 1;
        if whole(&with_real) != whole(&with_made_up) {
            tally.wrong.push(format!(
                "{} by {:?} naming both accounts: {} with the other's real ids but {} with made-up ids (an existence oracle)",
                rpc.path,
                probe.who,
                described(&with_real),
                described(&with_made_up)
            ));
        }
        if with_real.is_ok() && row.mutates {
            tally.wrong.push(format!(
                "{} by {:?} naming both accounts succeeded",
                rpc.path, probe.who
            ));
        }
    }

    // Made-up ids never crash the right principal either.
    made_up.request_id = next_request_id();
    let result = invoke(channel, rpc, Some(&token), (row.request)(&made_up)).await;
    tally.calls += 1;
    if matches!(
        outcome(&result).0,
        Code::Internal | Code::Unknown | Code::Unauthenticated | Code::Unimplemented
    ) {
        tally.wrong.push(format!(
            "{} by {:?} with made-up ids: {}",
            rpc.path,
            row.right,
            described(&result)
        ));
    }
}

storage_test!(
    every_rpc_answers_each_principal_as_its_contract_says,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let channel = app.channel().await;
        let rpcs = every_rpc();
        let rows = rows::all();
        let unmatched = unmatched(&rows, &rpcs);
        assert!(unmatched.is_empty(), "{}", unmatched.join("\n"));

        let fixture = Fixture::build(&app).await;
        let audit = app.audit_log().await;
        let mut tally = Tally {
            calls: 0,
            refusals_compared: 0,
            mutations_audited: 0,
            wrong: Vec::new(),
        };
        for row in &rows {
            let rpc = rpcs.iter().find(|r| r.path == row.path).unwrap();
            run_row(&app, &channel, &fixture, &audit, rpc, row, &mut tally).await;
        }
        eprintln!(
            "authorization matrix: {} RPCs, {} calls, {} refusals compared real vs made-up, {} mutations audited",
            rows.len(),
            tally.calls,
            tally.refusals_compared,
            tally.mutations_audited
        );
        assert!(
            tally.wrong.is_empty(),
            "{} of {} calls answered wrongly:\n{}",
            tally.wrong.len(),
            tally.calls,
            tally.wrong.join("\n")
        );
    }
);
