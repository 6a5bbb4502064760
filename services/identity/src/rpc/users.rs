//! CreateUser, GetUser, ListUsers, UpdateUser and RemoveUser (I2–I8): requests become [`NewUser`] and
//! [`UserPatch`] commands, the domain decides, the store persists, every change is audited (I12).

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use portal_policy::Holdings;
use portal_proto::identity as pb;
use portal_proto::notification::{NoticeKind, SendNoticeRequest as NoticeRequest};
use portal_runtime::{
    CallContext,
    db::begin_write,
    error::{FieldViolation, Violations},
    idempotency::{self, Claim},
    new_id, outbox, paging,
};

use super::convert;
use crate::{
    IdentityApi,
    domain::{
        Account, DisplayName, Email, NewUser, UpdateField, User, UserPatch, access,
        parse_update_mask,
    },
    error::{Error, Result},
    store::{self, LockedUser, UserFilter},
};

/// Persona lookups (I9) one ListUsers page makes at once.
const PERSONA_LOOKUPS: usize = 8;

impl TryFrom<pb::CreateUserRequest> for NewUser {
    type Error = Error;

    /// Every invalid field at once. A blank display name defaults to the address.
    fn try_from(r: pb::CreateUserRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let email = v.check(Email::parse(&r.email).map_err(FieldViolation::of("email")));
        let display_name = match r.display_name.trim() {
            "" => email
                .as_ref()
                .and_then(|e| DisplayName::parse("display_name", e.as_str()).ok()),
            name => v.check(DisplayName::parse("display_name", name)),
        };
        let role = v.check(convert::role("role", r.role));
        let permissions = v.check(convert::permissions(
            "additional_permissions",
            &r.additional_permissions,
        ));
        v.finish().map_err(Error::invalid_fields)?;
        let (Some(email), Some(display_name), Some(role), Some(permissions)) =
            (email, display_name, role, permissions)
        else {
            return Err(Error::invalid("request", "incomplete"));
        };
        Ok(NewUser {
            account_id: r.account_id,
            email,
            display_name,
            role,
            permissions,
        })
    }
}

/// UpdateUser's `user` and `update_mask` as a command (I5): the fields the mask names, every invalid one at once.
fn user_patch(paths: &[String], patch: &pb::User, current_email: &str) -> Result<UserPatch> {
    let email_given = (!patch.email.is_empty()).then_some(patch.email.as_str());
    let fields = parse_update_mask(paths, email_given, current_email)?;
    let mut v = Violations::default();
    let touches = |field| fields.contains(&field);
    let parsed = UserPatch {
        display_name: touches(UpdateField::DisplayName)
            .then(|| v.check(DisplayName::parse("user.display_name", &patch.display_name)))
            .flatten(),
        role: touches(UpdateField::Role)
            .then(|| v.check(convert::role("user.role", patch.role)))
            .flatten(),
        permissions: touches(UpdateField::AdditionalPermissions)
            .then(|| {
                v.check(convert::permissions(
                    "user.additional_permissions",
                    &patch.additional_permissions,
                ))
            })
            .flatten(),
    };
    v.finish().map_err(Error::invalid_fields)?;
    Ok(parsed)
}

/// N6: "you were added", queued with the change itself for notification's ledger.
fn user_added_notice(account: &Account, user: &User) -> NoticeRequest {
    NoticeRequest {
        kind: NoticeKind::UserAdded as i32,
        account_id: user.account_id.clone(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        fields: [
            ("account_name", account.name.as_str()),
            ("role", convert::role_name(user.role)),
            ("user_id", user.user_id.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    }
}

impl IdentityApi {
    pub(super) async fn create_user(
        &self,
        context: CallContext,
        r: pb::CreateUserRequest,
    ) -> Result<pb::User> {
        access::ensure_may_manage_users(&*self.caller(&context).await?, &r.account_id)?;
        let new_user = NewUser::try_from(r.clone())?;
        let user_id = new_id("usr");
        let operation = format!("CreateUser:{}", r.account_id);
        let txn = match idempotency::claim(&self.db, &operation, &r, &user_id).await? {
            Claim::Fresh(txn) => txn,
            Claim::Replay(id) => {
                let user = store::find_user(&self.db, &id).await?;
                let persona = self.persona(&user).await?;
                return Ok(convert::user(&user, persona));
            }
        };
        let account = store::lock_account(&txn, &new_user.account_id).await?;
        let taken = store::has_active_user(&txn, &account.account_id, new_user.email.key()).await?;
        let user = new_user.admit(&account, taken, user_id, Utc::now())?;
        let user = store::insert_user(&txn, &user).await?;
        store::record_user_change(&txn, &context, "CreateUser", None, &user).await?;
        outbox::enqueue(&txn, user_added_notice(&account, &user)).await?;
        txn.commit().await?;
        // A new user id owns nothing, and assignments by e-mail end when a user is removed (I8), so the persona
        // of a fresh user follows from the role alone.
        Ok(convert::user(&user, user.persona(Holdings::default())))
    }

    pub(super) async fn get_user(
        &self,
        context: CallContext,
        r: pb::GetUserRequest,
    ) -> Result<pb::User> {
        super::require("user_id", &r.user_id)?;
        let caller = self.caller(&context).await?;
        let user = match caller.own(&r.user_id) {
            // Reading oneself: the row was just read to resolve the caller.
            Some(me) => me.clone(),
            None => {
                self.visible_user(
                    &caller,
                    &r.user_id,
                    access::READ_USER_SCOPES,
                    access::READ_USER_REFUSAL,
                )
                .await?
            }
        };
        access::ensure_may_read_user(&caller, &user)?;
        let persona = if r.without_persona {
            None
        } else {
            self.persona(&user).await?
        };
        Ok(convert::user(&user, persona))
    }

    pub(super) async fn list_users(
        &self,
        context: CallContext,
        r: pb::ListUsersRequest,
    ) -> Result<pb::ListUsersResponse> {
        access::ensure_may_list_users(&*self.caller(&context).await?, &r.account_id)?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let email = if r.email.is_empty() {
            None
        } else {
            v.check(Email::parse(&r.email).map_err(FieldViolation::of("email")))
        };
        let scope = paging::Scope::new(
            "ListUsers",
            format!(
                "{}|{}|{}|{}",
                r.account_id,
                r.email.to_lowercase(),
                r.show_removed,
                r.without_persona
            ),
        );
        let page = super::with_page(v, r.page_size, &r.page_token, &scope)?;
        store::find_account(&self.db, &r.account_id).await?;
        let filter = UserFilter {
            account_id: &r.account_id,
            email_key: email.as_ref().map(Email::key),
            show_removed: r.show_removed,
        };
        let users = store::list_users(&self.db, filter, page.after.as_deref(), page.size).await?;
        let personas = if r.without_persona {
            vec![None; users.len()]
        } else {
            // I9 asks licensing about each Download Only user; a page of a thousand must not become a thousand
            // calls at once (they met licensing's concurrency limit and the whole page failed).
            let lookups: Vec<_> = users.iter().map(|user| self.persona(user)).collect();
            futures::stream::iter(lookups)
                .buffered(PERSONA_LOOKUPS)
                .try_collect()
                .await?
        };
        let last = users.last().map(|u| u.user_id.as_str());
        let next_page_token = paging::next_token(&scope, last, users.len(), page.size);
        Ok(pb::ListUsersResponse {
            users: users
                .iter()
                .zip(personas)
                .map(|(user, persona)| convert::user(user, persona))
                .collect(),
            next_page_token,
        })
    }

    pub(super) async fn update_user(
        &self,
        context: CallContext,
        r: pb::UpdateUserRequest,
    ) -> Result<pb::User> {
        let Some(patch) = r.user else {
            return Err(Error::invalid("user", "required"));
        };
        super::require("user.user_id", &patch.user_id)?;
        let caller = self.caller(&context).await?;
        let current = self
            .visible_user(
                &caller,
                &patch.user_id,
                access::MANAGE_USER_SCOPES,
                access::MANAGE_USERS_REFUSAL,
            )
            .await?;
        access::ensure_may_manage_users(&caller, &current.account_id)?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let patch = user_patch(&paths, &patch, &current.email)?;

        let txn = begin_write(&self.db).await?;
        let LockedUser {
            user: before,
            active_admins,
        } = store::lock_user(&txn, &current.account_id, &current.user_id).await?;
        let after = before.updated(&patch, active_admins, Utc::now())?;
        let after = store::update_user(&txn, &after).await?;
        store::record_user_change(&txn, &context, "UpdateUser", Some(&before), &after).await?;
        txn.commit().await?;
        let persona = self.persona(&after).await?;
        Ok(convert::user(&after, persona))
    }

    pub(super) async fn remove_user(
        &self,
        context: CallContext,
        r: pb::RemoveUserRequest,
    ) -> Result<pb::RemoveUserResponse> {
        super::require("user_id", &r.user_id)?;
        let caller = self.caller(&context).await?;
        let current = self
            .visible_user(
                &caller,
                &r.user_id,
                access::MANAGE_USER_SCOPES,
                access::MANAGE_USERS_REFUSAL,
            )
            .await?;
        access::ensure_may_manage_users(&caller, &current.account_id)?;
        // Fail fast, before touching licensing; decided again under the account lock below.
        let active_admins = store::count_active_admins(&self.db, &current.account_id).await?;
        if current.removed(active_admins, Utc::now())?.is_none() {
            return Ok(pb::RemoveUserResponse {});
        }
        // I8: release first, so a licensing outage leaves the user fully in place (the call is idempotent).
        self.licensing
            .release_holdings(&current.account_id, &current.user_id, &current.email)
            .await?;

        let txn = begin_write(&self.db).await?;
        let LockedUser {
            user: before,
            active_admins,
        } = store::lock_user(&txn, &current.account_id, &current.user_id).await?;
        let Some(after) = before.removed(active_admins, Utc::now())? else {
            return Ok(pb::RemoveUserResponse {});
        };
        let after = store::update_user(&txn, &after).await?;
        store::record_user_change(&txn, &context, "RemoveUser", Some(&before), &after).await?;
        txn.commit().await?;
        Ok(pb::RemoveUserResponse {})
    }
}
