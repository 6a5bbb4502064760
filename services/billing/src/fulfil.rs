//! What happens after a purchase or a renewal payment commits: licensing issues the keys and eLearning codes
//! sold (B3), or refreshes the keys a paid renewal covers (B8, L7). Unavailable licensing leaves the work
//! pending for the retry loop; a permanent refusal is recorded. Everything billing asks licensing is idempotent
//! (stable request ids, dates fixed when the purchase was made, refreshes that skip keys already moved), so a
//! retry — or two replicas retrying at once — never issues twice.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use portal_clients::ClientError;
use portal_proto::licensing::{IssueElearningCodesRequest, IssueKeysRequest};
use portal_runtime::{
    CallContext, Principal,
    audit::{self, Change},
    time::to_proto,
};
use serde_json::json;

use crate::{
    BillingApi, convert,
    domain::{
        PurchaseState,
        purchase::{self as rules, Issue},
        renewal as renewal_rules,
    },
    error::Result,
    store::{self, line, purchase},
};

/// How many pending purchases (and renewals) one pass of the retry loop takes on.
const BATCH: u64 = 100;

/// The context the retry loop acts in: `svc:billing`, with the resource id as the request id.
fn background(request_id: &str) -> CallContext {
    CallContext {
        principal: Principal::Service {
            name: "billing".into(),
            scopes: BTreeSet::new(),
        },
        request_id: request_id.into(),
        trace_id: String::new(),
    }
}

/// What became of asking licensing.
enum Outcome<T> {
    Done(T),
    /// Licensing is down, overloaded or too slow: try again later.
    Later(String),
    /// Licensing said no; asking again will not help.
    Refused(String),
}

/// Only an answer about the request itself is final; anything else (down, overloaded, an internal error on
/// the other side) is worth trying again, since a wrongly failed purchase would void a customer's order.
fn classify<T>(err: ClientError) -> Outcome<T> {
    use tonic::Code::*;
    match err {
        failed @ ClientError::Failed {
            code: InvalidArgument | FailedPrecondition | NotFound | PermissionDenied | OutOfRange,
            ..
        } => Outcome::Refused(failed.to_string()),
        other => Outcome::Later(other.to_string()),
    }
}

impl BillingApi {
    /// One pass of the retry loop: pending purchases, then renewals whose keys still need refreshing.
    pub(crate) async fn retry_pending(&self) {
        match store::pending_purchases(&self.db, BATCH).await {
            Ok(pending) => {
                for p in pending {
                    if let Err(e) = self
                        .fulfil(&background(&p.purchase_id), &p.purchase_id)
                        .await
                    {
                        tracing::warn!(purchase_id = %p.purchase_id, error = %e, "fulfilment retry failed; retrying next tick");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "listing pending purchases failed; retrying next tick")
            }
        }
        match store::renewals_to_refresh(&self.db, BATCH).await {
            Ok(pending) => {
                for r in pending {
                    if let Err(e) = self
                        .refresh_renewal(&background(&r.renewal_id), &r.renewal_id)
                        .await
                    {
                        tracing::warn!(renewal_id = %r.renewal_id, error = %e, "renewal refresh retry failed; retrying next tick");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "listing renewals to refresh failed; retrying next tick")
            }
        }
    }

    /// B3: has licensing issue what a pending purchase's lines grant, then marks it `FULFILLED` with the key
    /// ids (exactly once, however many attempts race); a permanent refusal marks it `FAILED` and voids its
    /// unpaid invoice; unavailable licensing leaves it `PENDING`. Returns the purchase as it now is.
    pub(crate) async fn fulfil(
        &self,
        context: &CallContext,
        purchase_id: &str,
    ) -> Result<purchase::Model> {
        let row = store::find_purchase(&self.db, purchase_id).await?;
        if PurchaseState::parse(&row.state) != PurchaseState::Pending {
            return Ok(row);
        }
        // An invoice voided while the purchase waited cancels it: nothing is issued against a void invoice.
        if store::find_invoice(&self.db, &row.invoice_id).await?.state
            == crate::domain::invoice::InvoiceState::Void.as_str()
        {
            self.fail(context, &row, "the invoice was voided before fulfilment")
                .await?;
            return store::find_purchase(&self.db, purchase_id).await;
        }
        let lines = store::lines_of(&self.db, std::slice::from_ref(&row.invoice_id))
            .await?
            .remove(&row.invoice_id)
            .unwrap_or_default();
        match self.issue(&row, &lines).await {
            Outcome::Done((keys, codes)) => self.complete(context, &row, &keys, &codes).await?,
            Outcome::Later(why) => {
                tracing::info!(purchase_id, why = %why, "licensing is unavailable; the purchase stays pending");
                store::note_attempt(&self.db, purchase_id, Utc::now()).await?;
            }
            Outcome::Refused(why) => self.fail(context, &row, &why).await?,
        }
        store::find_purchase(&self.db, purchase_id).await
    }

    /// Asks licensing for each line in turn; the lines already issued are replayed by licensing on a retry.
    async fn issue(
        &self,
        row: &purchase::Model,
        lines: &[line::Model],
    ) -> Outcome<(Vec<String>, Vec<String>)> {
        // Dates count from the purchase time, stored in whole seconds: every retry sends the same request.
        let base = rules::whole_seconds(row.create_time);
        let mut keys = Vec::new();
        let mut codes = Vec::new();
        for line in lines {
            let plan = match store::grant_of(line)
                .and_then(|grant| rules::issue_for(&grant, line.quantity, base))
            {
                Ok(plan) => plan,
                Err(e) => {
                    return Outcome::Refused(format!(
                        "line {} cannot be issued: {e}",
                        line.line_no
                    ));
                }
            };
            let request_id = rules::line_request_id(&row.purchase_id, line.line_no);
            let issued = match plan {
                Issue::Keys {
                    family,
                    seats,
                    license_type,
                    period_end,
                    maintenance_end,
                    lblm_enabled,
                } => {
                    let request = IssueKeysRequest {
                        account_id: row.account_id.clone(),
                        family: convert::family(family) as i32,
                        seats,
                        license_type: convert::license_type(license_type) as i32,
                        period_end: period_end.map(to_proto),
                        maintenance_end: Some(to_proto(maintenance_end)),
                        count: 1,
                        request_id,
                        lblm_enabled,
                        purchase_id: row.purchase_id.clone(),
                    };
                    self.licensing
                        .issue_keys(request)
                        .await
                        .map(|ids| keys.extend(ids))
                }
                Issue::ElearningCodes { count } => {
                    let request = IssueElearningCodesRequest {
                        account_id: row.account_id.clone(),
                        count,
                        request_id,
                        purchase_id: row.purchase_id.clone(),
                    };
                    self.licensing
                        .issue_elearning_codes(request)
                        .await
                        .map(|issued| codes.extend(issued))
                }
            };
            if let Err(e) = issued {
                return classify(e);
            }
        }
        Outcome::Done((keys, codes))
    }

    async fn complete(
        &self,
        context: &CallContext,
        row: &purchase::Model,
        keys: &[String],
        codes: &[String],
    ) -> Result<()> {
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        if store::complete_purchase(&txn, &row.purchase_id, keys, codes, Utc::now()).await? {
            let change = Change {
                account_id: &row.account_id,
                action: "FulfillPurchase",
                resource_type: "purchase",
                resource_id: &row.purchase_id,
                before: Some(json!({ "state": PurchaseState::Pending.as_str() })),
                after: Some(
                    json!({ "state": PurchaseState::Fulfilled.as_str(), "key_ids": keys, "elearning_code_count": codes.len() }),
                ),
            };
            audit::record(&txn, context, change).await?;
            txn.commit().await?;
            tracing::info!(purchase_id = %row.purchase_id, keys = keys.len(), codes = codes.len(), "purchase fulfilled");
        }
        Ok(())
    }

    async fn fail(&self, context: &CallContext, row: &purchase::Model, why: &str) -> Result<()> {
        tracing::warn!(purchase_id = %row.purchase_id, why = %why, "licensing refused the purchase; it fails and its invoice is voided");
        let now = Utc::now();
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        if store::fail_purchase(&txn, &row.purchase_id, why, now).await? {
            let change = Change {
                account_id: &row.account_id,
                action: "FailPurchase",
                resource_type: "purchase",
                resource_id: &row.purchase_id,
                before: Some(json!({ "state": PurchaseState::Pending.as_str() })),
                after: Some(
                    json!({ "state": PurchaseState::Failed.as_str(), "failure_reason": why }),
                ),
            };
            audit::record(&txn, context, change).await?;
            let reason = "the purchase could not be fulfilled";
            if store::void_unpaid(&txn, &row.invoice_id, reason, now).await? {
                let change = Change {
                    account_id: &row.account_id,
                    action: "VoidInvoice",
                    resource_type: "invoice",
                    resource_id: &row.invoice_id,
                    before: Some(json!({ "state": "OPEN" })),
                    after: Some(json!({ "state": "VOID", "void_reason": reason })),
                };
                audit::record(&txn, context, change).await?;
            }
            txn.commit().await?;
        }
        Ok(())
    }

    /// B8/L7: refreshes the keys of a paid renewal to `renewal_date + term_months`, then clears its pending
    /// flag (exactly once). Keys licensing refuses to refresh (expired, revoked, unknown) are noted on the
    /// renewal; unavailable licensing leaves it pending for the retry loop.
    pub(crate) async fn refresh_renewal(
        &self,
        context: &CallContext,
        renewal_id: &str,
    ) -> Result<()> {
        let row = store::find_renewal(&self.db, renewal_id).await?;
        if !row.refresh_pending {
            return Ok(());
        }
        let until = renewal_rules::extended_until(row.renewal_date, row.term_months)?;
        let mut refused = Vec::new();
        for key_id in store::from_json(&row.key_ids) {
            match self.refresh_key(&key_id, until).await {
                Outcome::Done(()) => {}
                Outcome::Later(why) => {
                    tracing::info!(renewal_id, why = %why, "licensing is unavailable; the renewal's refresh stays pending");
                    return Ok(());
                }
                Outcome::Refused(why) => refused.push(format!("{key_id}: {why}")),
            }
        }
        if !refused.is_empty() {
            tracing::warn!(renewal_id, refused = ?refused, "licensing refused to refresh keys of a paid renewal");
        }
        let error = (!refused.is_empty()).then(|| refused.join("; "));
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        if store::finish_refresh(&txn, renewal_id, error, Utc::now()).await? {
            let change = Change {
                account_id: &row.account_id,
                action: "RefreshRenewedKeys",
                resource_type: "renewal",
                resource_id: &row.renewal_id,
                before: None,
                after: Some(
                    json!({ "key_ids": store::from_json(&row.key_ids), "until": until, "refused": refused }),
                ),
            };
            audit::record(&txn, context, change).await?;
            txn.commit().await?;
        }
        Ok(())
    }

    /// Moves one key to `until`, unless it is there already (a retry after a lost answer).
    async fn refresh_key(&self, key_id: &str, until: DateTime<Utc>) -> Outcome<()> {
        let key = match self.licensing.key(key_id).await {
            Ok(Some(key)) => key,
            Ok(None) => return Outcome::Refused("no such key".into()),
            Err(e) => return classify(e),
        };
        let Some(plan) = renewal_rules::refresh_plan(
            key.license_type,
            key.period_end,
            key.maintenance_end,
            until,
        ) else {
            return Outcome::Done(());
        };
        match self
            .licensing
            .refresh_key(key_id, plan.period_end, plan.maintenance_end)
            .await
        {
            Ok(()) => Outcome::Done(()),
            Err(e) => classify(e),
        }
    }
}
