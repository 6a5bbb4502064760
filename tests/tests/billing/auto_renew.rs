//! Auto-renew that renews (B10), with two billing replicas sweeping the same database: on its date an
//! auto-renewing renewal renews once, its keys move, the next term's renewal and invoice are created once, and the
//! Administrators are told; reminders before the date reach the Administrators once each.

use std::time::Duration;

use chrono::{DateTime, Months, TimeDelta, Timelike, Utc};
use portal_proto::{
    billing::{self as pb, InvoiceState, RenewalState},
    identity::Role,
    licensing as lic,
};
use portal_runtime::time::to_proto;
use portal_testkit::{Backend, ServiceKind, TestApp, smtp::SmtpSink, storage_test, wait};

use super::{item, order, pay};

/// The suite mailing to `sink` with quick retries (the test waits seconds, not the default backoff's minutes),
/// and a second billing replica on the same database and keys, calling the first process's identity, licensing
/// and notification as a deployment's replicas call the services' addresses.
async fn two_replicas(backend: Backend, sink: &SmtpSink) -> (TestApp, TestApp) {
    let app = TestApp::spawn_with_mail(backend, sink).await;
    let peer = format!("http://{}", app.address);
    let replica = app
        .spawn_sharing(&[ServiceKind::Billing], |s| {
            s.peers.identity = Some(peer.clone());
            s.peers.licensing = Some(peer.clone());
            s.peers.notification = Some(peer);
        })
        .await;
    (app, replica)
}

/// A renewal of `key_id` on `date` (whole seconds, as billing keeps dates).
fn renewal(
    account_id: &str,
    key_id: &str,
    date: DateTime<Utc>,
    request_id: &str,
) -> pb::CreateRenewalInvoiceRequest {
    pb::CreateRenewalInvoiceRequest {
        account_id: account_id.into(),
        key_ids: vec![key_id.into()],
        renewal_date: Some(to_proto(date)),
        request_id: request_id.into(),
        items: vec![item("DESKTOP-TERM-1Y", 1)],
        term_months: 12,
    }
}

fn subjects(sink: &SmtpSink, starting: &str) -> Vec<(String, Vec<String>)> {
    sink.received()
        .into_iter()
        .filter_map(|m| {
            let subject = m.header("Subject")?;
            subject.starts_with(starting).then_some((subject, m.to))
        })
        .collect()
}

storage_test!(
    b10_an_auto_renewing_renewal_renews_on_its_date_once_with_two_replicas,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let (app, _replica) = two_replicas(backend, &sink).await;
        let (a, admin, admin_token) = app.account_with_admin("Acme").await;
        let mut admin_billing = app.billing(&admin_token).await;
        let bought = admin_billing
            .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 1)], "p-1"))
            .await
            .unwrap()
            .into_inner();
        let key_id = bought.key_ids[0].clone();
        let mut scheduler = app
            .billing(&app.service_token("renewals", "billing.payments"))
            .await;
        let date = Utc::now().with_nanosecond(0).unwrap() + TimeDelta::seconds(3);
        let first = scheduler
            .create_renewal_invoice(renewal(&a, &key_id, date, "r-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.state(), RenewalState::Open);

        // The date passes; one of the two replicas renews it.
        let renewed = wait::until(
            "the renewal renewed by auto-renew",
            Duration::from_secs(30),
            async || {
                let page = scheduler
                    .list_renewals(pb::ListRenewalsRequest {
                        account_id: a.clone(),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner();
                match page
                    .renewals
                    .iter()
                    .find(|r| r.renewal_id == first.renewal_id)
                {
                    Some(r) if r.state() == RenewalState::Renewed => Ok((r.clone(), page.renewals)),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await;
        let (renewed, renewals) = renewed;
        assert!(renewed.renewed_automatically, "renewed unpaid");
        assert_eq!(
            renewals.len(),
            2,
            "the renewal and the next term's, once: {renewals:?}"
        );
        let next = renewals
            .iter()
            .find(|r| r.renewal_id == renewed.next_renewal_id)
            .unwrap();
        let until = date.checked_add_months(Months::new(12)).unwrap();
        assert_eq!(next.renewal_date.unwrap().seconds, until.timestamp());
        assert_eq!((next.state(), next.auto_renew), (RenewalState::Open, true));
        assert_eq!(next.key_ids, vec![key_id.clone()]);
        let invoices = admin_billing
            .list_invoices(pb::ListInvoicesRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .invoices;
        assert_eq!(
            invoices.len(),
            3,
            "purchase, renewal, and one next-term invoice: {invoices:?}"
        );
        let next_invoice = invoices
            .iter()
            .find(|i| i.invoice_id == next.invoice_id)
            .unwrap();
        let first_invoice = invoices
            .iter()
            .find(|i| i.invoice_id == first.invoice_id)
            .unwrap();
        assert_eq!(next_invoice.state(), InvoiceState::Open);
        assert_eq!(next_invoice.total_minor, first_invoice.total_minor);

        // Its keys move as a paid renewal's do.
        let mut licensing = app.licensing(&app.operator_token()).await;
        wait::until(
            "the key refreshed to the new term",
            Duration::from_secs(30),
            async || {
                let key = licensing
                    .get_key(lic::GetKeyRequest {
                        key_id: key_id.clone(),
                    })
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner();
                match key.period_end {
                    Some(end) if end.seconds == until.timestamp() => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await;

        // The invoice renewed unpaid is still due after the date, and paying it changes nothing more.
        let paid = scheduler
            .record_payment(pay(&first.invoice_id, first_invoice.total_minor, "pay-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(paid.state(), InvoiceState::Paid);

        // The Administrator is told once.
        sink.wait_for(1, Duration::from_secs(30)).await;
        let told = wait::until(
            "the auto-renew notice",
            Duration::from_secs(30),
            async || {
                let told = subjects(&sink, "Your licenses were renewed until");
                if told.is_empty() {
                    Err("none yet")
                } else {
                    Ok(told)
                }
            },
        )
        .await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].1, vec![admin.email.clone()]);
        assert!(
            told[0].0.contains(&until.format("%Y-%m-%d").to_string()),
            "{told:?}"
        );
        let after = scheduler
            .list_renewals(pb::ListRenewalsRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .renewals;
        assert_eq!(after.len(), 2, "still one next term: {after:?}");
    }
);

storage_test!(
    b10_reminders_reach_the_administrators_once_each,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let (app, _replica) = two_replicas(backend, &sink).await;
        let (a, admin, admin_token) = app.account_with_admin("Acme").await;
        let second = app
            .new_user(&a, "cfo@acme.example", Role::Administrator, &[])
            .await;
        app.new_user(&a, "dl@acme.example", Role::DownloadOnly, &[])
            .await;
        let bought = app
            .billing(&admin_token)
            .await
            .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 1)], "p-1"))
            .await
            .unwrap()
            .into_inner();
        let mut scheduler = app
            .billing(&app.service_token("renewals", "billing.payments"))
            .await;
        // Created 7 days and 3 seconds before its date: the 90- and 30-day reminders had passed and are not sent;
        // the 7-day one falls 3 seconds later.
        let date =
            Utc::now().with_nanosecond(0).unwrap() + TimeDelta::days(7) + TimeDelta::seconds(3);
        scheduler
            .create_renewal_invoice(renewal(&a, &bought.key_ids[0], date, "r-1"))
            .await
            .unwrap();
        let reminded = wait::until(
            "a reminder to both Administrators",
            Duration::from_secs(30),
            async || {
                let reminded = subjects(&sink, "Your renewal is due on");
                if reminded.len() >= 2 {
                    Ok(reminded)
                } else {
                    Err(reminded)
                }
            },
        )
        .await;
        let mut to: Vec<String> = reminded.iter().flat_map(|(_, to)| to.clone()).collect();
        to.sort();
        let mut admins = vec![admin.email.clone(), second.email.clone()];
        admins.sort();
        assert_eq!(to, admins, "the Administrators, each once, nobody else");
        assert!(
            reminded[0].0.contains(&date.format("%Y-%m-%d").to_string()),
            "{reminded:?}"
        );
    }
);
