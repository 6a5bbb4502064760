//! Auto-renew that renews (B10): each renewal with a milestone due — a reminder 90, 30 or 7 days before the
//! renewal date, or the date itself — is handled once: the milestone count is claimed by a conditional update
//! that is the transaction's first write, so of several replicas exactly one writes the notices (through the
//! outbox), the next term's renewal and its invoice, and the audit events. The retry loop (`crate::jobs`)
//! finds the renewals due.

use chrono::{DateTime, Utc};
use portal_clients::Member;
use portal_proto::notification::{NoticeKind, SendNoticeRequest};
use portal_runtime::{CallContext, new_id};
use sea_orm::ConnectionTrait;

use super::{audit::Event, renewals};
use crate::{
    BillingApi,
    domain::{
        Invoice, Priced, Renewal,
        auto_renew::{Due, b10_due},
        invoice::Totals,
    },
    error::{Error, Result},
    store::{self, invoices::NewInvoice},
};

/// B10: handles the milestone of `seen` (a renewal the sweep found due) that is due at `now`, once.
pub(crate) async fn handle_milestone(
    api: &BillingApi,
    context: &CallContext,
    seen: &Renewal,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(due) = b10_due(seen, now) else {
        // Due by the stored time, but no milestone passed (the clock of another replica): look again later.
        let txn = portal_runtime::db::begin_write(&api.db).await?;
        store::renewals::claim_milestones(&txn, seen, seen.milestones_done).await?;
        txn.commit().await?;
        return Ok(());
    };
    // Asked before the transaction: identity may be slow or down, and then nothing is claimed.
    let administrators = match due {
        Due::Nothing { .. } => Vec::new(),
        Due::Reminder { .. } | Due::Renew => api
            .identity
            .administrators(&seen.account_id)
            .await?
            .unwrap_or_default(),
    };
    let txn = portal_runtime::db::begin_write(&api.db).await?;
    if !store::renewals::claim_milestones(&txn, seen, due.done()).await? {
        // Another replica handled it.
        txn.rollback().await?;
        return Ok(());
    }
    let renewal = store::renewals::find(&txn, &seen.renewal_id).await?;
    let invoice = store::invoices::find(&txn, &renewal.invoice_id).await?;
    let refresh = match due {
        Due::Nothing { .. } => false,
        Due::Reminder { days, .. } => {
            let fields = reminder_fields(&renewal, &invoice, days, now);
            notify(
                &txn,
                &administrators,
                &renewal,
                NoticeKind::RenewalReminder,
                &fields,
            )
            .await?;
            Event::RenewalReminded {
                renewal: &renewal,
                days,
                administrators: administrators.len(),
            }
            .record(&txn, context)
            .await?;
            false
        }
        Due::Renew => renew(&txn, context, &administrators, &renewal, &invoice, now).await?,
    };
    txn.commit().await?;
    if administrators.is_empty() && !matches!(due, Due::Nothing { .. }) {
        tracing::warn!(renewal_id = %seen.renewal_id, account_id = %seen.account_id, "renewal notice due, but the account has no Administrator to tell");
    }
    if refresh {
        // Renewed unpaid: its keys move now, as a paid renewal's do; the retry loop finishes what licensing
        // could not do at once.
        if let Err(e) = renewals::refresh(api, context, &seen.renewal_id).await {
            tracing::warn!(renewal_id = %seen.renewal_id, error = %e, "refreshing auto-renewed keys failed; the retry loop completes it");
        }
    }
    Ok(())
}

/// B10 on the renewal date: renews `renewal`, creates the next term's renewal with an invoice repeating this
/// one's lines, tells the Administrators, audits both. Returns whether the keys now need refreshing.
async fn renew<C: ConnectionTrait>(
    txn: &C,
    context: &CallContext,
    administrators: &[Member],
    renewal: &Renewal,
    invoice: &Invoice,
    now: DateTime<Utc>,
) -> Result<bool> {
    let (renewed, next) = renewal.b10_renew(new_id("ren"), new_id("inv"), now)?;
    store::renewals::save(txn, &renewed).await?;
    store::renewals::insert(txn, &next).await?;
    let lines = store::invoices::lines_of(txn, std::slice::from_ref(invoice))
        .await?
        .remove(&invoice.invoice_id)
        .unwrap_or_default();
    if lines.is_empty() {
        return Err(Error::internal(format!(
            "invoice {} of renewal {} has no lines",
            invoice.invoice_id, renewal.renewal_id
        )));
    }
    let priced = Priced {
        currency: invoice.currency,
        totals: Totals::of(invoice.currency, &lines)?,
        lines,
    };
    let next_invoice = store::invoices::insert(
        txn,
        NewInvoice {
            invoice_id: &next.invoice_id,
            account_id: &next.account_id,
            priced: &priced,
            purchase_id: None,
            renewal_id: Some(&next.renewal_id),
            issue_time: now,
            due_time: next.renewal_date,
        },
    )
    .await?;
    let fields = renewed_fields(&renewed, invoice, &next, &next_invoice);
    notify(
        txn,
        administrators,
        &renewed,
        NoticeKind::RenewedAutomatically,
        &fields,
    )
    .await?;
    Event::AutoRenewed {
        before: renewal,
        after: &renewed,
        next: &next,
        administrators: administrators.len(),
    }
    .record(txn, context)
    .await?;
    Event::RenewalCreated {
        renewal: &next,
        invoice: &next_invoice,
        previous_renewal_id: Some(&renewal.renewal_id),
    }
    .record(txn, context)
    .await?;
    Ok(renewed.refresh_pending && !renewal.refresh_pending)
}

/// One notice per Administrator, through the outbox, in the milestone's transaction.
async fn notify<C: ConnectionTrait>(
    txn: &C,
    administrators: &[Member],
    renewal: &Renewal,
    kind: NoticeKind,
    fields: &[(&str, String)],
) -> Result<()> {
    for admin in administrators {
        let notice = SendNoticeRequest {
            kind: kind as i32,
            account_id: renewal.account_id.clone(),
            email: admin.email.clone(),
            display_name: admin.display_name.clone(),
            fields: fields
                .iter()
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect(),
            ..Default::default()
        };
        portal_runtime::outbox::enqueue(txn, notice).await?;
    }
    Ok(())
}

fn day(date: DateTime<Utc>) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn amount(invoice: &Invoice) -> String {
    invoice.totals.total.to_string()
}

/// What a reminder says: how far the date is, what it renews, what is owed, and whether it renews by itself.
fn reminder_fields(
    renewal: &Renewal,
    invoice: &Invoice,
    days: i64,
    now: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    vec![
        ("renewal_id", renewal.renewal_id.clone()),
        ("renewal_date", day(renewal.renewal_date)),
        ("days_before", days.to_string()),
        (
            "days_left",
            (renewal.renewal_date - now).num_days().max(0).to_string(),
        ),
        ("key_count", renewal.key_ids.len().to_string()),
        ("invoice_number", invoice.number.clone()),
        ("amount", amount(invoice)),
        ("auto_renew", renewal.auto_renew.to_string()),
    ]
}

/// What the renewal-date notice says: renewed until when, what is owed, and the next term's invoice.
fn renewed_fields(
    renewed: &Renewal,
    invoice: &Invoice,
    next: &Renewal,
    next_invoice: &Invoice,
) -> Vec<(&'static str, String)> {
    vec![
        ("renewal_id", renewed.renewal_id.clone()),
        ("renewal_date", day(renewed.renewal_date)),
        ("renewed_until", day(next.renewal_date)),
        ("key_count", renewed.key_ids.len().to_string()),
        ("invoice_number", invoice.number.clone()),
        ("amount", amount(invoice)),
        ("invoice_paid", (!renewed.renewed_automatically).to_string()),
        ("next_renewal_id", next.renewal_id.clone()),
        ("next_invoice_number", next_invoice.number.clone()),
        ("next_amount", amount(next_invoice)),
    ]
}
