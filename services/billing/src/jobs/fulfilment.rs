//! Fulfilling a purchase (B3): licensing issues what each invoice line grants — and, right after a line's key,
//! provisions the Creator site seats its SKU grants on the account's cloud site (B11), under a request id of
//! its own — then the purchase moves out of `PENDING` the way `domain::purchase` decides: fulfilled with the
//! key ids and sites, failed (voiding its unpaid invoice) on a refusal, or left pending for the retry loop
//! while licensing is unavailable. A failed purchase then has the keys its earlier lines issued revoked (B9),
//! by this attempt or, after an outage or a restart, by the retry loop.

use chrono::Utc;
use portal_proto::licensing::{
    IssueElearningCodesRequest, IssueKeysRequest, ProvisionSiteSeatsRequest,
};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    time::to_proto,
};
use serde_json::json;

use crate::{
    BillingApi,
    domain::{
        Answer, InvoiceState, Issue, Issued, Line, Purchase, PurchaseState,
        purchase::{self as rules, Attempt, Transition},
    },
    error::Result,
    rpc::convert,
    store,
};

impl BillingApi {
    /// B3: one fulfilment attempt of a purchase; returns the purchase as it now is.
    pub(crate) async fn fulfil(
        &self,
        context: &CallContext,
        purchase_id: &str,
    ) -> Result<Purchase> {
        let purchase = store::purchases::find(&self.db, purchase_id).await?;
        let invoice = store::invoices::find(&self.db, &purchase.invoice_id).await?;
        let transition = match purchase.b3_next_attempt(invoice.state) {
            Attempt::Settled => {
                self.compensate(context, &purchase).await?;
                return store::purchases::find(&self.db, purchase_id).await;
            }
            Attempt::Cancel(why) => Transition::Fail(why, Issued::default()),
            Attempt::Issue => {
                let lines = store::invoices::lines_of(&self.db, std::slice::from_ref(&invoice))
                    .await?
                    .remove(&invoice.invoice_id)
                    .unwrap_or_default();
                let (answer, issued) = self.issue(&purchase, &lines).await;
                rules::b3_transition(answer, issued)
            }
        };
        match transition {
            Transition::Fulfil(issued) => self.complete(context, &purchase, &issued).await?,
            Transition::StayPending(why) => {
                tracing::info!(purchase_id, why = %why, "licensing is unavailable; the purchase stays pending");
                store::purchases::note_attempt(&self.db, purchase_id, Utc::now()).await?;
            }
            Transition::Fail(why, issued) => {
                self.fail(context, &purchase, &why, &issued).await?;
                let failed = store::purchases::find(&self.db, purchase_id).await?;
                self.compensate(context, &failed).await?;
            }
        }
        store::purchases::find(&self.db, purchase_id).await
    }

    /// Asks licensing for each line in turn; the lines already issued are replayed by licensing on a retry.
    /// Returns licensing's answer and what it issued for the lines asked before it (B9: all on success).
    async fn issue(&self, purchase: &Purchase, lines: &[Line]) -> (Answer<()>, Issued) {
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
                        family: convert::family(family) as i32,
                        seats,
                        license_type: convert::license_type(license_type) as i32,
                        period_end: period_end.map(to_proto),
                        maintenance_end: Some(to_proto(maintenance_end)),
                        count: 1,
                        request_id,
                        lblm_enabled,
                        purchase_id: purchase.purchase_id.clone(),
                    };
                    match self.licensing.issue_keys(request).await {
                        // B11: the line's Creator seats go on the account's cloud site with its key, once.
                        Ok(ids) if creator_seats > 0 => {
                            let Some(key_id) = ids.first().cloned() else {
                                return (
                                    Answer::Refused(
                                        "licensing issued no key for a line with Creator seats"
                                            .into(),
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
                            self.licensing
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
                    self.licensing
                        .issue_elearning_codes(request)
                        .await
                        .map(|codes| issued.elearning_codes.extend(codes))
                }
            };
            if let Err(e) = asked {
                return (super::answer(e), issued);
            }
        }
        (Answer::Done(()), issued)
    }

    /// B9: has licensing revoke the keys a failed purchase issued before the refusal, each under a stable
    /// request id (so a retry, a second replica or a restarted process revokes nothing twice), and records the
    /// compensation done once every key is revoked. While licensing is unavailable it stays pending for the
    /// retry loop.
    pub(crate) async fn compensate(
        &self,
        context: &CallContext,
        purchase: &Purchase,
    ) -> Result<()> {
        let to_revoke = purchase.b9_to_revoke();
        if to_revoke.is_empty() {
            return Ok(());
        }
        for (request_id, key_id) in &to_revoke {
            if let Err(e) = self
                .licensing
                .revoke_key(key_id, rules::REVOKE_REASON, request_id)
                .await
            {
                match super::answer::<()>(e) {
                    Answer::Refused(why) => {
                        tracing::error!(purchase_id = %purchase.purchase_id, key_id = %key_id, why = %why, "licensing refused to revoke a key of a failed purchase; retrying next tick")
                    }
                    other => {
                        tracing::info!(purchase_id = %purchase.purchase_id, answer = ?other, "licensing is unavailable; the failed purchase's keys are revoked later")
                    }
                }
                return Ok(());
            }
        }
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let revoked = purchase.key_ids.clone();
        if store::purchases::finish_compensation(&txn, &purchase.purchase_id, &revoked, Utc::now())
            .await?
        {
            let change = Change {
                account_id: &purchase.account_id,
                action: "CompensatePurchase",
                resource_type: "purchase",
                resource_id: &purchase.purchase_id,
                before: Some(json!({ "compensation_pending": true, "key_ids": purchase.key_ids })),
                after: Some(json!({ "compensation_pending": false, "revoked_key_ids": revoked })),
            };
            audit::record(&txn, context, change).await?;
            txn.commit().await?;
            tracing::info!(purchase_id = %purchase.purchase_id, keys = revoked.len(), "failed purchase compensated: its keys are revoked");
        }
        Ok(())
    }

    async fn complete(
        &self,
        context: &CallContext,
        purchase: &Purchase,
        issued: &Issued,
    ) -> Result<()> {
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        if store::purchases::complete(&txn, &purchase.purchase_id, issued, Utc::now()).await? {
            let change = Change {
                account_id: &purchase.account_id,
                action: "FulfillPurchase",
                resource_type: "purchase",
                resource_id: &purchase.purchase_id,
                before: Some(json!({ "state": PurchaseState::Pending.as_str() })),
                after: Some(
                    json!({ "state": PurchaseState::Fulfilled.as_str(), "key_ids": issued.key_ids, "elearning_code_count": issued.elearning_codes.len(), "site_ids": issued.site_ids, "no_administrator_notified": issued.no_administrator_notified }),
                ),
            };
            audit::record(&txn, context, change).await?;
            txn.commit().await?;
            tracing::info!(purchase_id = %purchase.purchase_id, keys = issued.key_ids.len(), codes = issued.elearning_codes.len(), sites = issued.site_ids.len(), "purchase fulfilled");
            if issued.no_administrator_notified {
                tracing::warn!(purchase_id = %purchase.purchase_id, account_id = %purchase.account_id, "cloud site seats provisioned, but the account has no Administrator to tell");
            }
        }
        Ok(())
    }

    async fn fail(
        &self,
        context: &CallContext,
        purchase: &Purchase,
        why: &str,
        issued: &Issued,
    ) -> Result<()> {
        tracing::warn!(purchase_id = %purchase.purchase_id, why = %why, issued_keys = issued.key_ids.len(), "licensing refused the purchase; it fails, its invoice is voided and the keys it issued are revoked");
        let now = Utc::now();
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        if store::purchases::fail(&txn, &purchase.purchase_id, why, issued, now).await? {
            let change = Change {
                account_id: &purchase.account_id,
                action: "FailPurchase",
                resource_type: "purchase",
                resource_id: &purchase.purchase_id,
                before: Some(json!({ "state": PurchaseState::Pending.as_str() })),
                after: Some(
                    json!({ "state": PurchaseState::Failed.as_str(), "failure_reason": why, "issued_key_ids": issued.key_ids, "issued_elearning_codes": issued.elearning_codes.len() }),
                ),
            };
            audit::record(&txn, context, change).await?;
            let reason = rules::VOID_REASON;
            if store::invoices::void_unpaid(&txn, &purchase.invoice_id, reason, now).await? {
                let change = Change {
                    account_id: &purchase.account_id,
                    action: "VoidInvoice",
                    resource_type: "invoice",
                    resource_id: &purchase.invoice_id,
                    before: Some(json!({ "state": InvoiceState::Open.as_str() })),
                    after: Some(
                        json!({ "state": InvoiceState::Void.as_str(), "void_reason": reason }),
                    ),
                };
                audit::record(&txn, context, change).await?;
            }
            txn.commit().await?;
        }
        Ok(())
    }
}
