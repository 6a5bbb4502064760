//! Renewals (B8): CreateRenewalInvoice, SetAutoRenew and ListRenewals, translated to and from `app::renewals`.

use chrono::Utc;
use portal_proto::billing as pb;
use portal_runtime::{CallContext, error::Violations, paging, time::from_proto};

use super::{PageAsked, convert};
use crate::{
    BillingApi,
    app::{
        RequestKey,
        renewals::{self, NewRenewal},
    },
    domain::{
        calendar::whole_seconds,
        renewal::{DEFAULT_TERM_MONTHS, MAX_TERM_MONTHS, Terms},
    },
    error::{Error, Result},
    store,
};

/// The most keys one renewal covers.
const MAX_KEYS: usize = 1000;

/// A CreateRenewalInvoice request, checked (B8): the renewal's terms (its date in the future, in whole seconds
/// like every date billing derives key dates from) and what its invoice bills.
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

impl BillingApi {
    pub(super) async fn create_renewal_invoice(
        &self,
        context: CallContext,
        r: pb::CreateRenewalInvoiceRequest,
    ) -> Result<pb::Renewal> {
        let caller = self.caller(&context).await?;
        let key = RequestKey::of(&r);
        let renewal = renewals::create(self, &context, &caller, &key, &r).await?;
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
        let now = Utc::now();
        let renewal =
            renewals::set_auto_renew(self, &context, &caller, &r.renewal_id, r.auto_renew, now)
                .await?;
        Ok(convert::renewal(&renewal, now))
    }

    pub(super) async fn list_renewals(
        &self,
        context: CallContext,
        r: pb::ListRenewalsRequest,
    ) -> Result<pb::ListRenewalsResponse> {
        let caller = self.caller(&context).await?;
        let scope = paging::Scope::new("ListRenewals", r.account_id.as_str());
        let asked = PageAsked {
            scope: &scope,
            account_id: &r.account_id,
            page_size: r.page_size,
            page_token: &r.page_token,
        };
        let (renewals, page) = renewals::list(self, &caller, &r.account_id, asked).await?;
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
