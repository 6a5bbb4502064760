//! Renewals (B8): a renewal of keys with its invoice, auto-renew on and off, and the account's renewals.

use chrono::Utc;
use portal_proto::billing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Claim, Prior},
    new_id, paging,
    time::from_proto,
};
use serde_json::json;

use super::{convert, hidden};
use crate::{
    BillingApi,
    domain::{
        Item, Renewal, access, invoice as invoice_rules,
        purchase::whole_seconds,
        renewal::{self as renewal_rules, DEFAULT_TERM_MONTHS, MAX_TERM_MONTHS, Terms},
    },
    error::{Error, Result},
    store::{self, invoices::NewInvoice},
};

/// The most keys one renewal covers.
const MAX_KEYS: usize = 1000;

/// A CreateRenewalInvoice request, checked (B8): the renewal's terms (its date in the future, in whole seconds
/// like every date billing derives key dates from) and what its invoice bills.
pub(super) struct NewRenewal {
    terms: Terms,
    items: Vec<Item>,
}

impl TryFrom<&pb::CreateRenewalInvoiceRequest> for NewRenewal {
    type Error = Error;

    fn try_from(r: &pb::CreateRenewalInvoiceRequest) -> Result<Self> {
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
        Ok(Self {
            terms: Terms {
                account_id: r.account_id.clone(),
                key_ids,
                renewal_date,
                term_months,
            },
            items,
        })
    }
}

const CREATE_RENEWAL: &str = "CreateRenewalInvoice";

impl BillingApi {
    pub(super) async fn create_renewal_invoice(
        &self,
        context: CallContext,
        r: pb::CreateRenewalInvoiceRequest,
    ) -> Result<pb::Renewal> {
        self.require_service(&context, access::B8_CREATE_RENEWAL)
            .await?;
        // A replay returns the first result before anything else is judged: by then the renewal date may have
        // passed or licensing may be down, and neither changes what was created.
        let hash = idempotency::content_hash(&r);
        match idempotency::lookup(&self.db, CREATE_RENEWAL, &r.request_id, &hash).await? {
            Prior::Replay(id) => return self.renewal_as_it_is(&id).await,
            Prior::Reused => return Err(Error::request_id_reused()),
            Prior::None => {}
        }
        let NewRenewal { terms, items } = NewRenewal::try_from(&r)?;
        let account_id = terms.account_id.clone();
        if self.identity.account(&account_id).await?.is_none() {
            return Err(Error::AccountNotFound);
        }
        for key_id in &terms.key_ids {
            let key = self.licensing.key(key_id).await?;
            renewal_rules::ensure_key_of(
                &account_id,
                key_id,
                key.as_ref().map(|k| k.account_id.as_str()),
            )?;
        }
        self.catalog_ready().await?;
        let renewal_id = new_id("ren");
        let txn = match idempotency::claim(&self.db, CREATE_RENEWAL, &r, &renewal_id).await? {
            Claim::Fresh(txn) => txn,
            Claim::Replay(id) => return self.renewal_as_it_is(&id).await,
        };
        let codes: Vec<String> = items.iter().map(|i| i.sku.clone()).collect();
        let catalog = store::catalog::by_code(&txn, &codes).await?;
        let priced = invoice_rules::price(&items, &catalog)?;
        let now = Utc::now();
        let created = whole_seconds(now);
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
        let after = json!({
            "key_ids": renewal.key_ids,
            "renewal_date": renewal.renewal_date,
            "term_months": renewal.term_months,
            "invoice_id": invoice.invoice_id,
            "number": invoice.number,
            "total_minor": invoice.totals.total.minor,
            "currency": invoice.currency.as_str(),
        });
        let change = Change {
            account_id: &account_id,
            action: "CreateRenewal",
            resource_type: "renewal",
            resource_id: &renewal_id,
            before: None,
            after: Some(after),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        Ok(convert::renewal(&renewal, now))
    }

    async fn renewal_as_it_is(&self, renewal_id: &str) -> Result<pb::Renewal> {
        let renewal = store::renewals::find(&self.db, renewal_id).await?;
        Ok(convert::renewal(&renewal, Utc::now()))
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
        let found = store::renewals::find(&self.db, &r.renewal_id).await;
        let current = hidden(&caller, access::B6_SET_AUTO_RENEW, found, |e| {
            matches!(e, Error::RenewalNotFound)
        })?;
        Self::permit(&caller, &current.account_id, access::B6_SET_AUTO_RENEW)?;
        let now = Utc::now();
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let before = store::renewals::lock(&txn, &current.renewal_id).await?;
        let Some(after) = before.with_auto_renew(r.auto_renew, now)? else {
            txn.rollback().await?;
            return Ok(convert::renewal(&before, now));
        };
        store::renewals::save(&txn, &after).await?;
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
        let caller = self.caller(&context).await?;
        Self::permit(&caller, &r.account_id, access::B6_VIEW_INVOICES)?;
        let scope = paging::Scope::new("ListRenewals", r.account_id.as_str());
        let page = super::page(&scope, &r.account_id, r.page_size, &r.page_token)?;
        let renewals =
            store::renewals::list(&self.db, &r.account_id, page.after.as_deref(), page.size)
                .await?;
        let next_page_token = paging::next_token(
            &scope,
            renewals.last().map(store::renewals::sort_key).as_deref(),
            renewals.len(),
            page.size,
        );
        let now = Utc::now();
        Ok(pb::ListRenewalsResponse {
            renewals: renewals.iter().map(|r| convert::renewal(r, now)).collect(),
            next_page_token,
        })
    }
}
