//! Renewals (B8): a renewal of keys with its invoice, auto-renew on and off, and the account's renewals.

use chrono::Utc;
use portal_policy::Action;
use portal_proto::billing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Begun, Prior, fingerprint},
    new_id, paging,
    time::from_proto,
};
use prost::Message;
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde_json::json;

use crate::{
    BillingApi,
    authz::{INTERNAL, PAYMENTS},
    convert,
    domain::{
        RenewalState, invoice as invoice_rules,
        purchase::whole_seconds,
        renewal::{self as renewal_rules, DEFAULT_TERM_MONTHS, MAX_TERM_MONTHS},
    },
    error::{Error, Result},
    store::{self, NewInvoice, renewal},
};

/// The most keys one renewal covers.
const MAX_KEYS: usize = 1000;

impl BillingApi {
    pub(super) async fn create_renewal_invoice(
        &self,
        context: CallContext,
        r: pb::CreateRenewalInvoiceRequest,
    ) -> Result<pb::Renewal> {
        self.caller(&context)
            .await?
            .require_scope(&[PAYMENTS, INTERNAL])?;
        // A replay returns the first result before anything else is judged: by then the renewal date may have
        // passed or licensing may be down, and neither changes what was created.
        let hash = fingerprint(
            &pb::CreateRenewalInvoiceRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        match idempotency::lookup(&self.db, "CreateRenewalInvoice", &r.request_id, &hash).await? {
            Prior::Replay(id) => {
                return Ok(convert::renewal(
                    &store::find_renewal(&self.db, &id).await?,
                    Utc::now(),
                ));
            }
            Prior::Reused => return Err(Error::request_id_reused()),
            Prior::None => {}
        }
        let now = Utc::now();
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.require("request_id", &r.request_id);
        let key_ids: Vec<String> = r.key_ids.iter().map(|k| k.trim().to_string()).collect();
        if key_ids.is_empty() {
            v.add("key_ids", "name at least one key to renew");
        }
        if key_ids.len() > MAX_KEYS {
            v.add("key_ids", format!("at most {MAX_KEYS} keys per renewal"));
        }
        for (i, key_id) in key_ids.iter().enumerate() {
            if key_id.is_empty() {
                v.add(&format!("key_ids[{i}]"), "must not be empty");
            } else if key_ids[..i].contains(key_id) {
                v.add(&format!("key_ids[{i}]"), "each key at most once");
            }
        }
        let items = super::purchases::items(&mut v, &r.items);
        let renewal_date = match r.renewal_date.as_ref().map(from_proto) {
            None => {
                v.add("renewal_date", "required");
                None
            }
            Some(None) => {
                v.add("renewal_date", "out of range");
                None
            }
            Some(Some(date)) if date <= now => {
                v.add("renewal_date", "must be in the future");
                None
            }
            // Whole seconds, like every date billing derives key dates from.
            Some(Some(date)) => Some(whole_seconds(date)),
        };
        let term_months = if r.term_months == 0 {
            DEFAULT_TERM_MONTHS
        } else {
            r.term_months
        };
        if !(1..=MAX_TERM_MONTHS).contains(&term_months) {
            v.add(
                "term_months",
                format!("must be between 1 and {MAX_TERM_MONTHS} (0 means {DEFAULT_TERM_MONTHS})"),
            );
        }
        v.finish().map_err(Error::invalid_fields)?;
        let Some(renewal_date) = renewal_date else {
            return Err(Error::invalid("renewal_date", "required"));
        };
        if self.identity.account(&r.account_id).await?.is_none() {
            return Err(Error::AccountNotFound);
        }
        for key_id in &key_ids {
            match self.licensing.key(key_id).await? {
                Some(key) if key.account_id == r.account_id => {}
                _ => return Err(Error::KeyNotInAccount(key_id.clone())),
            }
        }
        self.catalog_ready().await?;
        let renewal_id = new_id("ren");
        let txn = match idempotency::begin(
            &self.db,
            "CreateRenewalInvoice",
            &r.request_id,
            &hash,
            &renewal_id,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(id) => {
                return Ok(convert::renewal(
                    &store::find_renewal(&self.db, &id).await?,
                    Utc::now(),
                ));
            }
            Begun::Reused => return Err(Error::request_id_reused()),
        };
        let codes: Vec<String> = items.iter().map(|i| i.sku.clone()).collect();
        let catalog = store::skus_by_code(&txn, &codes).await?;
        let priced = invoice_rules::price(&items, &catalog)?;
        let created = whole_seconds(now);
        let invoice_id = new_id("inv");
        let row = renewal::ActiveModel {
            renewal_id: Set(renewal_id.clone()),
            account_id: Set(r.account_id.clone()),
            key_ids: Set(store::to_json(&key_ids)),
            renewal_date: Set(renewal_date),
            term_months: Set(term_months),
            auto_renew: Set(true),
            invoice_id: Set(invoice_id.clone()),
            state: Set(RenewalState::Open.as_str().to_string()),
            refresh_pending: Set(false),
            refresh_error: Set(None),
            sort_key: Set(store::renewal_sort_key(renewal_date, &renewal_id)),
            revision: Set(0),
            create_time: Set(created),
            update_time: Set(created),
        }
        .insert(&txn)
        .await?;
        let invoice = store::insert_invoice(
            &txn,
            NewInvoice {
                invoice_id: &invoice_id,
                account_id: &r.account_id,
                priced: &priced,
                purchase_id: None,
                renewal_id: Some(&renewal_id),
                issue_time: created,
                due_time: renewal_date,
            },
        )
        .await?;
        let after = json!({
            "key_ids": key_ids,
            "renewal_date": renewal_date,
            "term_months": term_months,
            "invoice_id": invoice.invoice_id,
            "number": invoice.number,
            "total_minor": invoice.total_minor,
            "currency": invoice.currency,
        });
        let change = Change {
            account_id: &r.account_id,
            action: "CreateRenewal",
            resource_type: "renewal",
            resource_id: &renewal_id,
            before: None,
            after: Some(after),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        Ok(convert::renewal(&row, now))
    }

    pub(super) async fn set_auto_renew(
        &self,
        context: CallContext,
        r: pb::SetAutoRenewRequest,
    ) -> Result<pb::Renewal> {
        let mut v = Violations::default();
        v.require("renewal_id", &r.renewal_id);
        v.finish().map_err(Error::invalid_fields)?;
        let caller = self.caller(&context).await?;
        let current = match store::find_renewal(&self.db, &r.renewal_id).await {
            Err(Error::RenewalNotFound) if caller.member().is_some() => {
                return Err(Error::denied("no such renewal visible to you"));
            }
            other => other?,
        };
        caller.require_action(&current.account_id, Action::MakePurchase, &[PAYMENTS])?;
        let now = Utc::now();
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        store::lock_renewal(&txn, &current.renewal_id).await?;
        let before = store::find_renewal(&txn, &current.renewal_id).await?;
        let changed = renewal_rules::set_auto_renew(
            RenewalState::parse(&before.state),
            before.auto_renew,
            r.auto_renew,
            before.renewal_date,
            now,
        )?;
        if !changed {
            txn.rollback().await?;
            return Ok(convert::renewal(&before, now));
        }
        let mut next = before.clone().into_active_model();
        next.auto_renew = Set(r.auto_renew);
        next.update_time = Set(now);
        let after = next.update(&txn).await?;
        let change = Change {
            account_id: &after.account_id,
            action: "SetAutoRenew",
            resource_type: "renewal",
            resource_id: &after.renewal_id,
            before: Some(json!({ "auto_renew": before.auto_renew })),
            after: Some(json!({ "auto_renew": after.auto_renew })),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        Ok(convert::renewal(&after, now))
    }

    pub(super) async fn list_renewals(
        &self,
        context: CallContext,
        r: pb::ListRenewalsRequest,
    ) -> Result<pb::ListRenewalsResponse> {
        self.caller(&context).await?.require_action(
            &r.account_id,
            Action::ViewInvoices,
            &[PAYMENTS, INTERNAL],
        )?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let page = v.check(paging::parse(r.page_size, &r.page_token, &r.account_id));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(page) = page else {
            return Err(Error::invalid("page_token", "invalid"));
        };
        let rows =
            store::list_renewals(&self.db, &r.account_id, page.after.as_deref(), page.size).await?;
        let next_page_token = paging::next_token(
            &r.account_id,
            rows.last().map(|x| x.sort_key.as_str()),
            rows.len(),
            page.size,
        );
        let now = Utc::now();
        Ok(pb::ListRenewalsResponse {
            renewals: rows.iter().map(|row| convert::renewal(row, now)).collect(),
            next_page_token,
        })
    }
}
