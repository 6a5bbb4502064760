//! Keys: issuing (L1–L3), reading them by visibility (L12), owners (L4) and refresh (L7).

use chrono::Utc;
use portal_clients::caller::ADMIN_ONLY;
use portal_proto::licensing as pb;
use portal_runtime::{
    CallContext,
    auth::INTERNAL_SCOPE,
    error::{FieldViolation, Violations},
    paging,
    time::from_proto,
};

use super::{checked, convert};
use crate::{
    LicensingApi, app,
    domain::{
        self, NewKeys,
        access::{ISSUE, KeyAccess, SEE_KEY_REFUSAL},
        refresh::KeyRefresh,
    },
    error::{Error, Result},
    store,
};

/// The most keys one IssueKeys call creates, and the most seats one key has.
const MAX_COUNT: i32 = 100;
const MAX_SEATS: i32 = 1_000_000;

impl TryFrom<pb::IssueKeysRequest> for NewKeys {
    type Error = Error;

    fn try_from(r: pb::IssueKeysRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let family = v.check(convert::family("family", r.family));
        let license_type = v.check(convert::license_type("license_type", r.license_type));
        if !(1..=MAX_SEATS).contains(&r.seats) {
            v.add("seats", format!("must be between 1 and {MAX_SEATS}"));
        }
        if !(0..=MAX_COUNT).contains(&r.count) {
            v.add(
                "count",
                format!("must be between 1 and {MAX_COUNT} (0 means 1)"),
            );
        }
        let period_end = r.period_end.as_ref().and_then(from_proto);
        if let Some(license_type) = license_type {
            v.check(domain::key::check_period(
                license_type,
                period_end,
                Utc::now(),
            ));
        }
        let maintenance_end = r.maintenance_end.as_ref().and_then(from_proto);
        if maintenance_end.is_none() {
            v.add("maintenance_end", "required");
        }
        v.finish().map_err(Error::invalid_fields)?;
        Ok(NewKeys {
            family: checked(family, "family")?,
            license_type: checked(license_type, "license_type")?,
            maintenance_end: checked(maintenance_end, "maintenance_end")?,
            seats: u64::from(r.seats.unsigned_abs()),
            count: r.count.max(1).unsigned_abs(),
            period_end,
            lblm_enabled: r.lblm_enabled,
            purchase_id: (!r.purchase_id.is_empty()).then_some(r.purchase_id),
            account_id: r.account_id,
        })
    }
}

impl TryFrom<pb::RefreshKeyRequest> for KeyRefresh {
    type Error = Error;

    fn try_from(r: pb::RefreshKeyRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("key_id", &r.key_id);
        let mut date = |field: &str, t: &Option<prost_types::Timestamp>| {
            t.as_ref().and_then(|t| {
                v.check(from_proto(t).ok_or_else(|| FieldViolation::new(field, "out of range")))
            })
        };
        let period_end = date("period_end", &r.period_end);
        let maintenance_end = date("maintenance_end", &r.maintenance_end);
        v.finish().map_err(Error::invalid_fields)?;
        Ok(KeyRefresh {
            key_id: r.key_id,
            period_end,
            maintenance_end,
        })
    }
}

impl LicensingApi {
    pub(super) async fn issue_keys(
        &self,
        context: CallContext,
        r: pb::IssueKeysRequest,
    ) -> Result<pb::IssueKeysResponse> {
        let new: NewKeys = self
            .issue_command(&context, &r, |n: &NewKeys| &n.account_id)
            .await?;
        let keys = app::keys::issue(&self.db, &context, &new, &r).await?;
        Ok(pb::IssueKeysResponse {
            keys: self.keys_to_proto(&keys).await?,
        })
    }

    pub(super) async fn get_key(
        &self,
        context: CallContext,
        r: pb::GetKeyRequest,
    ) -> Result<pb::ProductKey> {
        let mut v = Violations::default();
        v.require("key_id", &r.key_id);
        v.finish().map_err(Error::invalid_fields)?;
        let caller = self.caller(&context).await?;
        let key = self
            .visible_key(
                &caller,
                &r.key_id,
                &[INTERNAL_SCOPE, ISSUE],
                SEE_KEY_REFUSAL,
            )
            .await?;
        let shown = self.key_to_proto(&key).await?;
        if !caller.may_see(&key, &shown.assignee_emails, &[INTERNAL_SCOPE, ISSUE]) {
            return Err(Error::denied(SEE_KEY_REFUSAL));
        }
        Ok(shown)
    }

    pub(super) async fn list_keys(
        &self,
        context: CallContext,
        r: pb::ListKeysRequest,
    ) -> Result<pb::ListKeysResponse> {
        let visible = self.caller(&context).await?.key_scope(&r.account_id)?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let list = paging::Scope::new("ListKeys", r.account_id.as_str());
        let page = v.check(paging::parse(r.page_size, &r.page_token, &list));
        v.finish().map_err(Error::invalid_fields)?;
        let page = checked(page, "page_token")?;
        let keys = store::keys::list_keys(
            &self.db,
            &r.account_id,
            &visible,
            page.after.as_deref(),
            page.size,
        )
        .await?;
        let next_page_token = paging::next_token(
            &list,
            keys.last().map(|k| k.key_id.as_str()),
            keys.len(),
            page.size,
        );
        Ok(pb::ListKeysResponse {
            keys: self.keys_to_proto(&keys).await?,
            next_page_token,
        })
    }

    pub(super) async fn set_key_owner(
        &self,
        context: CallContext,
        r: pb::SetKeyOwnerRequest,
    ) -> Result<pb::ProductKey> {
        let mut v = Violations::default();
        v.require("key_id", &r.key_id);
        v.finish().map_err(Error::invalid_fields)?;
        let caller = self.caller(&context).await?;
        let current = self
            .visible_key(&caller, &r.key_id, &[INTERNAL_SCOPE], ADMIN_ONLY)
            .await?;
        caller.require_admin_of(&current.account_id, &[INTERNAL_SCOPE])?;
        let owner = (!r.owner_user_id.is_empty()).then_some(r.owner_user_id.as_str());
        let after =
            app::keys::set_owner(&self.db, &self.identity, &context, &current, owner).await?;
        self.key_to_proto(&after).await
    }

    pub(super) async fn refresh_key(
        &self,
        context: CallContext,
        r: pb::RefreshKeyRequest,
    ) -> Result<pb::ProductKey> {
        self.caller(&context)
            .await?
            .require_scope(&[ISSUE, INTERNAL_SCOPE])?;
        let asked = KeyRefresh::try_from(r)?;
        let after = app::keys::refresh(&self.db, &context, &asked).await?;
        self.key_to_proto(&after).await
    }
}
