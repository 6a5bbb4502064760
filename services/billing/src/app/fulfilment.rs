//! Fulfilling a purchase (B3): licensing issues what each invoice line grants — and, right after a line's key,
//! provisions the Creator site seats its SKU grants on the account's cloud site (B11), under a request id of
//! its own — then the purchase moves out of `PENDING` the way `domain::purchase` decides: fulfilled with the
//! key ids and sites, failed (voiding its unpaid invoice) on a refusal, or left pending for the retry loop
//! while licensing is unavailable. A failed purchase then has the keys its earlier lines issued revoked (B9),
//! by this attempt or, after an outage or a restart, by the retry loop.

use std::collections::BTreeSet;

use chrono::Utc;
use portal_proto::{
    common,
    licensing::{IssueElearningCodesRequest, IssueKeysRequest, ProvisionSiteSeatsRequest},
};
use portal_runtime::{CallContext, Principal, time::to_proto};

use super::{answer, audit::Event};
use crate::{
    BillingApi,
    domain::{
        Answer, InvoiceState, Issue, Issued, Line, Purchase,
        purchase::{self as rules, Attempt, Transition},
    },
    error::Result,
    store,
};

/// The context billing fulfils a purchase in when `context`'s call placed it: billing's own work, recorded as
/// billing's in the audit log (as the retry loop records it) under the call's request and trace, so the
/// caller's call leaves exactly one event of theirs.
pub(crate) fn on_behalf_of(context: &CallContext) -> CallContext {
    CallContext {
        principal: billing(),
        ..context.clone()
    }
}

/// The context the retry loop acts in: `svc:billing`, with the resource id as the request id.
pub(crate) fn background(request_id: &str) -> CallContext {
    CallContext {
        principal: billing(),
        request_id: request_id.into(),
        trace_id: String::new(),
    }
}

fn billing() -> Principal {
    Principal::Service {
        name: "billing".into(),
        scopes: BTreeSet::new(),
    }
}

/// B3: one fulfilment attempt of the purchase `purchase_id` (the retry loop's); returns the purchase as it now
/// is.
pub(crate) async fn fulfil_pending(
    api: &BillingApi,
    context: &CallContext,
    purchase_id: &str,
) -> Result<Purchase> {
    let purchase = store::purchases::find(&api.db, purchase_id).await?;
    let invoice = store::invoices::find(&api.db, &purchase.invoice_id).await?;
    let lines = match purchase.b3_next_attempt(invoice.state) {
        Attempt::Issue => store::invoices::lines_of(&api.db, std::slice::from_ref(&invoice))
            .await?
            .remove(&invoice.invoice_id)
            .unwrap_or_default(),
        // Nothing is asked of licensing: the lines are not needed.
        Attempt::Settled | Attempt::Cancel(_) => Vec::new(),
    };
    fulfil(api, context, purchase, invoice.state, &lines).await
}

/// B3: one fulfilment attempt of `purchase`, whose invoice is in `invoice` state and has `lines`: licensing
/// issues what the lines grant, then the purchase moves the way `domain::purchase` decides. Returns the
/// purchase as it now is.
pub(crate) async fn fulfil(
    api: &BillingApi,
    context: &CallContext,
    purchase: Purchase,
    invoice: InvoiceState,
    lines: &[Line],
) -> Result<Purchase> {
    let purchase_id = purchase.purchase_id.as_str();
    let transition = match purchase.b3_next_attempt(invoice) {
        Attempt::Settled => {
            return if compensate(api, context, &purchase).await? {
                store::purchases::find(&api.db, purchase_id).await
            } else {
                Ok(purchase)
            };
        }
        Attempt::Cancel(why) => Transition::Fail(why, Issued::default()),
        Attempt::Issue => {
            let (answer, issued) = issue(api, &purchase, lines).await;
            rules::b3_transition(answer, issued)
        }
    };
    match transition {
        Transition::Fulfil(issued) => complete(api, context, &purchase, &issued).await?,
        Transition::StayPending(why) => {
            tracing::info!(purchase_id, why = %why, "licensing is unavailable; the purchase stays pending");
            store::purchases::note_attempt(&api.db, purchase_id, Utc::now()).await?;
        }
        Transition::Fail(why, issued) => {
            fail(api, context, &purchase, &why, &issued).await?;
            let failed = store::purchases::find(&api.db, purchase_id).await?;
            if !compensate(api, context, &failed).await? {
                return Ok(failed);
            }
        }
    }
    store::purchases::find(&api.db, purchase_id).await
}

/// Asks licensing for each line in turn; the lines already issued are replayed by licensing on a retry.
/// Returns licensing's answer and what it issued for the lines asked before it (B9: all on success).
async fn issue(api: &BillingApi, purchase: &Purchase, lines: &[Line]) -> (Answer<()>, Issued) {
    let plan = match purchase.b3_plan(lines) {
        Ok(plan) => plan,
        Err(why) => return (Answer::Refused(why), Issued::default()),
    };
    let mut issued = Issued::default();
    for (request_id, issue) in plan {
        let asked = match issue {
            Issue::Keys {
                family,
                seats,
                license_type,
                period_end,
                maintenance_end,
                lblm_enabled,
                creator_seats,
            } => {
                let site_request_id = rules::b11_site_request_id(&request_id);
                let request = IssueKeysRequest {
                    account_id: purchase.account_id.clone(),
                    family: common::KeyFamily::from(family) as i32,
                    seats,
                    license_type: common::LicenseType::from(license_type) as i32,
                    period_end: period_end.map(to_proto),
                    maintenance_end: Some(to_proto(maintenance_end)),
                    count: 1,
                    request_id,
                    lblm_enabled,
                    purchase_id: purchase.purchase_id.clone(),
                };
                match api.licensing.issue_keys(request).await {
                    // B11: the line's Creator seats go on the account's cloud site with its key, once.
                    Ok(ids) if creator_seats > 0 => {
                        let Some(key_id) = ids.first().cloned() else {
                            return (
                                Answer::Refused(
                                    "licensing issued no key for a line with Creator seats".into(),
                                ),
                                issued,
                            );
                        };
                        issued.key_ids.extend(ids);
                        let request = ProvisionSiteSeatsRequest {
                            account_id: purchase.account_id.clone(),
                            key_id,
                            creator_seats,
                            purchase_id: purchase.purchase_id.clone(),
                            request_id: site_request_id,
                        };
                        api.licensing
                            .provision_site_seats(request)
                            .await
                            .map(|seats| issued.b11_add_site(seats))
                    }
                    Ok(ids) => {
                        issued.key_ids.extend(ids);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Issue::ElearningCodes { count } => {
                let request = IssueElearningCodesRequest {
                    account_id: purchase.account_id.clone(),
                    count,
                    request_id,
                    purchase_id: purchase.purchase_id.clone(),
                };
                api.licensing
                    .issue_elearning_codes(request)
                    .await
                    .map(|codes| issued.elearning_codes.extend(codes))
            }
        };
        if let Err(e) = asked {
            return (answer(e), issued);
        }
    }
    (Answer::Done(()), issued)
}

/// B9: has licensing revoke the keys a failed purchase issued before the refusal, each under a stable
/// request id (so a retry, a second replica or a restarted process revokes nothing twice), and records the
/// compensation done once every key is revoked. While licensing is unavailable it stays pending for the
/// retry loop. Returns whether this call recorded the compensation.
pub(crate) async fn compensate(
    api: &BillingApi,
    context: &CallContext,
    purchase: &Purchase,
) -> Result<bool> {
    let to_revoke = purchase.b9_to_revoke();
    if to_revoke.is_empty() {
        return Ok(false);
    }
    for (request_id, key_id) in &to_revoke {
        if let Err(e) = api
            .licensing
            .revoke_key(key_id, rules::REVOKE_REASON, request_id)
            .await
        {
            match answer::<()>(e) {
                Answer::Refused(why) => {
                    tracing::error!(purchase_id = %purchase.purchase_id, key_id = %key_id, why = %why, "licensing refused to revoke a key of a failed purchase; retrying next tick")
                }
                other => {
                    tracing::info!(purchase_id = %purchase.purchase_id, answer = ?other, "licensing is unavailable; the failed purchase's keys are revoked later")
                }
            }
            return Ok(false);
        }
    }
    let txn = portal_runtime::db::begin_write(&api.db).await?;
    let revoked = purchase.key_ids.clone();
    let recorded =
        store::purchases::finish_compensation(&txn, &purchase.purchase_id, &revoked, Utc::now())
            .await?;
    if recorded {
        Event::PurchaseCompensated {
            purchase,
            revoked: &revoked,
        }
        .record(&txn, context)
        .await?;
        txn.commit().await?;
        tracing::info!(purchase_id = %purchase.purchase_id, keys = revoked.len(), "failed purchase compensated: its keys are revoked");
    }
    Ok(recorded)
}

/// B3: PENDING → FULFILLED with what licensing issued, audited, exactly once however many attempts race.
async fn complete(
    api: &BillingApi,
    context: &CallContext,
    purchase: &Purchase,
    issued: &Issued,
) -> Result<()> {
    let txn = portal_runtime::db::begin_write(&api.db).await?;
    if store::purchases::complete(&txn, &purchase.purchase_id, issued, Utc::now()).await? {
        Event::PurchaseFulfilled { purchase, issued }
            .record(&txn, context)
            .await?;
        txn.commit().await?;
        tracing::info!(purchase_id = %purchase.purchase_id, keys = issued.key_ids.len(), codes = issued.elearning_codes.len(), sites = issued.site_ids.len(), "purchase fulfilled");
        if issued.no_administrator_notified {
            tracing::warn!(purchase_id = %purchase.purchase_id, account_id = %purchase.account_id, "cloud site seats provisioned, but the account has no Administrator to tell");
        }
    }
    Ok(())
}

/// B3/B9: PENDING → FAILED with why and what was issued before the refusal, its unpaid invoice voided, both
/// audited, exactly once.
async fn fail(
    api: &BillingApi,
    context: &CallContext,
    purchase: &Purchase,
    why: &str,
    issued: &Issued,
) -> Result<()> {
    tracing::warn!(purchase_id = %purchase.purchase_id, why = %why, issued_keys = issued.key_ids.len(), "licensing refused the purchase; it fails, its invoice is voided and the keys it issued are revoked");
    let now = Utc::now();
    let txn = portal_runtime::db::begin_write(&api.db).await?;
    if store::purchases::fail(&txn, &purchase.purchase_id, why, issued, now).await? {
        Event::PurchaseFailed {
            purchase,
            why,
            issued,
        }
        .record(&txn, context)
        .await?;
        let reason = rules::VOID_REASON;
        if store::invoices::void_unpaid(&txn, &purchase.invoice_id, reason, now).await? {
            Event::FailedPurchaseInvoiceVoided { purchase, reason }
                .record(&txn, context)
                .await?;
        }
        txn.commit().await?;
    }
    Ok(())
}
