//! Renewals (B8): a renewal of keys with its invoice, auto-renew on and off, the account's renewals, and
//! refreshing a paid renewal's keys (L7): licensing moves each key to the renewal date plus the term, then the
//! renewal's pending flag is cleared exactly once, with the keys licensing refused noted on it.

use chrono::{DateTime, Utc};
use portal_clients::Caller;
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim, Prior},
    new_id,
    paging::Page,
};

use super::{RequestKey, answer, audit::Event, catalog_ready, hidden, permit};
use crate::{
    BillingApi,
    domain::{
        Answer, Item, Renewal, access,
        calendar::whole_seconds,
        invoice as invoice_rules,
        renewal::{self as rules, Terms},
    },
    error::{Error, Result},
    store::{self, invoices::NewInvoice},
};

const CREATE_RENEWAL: &str = "CreateRenewalInvoice";

/// A CreateRenewalInvoice request, checked (B8): the renewal's terms and what its invoice bills.
#[derive(Debug, Clone)]
pub(crate) struct NewRenewal {
    pub terms: Terms,
    pub items: Vec<Item>,
}

/// B8: a renewal of the keys the request becomes, with its invoice, for a service principal; idempotent on
/// `key`. A replay answers with the first renewal before anything else is judged: by then the renewal date may
/// have passed or licensing may be down, and neither changes what was created.
pub(crate) async fn create<R: TryInto<NewRenewal, Error = Error>>(
    api: &BillingApi,
    context: &CallContext,
    caller: &Caller,
    key: &RequestKey,
    request: R,
) -> Result<Renewal> {
    caller.require_scope(access::B8_CREATE_RENEWAL)?;
    match idempotency::lookup(&api.db, CREATE_RENEWAL, &key.request_id, &key.hash).await? {
        Prior::Replay(id) => return store::renewals::find(&api.db, &id).await,
        Prior::Reused => return Err(Error::request_id_reused()),
        Prior::None => {}
    }
    let NewRenewal { terms, items } = request.try_into()?;
    let account_id = terms.account_id.clone();
    if api.identity.account(&account_id).await?.is_none() {
        return Err(Error::AccountNotFound);
    }
    for key_id in &terms.key_ids {
        let key = api.licensing.key(key_id).await?;
        rules::ensure_key_of(
            &account_id,
            key_id,
            key.as_ref().map(|k| k.account_id.as_str()),
        )?;
    }
    catalog_ready(api).await?;
    let renewal_id = new_id("ren");
    let txn = match idempotency::claim_key(&api.db, CREATE_RENEWAL, key, &renewal_id).await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(id) => return store::renewals::find(&api.db, &id).await,
    };
    let codes: Vec<String> = items.iter().map(|i| i.sku.clone()).collect();
    let catalog = store::catalog::by_code(&txn, &codes).await?;
    let priced = invoice_rules::price(&items, &catalog)?;
    let created = whole_seconds(Utc::now());
    let renewal = Renewal::open(renewal_id.clone(), new_id("inv"), terms, created);
    store::renewals::insert(&txn, &renewal).await?;
    let invoice = store::invoices::insert(
        &txn,
        NewInvoice {
            invoice_id: &renewal.invoice_id,
            account_id: &account_id,
            priced: &priced,
            purchase_id: None,
            renewal_id: Some(&renewal_id),
            issue_time: created,
            due_time: renewal.renewal_date,
        },
    )
    .await?;
    Event::RenewalCreated {
        renewal: &renewal,
        invoice: &invoice,
        previous_renewal_id: None,
    }
    .record(&txn, context)
    .await?;
    txn.commit().await?;
    Ok(renewal)
}

/// B6/B8: turns auto-renew of `renewal_id` on or off for a caller who may; unchanged when it already is so.
pub(crate) async fn set_auto_renew(
    api: &BillingApi,
    context: &CallContext,
    caller: &Caller,
    renewal_id: &str,
    wanted: bool,
    now: DateTime<Utc>,
) -> Result<Renewal> {
    let found = store::renewals::find(&api.db, renewal_id).await;
    let current = hidden(caller, access::B6_SET_AUTO_RENEW, found, |e| {
        matches!(e, Error::RenewalNotFound)
    })?;
    permit(caller, &current.account_id, access::B6_SET_AUTO_RENEW)?;
    let txn = portal_runtime::db::begin_write(&api.db).await?;
    let before = store::renewals::lock(&txn, &current.renewal_id).await?;
    let Some(after) = before.with_auto_renew(wanted, now)? else {
        txn.rollback().await?;
        return Ok(before);
    };
    store::renewals::save(&txn, &after).await?;
    Event::AutoRenewSet {
        before: &before,
        after: &after,
    }
    .record(&txn, context)
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// B6: a page of the account's renewals, for a caller who may see its invoices; the page asked is judged after
/// who asks.
pub(crate) async fn list<P: TryInto<Page, Error = Error>>(
    api: &BillingApi,
    caller: &Caller,
    account_id: &str,
    page: P,
) -> Result<(Vec<Renewal>, Page)> {
    permit(caller, account_id, access::B6_VIEW_INVOICES)?;
    let page = page.try_into()?;
    let renewals =
        store::renewals::list(&api.db, account_id, page.after.as_deref(), page.size).await?;
    Ok((renewals, page))
}

/// B8/L7: refreshes the keys of a paid renewal to `renewal_date + term_months`, then clears its pending flag
/// (exactly once). Unavailable licensing leaves it pending for the retry loop.
pub(crate) async fn refresh(
    api: &BillingApi,
    context: &CallContext,
    renewal_id: &str,
) -> Result<()> {
    let renewal = store::renewals::find(&api.db, renewal_id).await?;
    if !renewal.refresh_pending {
        return Ok(());
    }
    let until = renewal.extended_until()?;
    let mut answers = Vec::new();
    for key_id in &renewal.key_ids {
        let answer = refresh_key(api, key_id, until).await;
        // Once licensing is unavailable, the rest waits for the next attempt too.
        let unavailable = matches!(answer, Answer::Unavailable(_));
        answers.push((key_id.clone(), answer));
        if unavailable {
            break;
        }
    }
    let Some(refused) = rules::b8_refresh_outcome(answers) else {
        tracing::info!(
            renewal_id,
            "licensing is unavailable; the renewal's refresh stays pending"
        );
        return Ok(());
    };
    if !refused.is_empty() {
        tracing::warn!(renewal_id, refused = ?refused, "licensing refused to refresh keys of a paid renewal");
    }
    let error = (!refused.is_empty()).then(|| refused.join("; "));
    let txn = portal_runtime::db::begin_write(&api.db).await?;
    if store::renewals::finish_refresh(&txn, renewal_id, error, Utc::now()).await? {
        Event::RenewedKeysRefreshed {
            renewal: &renewal,
            until,
            refused: &refused,
        }
        .record(&txn, context)
        .await?;
        txn.commit().await?;
    }
    Ok(())
}

/// Moves one key to `until`, unless it is there already (a retry after a lost answer).
async fn refresh_key(api: &BillingApi, key_id: &str, until: DateTime<Utc>) -> Answer<()> {
    let key = match api.licensing.key(key_id).await {
        Ok(Some(key)) => key,
        Ok(None) => return Answer::Refused("no such key".into()),
        Err(e) => return answer(e),
    };
    let Some(plan) =
        rules::refresh_plan(key.license_type, key.period_end, key.maintenance_end, until)
    else {
        return Answer::Done(());
    };
    match api
        .licensing
        .refresh_key(key_id, plan.period_end, plan.maintenance_end)
        .await
    {
        Ok(()) => Answer::Done(()),
        Err(e) => answer(e),
    }
}
