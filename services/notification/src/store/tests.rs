//! The store against a real (in-memory SQLite) ledger with the real migrations: rows read as domain types, and a
//! row that cannot be read is an error, never a guess.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

use super::{advisories, deliveries, escalations, ledger};
use crate::{
    domain::{
        About, AdvisoryContent, AdvisoryState, DeliveryState, Kind, NewAdvisory, NewNotice,
        NoticeKind, NoticePayload, Recipient, Severity, Target, Tlp, cvss::n16_cvss,
        escalation::Escalation, reminder::Reminders,
    },
    error::Error,
    migration::Migrator,
};

async fn ledger_db() -> DatabaseConnection {
    // One connection: every connection to `sqlite::memory:` is a database of its own.
    let options = ConnectOptions::new("sqlite::memory:")
        .max_connections(1)
        .sqlx_logging(false)
        .to_owned();
    let db = Database::connect(options).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db
}

fn recipient(email: &str) -> Recipient {
    Recipient {
        account_id: "acc-1".into(),
        account_name: "Acme".into(),
        user_id: "usr-1".into(),
        email: email.into(),
        display_name: "Ada".into(),
        fallback: false,
    }
}

fn new_advisory() -> NewAdvisory {
    NewAdvisory {
        kind: Kind::Technical,
        severity: Severity::High,
        tlp: Tlp::AmberStrict,
        title: "Title".into(),
        content: AdvisoryContent {
            summary: "Summary".into(),
            impact: String::new(),
            affected: Vec::new(),
            conditions: String::new(),
            resolution: String::new(),
            cve_ids: Vec::new(),
            csaf: None,
            cvss: vec![n16_cvss("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap()],
        },
        target: Target::Accounts(vec!["acc-1".into()]),
    }
}

fn is_internal(result: Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(
        result,
        Err(Error::Common(portal_runtime::error::Common::Internal(_)))
    )
}

#[tokio::test]
async fn n1_advisories_read_back_as_written_and_corrupt_ones_are_errors() {
    let db = ledger_db().await;
    let written = advisories::insert(&db, "ADV-2026-001", 1, &new_advisory(), Utc::now())
        .await
        .unwrap();
    let read = advisories::find(&db, "ADV-2026-001").await.unwrap();
    assert_eq!(read, written);
    assert_eq!(
        (read.kind, read.severity, read.tlp),
        (Kind::Technical, Severity::High, Tlp::AmberStrict)
    );
    assert_eq!(read.content.cvss[0].base_score.to_string(), "8.1");
    assert_eq!(read.state, AdvisoryState::Resolving);
    assert!(matches!(
        advisories::find(&db, "ADV-2026-002").await,
        Err(Error::AdvisoryNotFound)
    ));
    for corrupt in [
        "UPDATE advisories SET severity = 'SEVERE'",
        "UPDATE advisories SET severity = 'HIGH', kind = 'OTHER'",
        "UPDATE advisories SET kind = 'TECHNICAL', target = 'nonsense'",
        "UPDATE advisories SET target = '\"AllAccounts\"', tlp = 'TLP:CLEAR'",
    ] {
        db.execute_unprepared(corrupt).await.unwrap();
        assert!(
            is_internal(advisories::find(&db, "ADV-2026-001").await),
            "{corrupt}"
        );
    }
}

/// N1/N15: advisories published before TLP labels existed read as AMBER, so no migration makes one public.
#[tokio::test]
async fn n1_advisories_from_before_tlp_labels_read_as_amber() {
    let options = ConnectOptions::new("sqlite::memory:")
        .max_connections(1)
        .sqlx_logging(false)
        .to_owned();
    let db = Database::connect(options).await.unwrap();
    let before = u32::try_from(Migrator::migrations().len() - 1).unwrap();
    Migrator::up(&db, Some(before)).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO advisories (advisory_id, ordinal, kind, severity, title, body, target, state, \
         accounts_targeted, fallback_accounts, unreachable_accounts, create_time) VALUES ('ADV-2026-001', 1, \
         'SECURITY', 'LOW', 'Old', '{\"summary\":\"s\",\"impact\":\"\",\"affected\":[],\"conditions\":\"\",\
         \"resolution\":\"\",\"cve_ids\":[]}', '\"AllAccounts\"', 'READY', 0, '[]', '[]', \
         '2026-12-01T08:00:00+00:00')",
    )
    .await
    .unwrap();
    Migrator::up(&db, None).await.unwrap();
    let old = advisories::find(&db, "ADV-2026-001").await.unwrap();
    assert_eq!(old.tlp, Tlp::Amber);
    assert!(old.content.cvss.is_empty());
}

#[tokio::test]
async fn n3_claimed_rows_are_domain_deliveries_and_an_unreadable_one_holds_up_no_other() {
    let db = ledger_db().await;
    let notice = |email: &str| NewNotice {
        recipient: recipient(email),
        payload: NoticePayload {
            kind: NoticeKind::UserAdded,
            fields: Default::default(),
            attachments: Vec::new(),
        },
    };
    let now = Utc::now();
    deliveries::insert_notice(&db, "dlv-good", &notice("good@acme.example"), now)
        .await
        .unwrap();
    deliveries::insert_notice(&db, "dlv-bad", &notice("bad@acme.example"), now)
        .await
        .unwrap();
    db.execute_unprepared(
        "UPDATE deliveries SET notice_kind = 'GUESS_ME' WHERE delivery_id = 'dlv-bad'",
    )
    .await
    .unwrap();
    let later = now + chrono::Duration::seconds(1);
    let claimed = ledger::claim_batch(&db, "wrk-1", later, later, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let (good, bad): (Vec<_>, Vec<_>) = claimed.into_iter().partition(Result::is_ok);
    let good = good.into_iter().next().unwrap().unwrap();
    assert_eq!(good.delivery_id, "dlv-good");
    assert_eq!((good.state, good.attempts), (DeliveryState::Pending, 0));
    assert!(matches!(&good.about, About::Notice(p) if p.kind == NoticeKind::UserAdded));
    assert_eq!(
        bad.into_iter().next().unwrap().unwrap_err().delivery_id,
        "dlv-bad"
    );
}

#[tokio::test]
async fn n4_counts_by_state_and_an_unknown_state_is_an_error() {
    let db = ledger_db().await;
    advisories::insert(&db, "ADV-2026-001", 1, &new_advisory(), Utc::now())
        .await
        .unwrap();
    let recipients = [recipient("a@acme.example"), recipient("b@acme.example")];
    deliveries::insert_staged(&db, "ADV-2026-001", &recipients)
        .await
        .unwrap();
    let counts = deliveries::counts(&db, "ADV-2026-001").await.unwrap();
    assert_eq!((counts.staged, counts.total()), (2, 2));
    let listed = deliveries::page(&db, "ADV-2026-001", None, None, 10)
        .await
        .unwrap();
    assert!(
        listed
            .iter()
            .all(|d| d.about == About::Advisory("ADV-2026-001".into()))
    );
    db.execute_unprepared("UPDATE deliveries SET state = 'LIMBO'")
        .await
        .unwrap();
    assert!(is_internal(deliveries::counts(&db, "ADV-2026-001").await));
    assert!(is_internal(
        deliveries::page(&db, "ADV-2026-001", None, None, 10).await
    ));
}

/// An advisory to acc-1 with two designated rows, a@ in `a` and b@ in `b`.
async fn two_rows(a: &str, b: &str) -> DatabaseConnection {
    let db = ledger_db().await;
    advisories::insert(&db, "ADV-2026-001", 1, &new_advisory(), Utc::now())
        .await
        .unwrap();
    let recipients = [recipient("a@acme.example"), recipient("b@acme.example")];
    deliveries::insert_staged(&db, "ADV-2026-001", &recipients)
        .await
        .unwrap();
    for (email, state) in [("a@acme.example", a), ("b@acme.example", b)] {
        db.execute_unprepared(&format!(
            "UPDATE deliveries SET state = '{state}' WHERE email_key = '{email}'"
        ))
        .await
        .unwrap();
    }
    db
}

#[tokio::test]
async fn n8_due_finds_exactly_the_accounts_the_domain_says_are_due() {
    for (a, b) in [
        ("DEAD", "DEAD"),
        ("SENT", "DEAD"),
        ("PENDING", "DEAD"),
        ("FAILED", "STAGED"),
    ] {
        let db = two_rows(a, b).await;
        let due = escalations::due(&db, Some("ADV-2026-001"), None, 10)
            .await
            .unwrap();
        let ledgers = escalations::ledgers(&db, "ADV-2026-001", &["acc-1".into()])
            .await
            .unwrap();
        let ledger = &ledgers["acc-1"].1;
        assert_eq!(!due.is_empty(), ledger.n8_escalation_due(), "{a}, {b}");
        for due in due {
            assert_eq!(&due.ledger, ledger, "{a}, {b}");
            assert_eq!(
                due.ledger.n8_escalation(),
                Some(Escalation::ToAdministrators)
            );
        }
    }
}

#[tokio::test]
async fn n9_a_reminder_copies_exactly_the_rows_the_domain_names() {
    let db = two_rows("SENT", "DEAD").await;
    let reminders = Reminders::n9_next(
        "ADV-2026-001",
        deliveries::last_reminder(&db, "ADV-2026-001")
            .await
            .unwrap(),
    );
    assert_eq!(reminders.number, 1);
    let originals = deliveries::of_accounts(&db, "ADV-2026-001", &["acc-1".into()])
        .await
        .unwrap();
    let queued = deliveries::insert_reminders(&db, &reminders, Utc::now())
        .await
        .unwrap();
    let after = deliveries::of_accounts(&db, "ADV-2026-001", &["acc-1".into()])
        .await
        .unwrap();
    let copied: Vec<&str> = originals
        .iter()
        .filter(|row| reminders.n9_copies(row, false))
        .map(|row| row.delivery_id.as_str())
        .collect();
    assert_eq!(usize::try_from(queued).unwrap(), copied.len());
    assert_eq!(copied.len(), 1);
    for original in copied {
        let copy = after
            .iter()
            .find(|row| row.delivery_id == reminders.n9_delivery_id(original))
            .expect("the copy");
        assert_eq!((copy.reminder, copy.state), (1, DeliveryState::Pending));
    }
    assert_eq!(
        deliveries::last_reminder(&db, "ADV-2026-001")
            .await
            .unwrap(),
        Some(1)
    );
}
