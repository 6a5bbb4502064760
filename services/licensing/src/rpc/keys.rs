//! Keys: issuing (L1–L3), visibility (L12), owners and assignments (L4, L5), refresh (L7), and the holdings
//! identity derives personas from and releases on removal (I8, I9).

use chrono::Utc;
use portal_proto::licensing as pb;
use portal_proto::notification::{NoticeKind, SendNoticeRequest as NoticeRequest};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::{FieldViolation, Violations},
    idempotency::{self, Begun, fingerprint},
    new_id, paging,
    time::from_proto,
};
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, Set,
};
use serde_json::json;

use crate::{
    LicensingApi,
    authz::{INTERNAL, ISSUE, KeyAccess},
    convert,
    domain::{self, KeyState, KeyString, LicenseType},
    error::{Error, Result},
    store::{self, KeyScope, assignment, key},
};

/// The most keys one IssueKeys call creates, and the most seats one key has.
const MAX_COUNT: i32 = 1000;
const MAX_SEATS: i32 = 1_000_000;

/// A plausible e-mail address; identity checks it properly and says whether it is a user of the account.
pub(super) fn email(field: &str, raw: &str) -> Result<String, FieldViolation> {
    let email = raw.trim();
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && email.len() <= 254
                && !email.contains(char::is_whitespace) =>
        {
            Ok(email.to_string())
        }
        _ => Err(FieldViolation::new(
            field,
            "must be an e-mail address like name@example.com",
        )),
    }
}

impl LicensingApi {
    /// The key, or — for a portal user — `PERMISSION_DENIED` without revealing whether it exists.
    pub(super) async fn visible_key(
        &self,
        caller: &crate::authz::Caller,
        key_id: &str,
    ) -> Result<key::Model> {
        match store::find_key(&self.db, key_id).await {
            Err(Error::KeyNotFound) if caller.member().is_some() => {
                Err(Error::denied("no such key visible to you"))
            }
            other => other,
        }
    }

    pub(super) async fn issue_keys(
        &self,
        context: CallContext,
        r: pb::IssueKeysRequest,
    ) -> Result<pb::IssueKeysResponse> {
        self.caller(&context)
            .await?
            .require_scope(&[ISSUE, INTERNAL])?;
        let now = Utc::now();
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
        let maintenance_end = r.maintenance_end.as_ref().and_then(from_proto);
        match (license_type, period_end) {
            (Some(LicenseType::Term), None) => v.add("period_end", "a term key needs a period end"),
            (Some(LicenseType::Term), Some(end)) if end <= now => {
                v.add("period_end", "must be in the future")
            }
            (Some(LicenseType::Perpetual), Some(_)) => {
                v.add("period_end", "a perpetual key has no period end")
            }
            _ => {}
        }
        if maintenance_end.is_none() {
            v.add("maintenance_end", "required");
        }
        v.finish().map_err(Error::invalid_fields)?;
        let (Some(family), Some(license_type), Some(maintenance_end)) =
            (family, license_type, maintenance_end)
        else {
            return Err(Error::invalid("request", "incomplete"));
        };
        if self.identity.account(&r.account_id).await?.is_none() {
            return Err(Error::AccountNotFound);
        }
        let hash = fingerprint(
            &pb::IssueKeysRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        let batch_id = new_id("iss");
        let txn = match idempotency::begin(&self.db, "IssueKeys", &r.request_id, &hash, &batch_id)
            .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(batch) => {
                let rows = key::Entity::find()
                    .filter(key::Column::BatchId.eq(batch))
                    .all(&self.db)
                    .await?;
                return Ok(pb::IssueKeysResponse {
                    keys: self.keys_to_proto(&rows).await?,
                });
            }
            Begun::Reused => return Err(Error::request_id_reused()),
        };
        let mut rows = Vec::new();
        for _ in 0..r.count.max(1) {
            // Collisions are astronomically rare (34^18), but a key must be unique: draw again if one happens.
            let mut string = KeyString::generate(family);
            while store::find_key_by_string(&txn, string.as_str())
                .await
                .is_ok()
            {
                string = KeyString::generate(family);
            }
            let row = key::ActiveModel {
                key_id: Set(new_id("key")),
                key: Set(string.as_str().into()),
                account_id: Set(r.account_id.clone()),
                family: Set(family.as_str().into()),
                seats: Set(i64::from(r.seats)),
                license_type: Set(license_type.as_str().into()),
                period_end: Set(period_end),
                maintenance_end: Set(maintenance_end),
                state: Set(KeyState::Active.as_str().into()),
                owner_user_id: Set(None),
                lblm_enabled: Set(r.lblm_enabled),
                deployment_id: Set(None),
                purchase_id: Set((!r.purchase_id.is_empty()).then(|| r.purchase_id.clone())),
                batch_id: Set(batch_id.clone()),
                revision: Set(0),
                create_time: Set(now),
                update_time: Set(now),
            }
            .insert(&txn)
            .await?;
            tracing::info!(key = %string, account_id = %r.account_id, "issued key");
            rows.push(row);
        }
        let last_groups: Vec<&str> = rows.iter().map(|k| &k.key[k.key.len() - 4..]).collect();
        let after = json!({ "family": family.as_str(), "seats": r.seats, "count": rows.len(), "keys": last_groups, "purchase_id": r.purchase_id });
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &r.account_id,
                action: "IssueKeys",
                resource_type: "key_batch",
                resource_id: &batch_id,
                before: None,
                after: Some(after),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(pb::IssueKeysResponse {
            keys: self.keys_to_proto(&rows).await?,
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
        let row = self.visible_key(&caller, &r.key_id).await?;
        let key = self.key_to_proto(&row).await?;
        if !caller.may_see(&row, &key.assignee_emails, &[INTERNAL, ISSUE]) {
            return Err(Error::denied(
                "only Administrators, the key's owner and its assignees see a key",
            ));
        }
        Ok(key)
    }

    pub(super) async fn list_keys(
        &self,
        context: CallContext,
        r: pb::ListKeysRequest,
    ) -> Result<pb::ListKeysResponse> {
        let caller = self.caller(&context).await?;
        let scope = if caller.has_scope(&[INTERNAL, ISSUE]) || caller.is_admin_of(&r.account_id) {
            KeyScope::All
        } else if let Some(m) = caller.member().filter(|m| m.account_id == r.account_id) {
            KeyScope::Holder {
                user_id: m.user_id.clone(),
                email_key: m.email_key(),
            }
        } else {
            return Err(Error::denied("only users of the account list its keys"));
        };
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let page = v.check(paging::parse(r.page_size, &r.page_token, &r.account_id));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(page) = page else {
            return Err(Error::invalid("page_token", "invalid"));
        };
        let rows = store::list_keys(
            &self.db,
            &r.account_id,
            &scope,
            page.after.as_deref(),
            page.size,
        )
        .await?;
        let next_page_token = paging::next_token(
            &r.account_id,
            rows.last().map(|k| k.key_id.as_str()),
            rows.len(),
            page.size,
        );
        Ok(pb::ListKeysResponse {
            keys: self.keys_to_proto(&rows).await?,
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
        let current = self.visible_key(&caller, &r.key_id).await?;
        caller.require_admin_of(&current.account_id, &[INTERNAL])?;
        let owner = if r.owner_user_id.is_empty() {
            None
        } else {
            match self.identity.user(&r.owner_user_id).await? {
                Some(m) if m.account_id == current.account_id => Some(m.user_id),
                _ => return Err(Error::UserNotInAccount),
            }
        };
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let before = store::lock_key(&txn, &current.key_id).await?;
        let mut row = before.clone().into_active_model();
        row.owner_user_id = Set(owner.clone());
        row.update_time = Set(Utc::now());
        let after = row.update(&txn).await?;
        let change = Change {
            account_id: &after.account_id,
            action: "SetKeyOwner",
            resource_type: "key",
            resource_id: &after.key_id,
            before: Some(json!({ "owner_user_id": before.owner_user_id })),
            after: Some(json!({ "owner_user_id": owner })),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        self.key_to_proto(&after).await
    }

    pub(super) async fn assign_key(
        &self,
        context: CallContext,
        r: pb::AssignKeyRequest,
    ) -> Result<pb::ProductKey> {
        let mut v = Violations::default();
        v.require("key_id", &r.key_id);
        let email = v.check(email("email", &r.email));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(email) = email else {
            return Err(Error::invalid("email", "required"));
        };
        let caller = self.caller(&context).await?;
        let current = self.visible_key(&caller, &r.key_id).await?;
        if !caller.may_assign(&current) {
            return Err(Error::denied(
                "Administrators assign any key, owners the keys they own, nobody else",
            ));
        }
        let Some(member) = self
            .identity
            .member_by_email(&current.account_id, &email)
            .await?
        else {
            return Err(Error::UserNotInAccount);
        };
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let row = store::lock_key(&txn, &current.key_id).await?;
        if store::find_assignment(&txn, &row.key_id, &member.email_key())
            .await?
            .is_none()
        {
            let assigned = store::count_assignments(&txn, &row.key_id).await?;
            domain::ensure_seat_free(assigned, u64::try_from(row.seats).unwrap_or(0))?;
            assignment::ActiveModel {
                key_id: Set(row.key_id.clone()),
                account_id: Set(row.account_id.clone()),
                email_key: Set(member.email_key()),
                email: Set(member.email.clone()),
                create_time: Set(Utc::now()),
            }
            .insert(&txn)
            .await?;
            let change = Change {
                account_id: &row.account_id,
                action: "AssignKey",
                resource_type: "key",
                resource_id: &row.key_id,
                before: None,
                after: Some(json!({ "email": member.email })),
            };
            audit::record(&txn, &context, change).await?;
            // N6: the person hears about it through notification's ledger, queued with the assignment.
            let products: Vec<&str> = domain::Family::parse(&row.family)
                .map(|f| f.products().iter().map(|p| p.as_str()).collect())
                .unwrap_or_default();
            let notice = NoticeRequest {
                kind: NoticeKind::KeyAssigned as i32,
                account_id: row.account_id.clone(),
                email: member.email.clone(),
                display_name: member.display_name.clone(),
                fields: [
                    ("key_last_group", &row.key[row.key.len() - 4..]),
                    ("product", products.join(" + ").as_str()),
                    ("user_id", member.user_id.as_str()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
                ..Default::default()
            };
            portal_runtime::outbox::enqueue(&txn, notice).await?;
        }
        txn.commit().await?;
        self.key_to_proto(&row).await
    }

    pub(super) async fn unassign_key(
        &self,
        context: CallContext,
        r: pb::UnassignKeyRequest,
    ) -> Result<pb::ProductKey> {
        let mut v = Violations::default();
        v.require("key_id", &r.key_id);
        let email = v.check(email("email", &r.email));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(email) = email else {
            return Err(Error::invalid("email", "required"));
        };
        let caller = self.caller(&context).await?;
        let current = self.visible_key(&caller, &r.key_id).await?;
        if !caller.may_assign(&current) {
            return Err(Error::denied(
                "Administrators unassign any key, owners the keys they own, nobody else",
            ));
        }
        let email_key = email.to_lowercase();
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        store::lock_key(&txn, &current.key_id).await?;
        let removed = assignment::Entity::delete_many()
            .filter(assignment::Column::KeyId.eq(current.key_id.as_str()))
            .filter(assignment::Column::EmailKey.eq(email_key.as_str()))
            .exec(&txn)
            .await?
            .rows_affected;
        if removed > 0 {
            // L5 (decision): the person's activations on the key go with the assignment.
            let released = store::deactivate_where(
                &txn,
                Condition::all()
                    .add(store::activation::Column::KeyId.eq(current.key_id.as_str()))
                    .add(store::activation::Column::UserEmail.eq(email_key.as_str())),
            )
            .await?;
            let change = Change {
                account_id: &current.account_id,
                action: "UnassignKey",
                resource_type: "key",
                resource_id: &current.key_id,
                before: Some(json!({ "email": email })),
                after: Some(json!({ "released_activations": released })),
            };
            audit::record(&txn, &context, change).await?;
        }
        txn.commit().await?;
        let row = store::find_key(&self.db, &current.key_id).await?;
        self.key_to_proto(&row).await
    }

    pub(super) async fn refresh_key(
        &self,
        context: CallContext,
        r: pb::RefreshKeyRequest,
    ) -> Result<pb::ProductKey> {
        self.caller(&context)
            .await?
            .require_scope(&[ISSUE, INTERNAL])?;
        let mut v = Violations::default();
        v.require("key_id", &r.key_id);
        let period_end = r.period_end.as_ref().map(|t| {
            from_proto(t).ok_or_else(|| FieldViolation::new("period_end", "out of range"))
        });
        let period_end = period_end.and_then(|p| v.check(p));
        let maintenance_end = r.maintenance_end.as_ref().map(|t| {
            from_proto(t).ok_or_else(|| FieldViolation::new("maintenance_end", "out of range"))
        });
        let maintenance_end = maintenance_end.and_then(|m| v.check(m));
        v.finish().map_err(Error::invalid_fields)?;
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let before = store::lock_key(&txn, &r.key_id).await?;
        let current = domain::key::Refreshed {
            period_end: before.period_end,
            maintenance_end: before.maintenance_end,
        };
        let next = domain::refresh(
            LicenseType::parse(&before.license_type).unwrap_or(LicenseType::Term),
            KeyState::parse(&before.state),
            current,
            period_end,
            maintenance_end,
            Utc::now(),
        )?;
        let mut row = before.clone().into_active_model();
        row.period_end = Set(next.period_end);
        row.maintenance_end = Set(next.maintenance_end);
        row.update_time = Set(Utc::now());
        let after = row.update(&txn).await?;
        let change = Change {
            account_id: &after.account_id,
            action: "RefreshKey",
            resource_type: "key",
            resource_id: &after.key_id,
            before: Some(
                json!({ "period_end": before.period_end, "maintenance_end": before.maintenance_end }),
            ),
            after: Some(
                json!({ "period_end": after.period_end, "maintenance_end": after.maintenance_end }),
            ),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        self.key_to_proto(&after).await
    }

    pub(super) async fn get_holdings(
        &self,
        context: CallContext,
        r: pb::GetHoldingsRequest,
    ) -> Result<pb::GetHoldingsResponse> {
        let caller = self.caller(&context).await?;
        let is_self = caller.member().is_some_and(|m| m.user_id == r.user_id);
        if !(caller.has_scope(&[INTERNAL]) || caller.is_admin_of(&r.account_id) || is_self) {
            return Err(Error::denied(
                "only the user, an Administrator of the account or another service may ask",
            ));
        }
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.require("user_id", &r.user_id);
        v.finish().map_err(Error::invalid_fields)?;
        let email = if r.email.is_empty() {
            match self.identity.user(&r.user_id).await? {
                Some(m) => m.email,
                None => return Err(Error::UserNotFound),
            }
        } else {
            r.email
        };
        let email_key = email.to_lowercase();
        let (owned, assigned) = self
            .holdings
            .get_or_load(
                (r.account_id.clone(), r.user_id.clone(), email_key.clone()),
                store::holdings(&self.db, &r.account_id, &r.user_id, &email_key),
            )
            .await?;
        let clamp = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(pb::GetHoldingsResponse {
            owned_key_count: clamp(owned),
            assigned_key_count: clamp(assigned),
        })
    }

    pub(super) async fn release_holdings(
        &self,
        context: CallContext,
        r: pb::ReleaseHoldingsRequest,
    ) -> Result<pb::ReleaseHoldingsResponse> {
        self.caller(&context).await?.require_scope(&[INTERNAL])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.require("user_id", &r.user_id);
        v.require("email", &r.email);
        v.finish().map_err(Error::invalid_fields)?;
        let email_key = r.email.to_lowercase();
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        let assignments = assignment::Entity::delete_many()
            .filter(assignment::Column::AccountId.eq(r.account_id.as_str()))
            .filter(assignment::Column::EmailKey.eq(email_key.as_str()))
            .exec(&txn)
            .await?
            .rows_affected;
        let activations = store::deactivate_where(
            &txn,
            Condition::all()
                .add(store::activation::Column::AccountId.eq(r.account_id.as_str()))
                .add(store::activation::Column::UserEmail.eq(email_key.as_str())),
        )
        .await?;
        let ownerships = key::Entity::update_many()
            .col_expr(
                key::Column::OwnerUserId,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .filter(key::Column::AccountId.eq(r.account_id.as_str()))
            .filter(key::Column::OwnerUserId.eq(r.user_id.as_str()))
            .exec(&txn)
            .await?
            .rows_affected;
        // I8: a removed user's Creator (and other) seats end with them.
        let site_roles = store::membership::Entity::delete_many()
            .filter(store::membership::Column::AccountId.eq(r.account_id.as_str()))
            .filter(store::membership::Column::EmailKey.eq(email_key.as_str()))
            .exec(&txn)
            .await?
            .rows_affected;
        let after = json!({ "released_assignments": assignments, "cleared_ownerships": ownerships, "released_activations": activations, "ended_site_roles": site_roles });
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &r.account_id,
                action: "ReleaseHoldings",
                resource_type: "user",
                resource_id: &r.user_id,
                before: None,
                after: Some(after),
            },
        )
        .await?;
        txn.commit().await?;
        let clamp = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(pb::ReleaseHoldingsResponse {
            released_assignment_count: clamp(assignments),
            cleared_ownership_count: clamp(ownerships),
            ended_site_role_count: clamp(site_roles),
            released_activation_count: clamp(activations),
        })
    }
}
