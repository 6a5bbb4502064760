//! CreateUser, GetUser, ListUsers, UpdateUser and RemoveUser (I2–I8): requests become [`NewUser`],
//! [`UserPatch`] and `app` commands, `app::users` carries them out, and its users become protobuf.

use portal_proto::identity as pb;
use portal_runtime::{
    CallContext,
    error::{FieldViolation, Violations},
    paging,
};

use super::convert;
use crate::{
    IdentityApi,
    app::{CreateUser, ListUsers, RequestKey, Shown},
    domain::{
        DisplayName, Email, NewUser, UpdateField, User, UserPatch, access, parse_update_mask,
    },
    error::{Error, Result},
};

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

fn user(shown: &Shown) -> pb::User {
    convert::user(&shown.user, shown.persona)
}

impl IdentityApi {
    pub(super) async fn create_user(
        &self,
        context: CallContext,
        r: pb::CreateUserRequest,
    ) -> Result<pb::User> {
        access::ensure_may_manage_users(&*self.app.caller(&context).await?, &r.account_id)?;
        let key = RequestKey::of(&r);
        let cmd = CreateUser {
            user: NewUser::try_from(r)?,
            key,
        };
        Ok(user(&self.app.create_user(&context, cmd).await?))
    }

    pub(super) async fn get_user(
        &self,
        context: CallContext,
        r: pb::GetUserRequest,
    ) -> Result<pb::User> {
        super::require("user_id", &r.user_id)?;
        let caller = self.app.caller(&context).await?;
        let shown = self
            .app
            .user(&caller, &r.user_id, !r.without_persona)
            .await?;
        Ok(user(&shown))
    }

    pub(super) async fn list_users(
        &self,
        context: CallContext,
        r: pb::ListUsersRequest,
    ) -> Result<pb::ListUsersResponse> {
        access::ensure_may_list_users(&*self.app.caller(&context).await?, &r.account_id)?;
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
        let cmd = ListUsers {
            account_id: r.account_id,
            email,
            show_removed: r.show_removed,
            with_persona: !r.without_persona,
        };
        let users = self.app.users(&cmd, &page).await?;
        let last = users.last().map(|u| u.user.user_id.as_str());
        let next_page_token = paging::next_token(&scope, last, users.len(), page.size);
        Ok(pb::ListUsersResponse {
            users: users.iter().map(user).collect(),
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
        let caller = self.app.caller(&context).await?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let parse = |current: &User| user_patch(&paths, &patch, &current.email);
        let updated = self
            .app
            .update_user(&caller, &context, &patch.user_id, parse)
            .await?;
        Ok(user(&updated))
    }

    pub(super) async fn remove_user(
        &self,
        context: CallContext,
        r: pb::RemoveUserRequest,
    ) -> Result<pb::RemoveUserResponse> {
        super::require("user_id", &r.user_id)?;
        let caller = self.app.caller(&context).await?;
        self.app.remove_user(&caller, &context, &r.user_id).await?;
        Ok(pb::RemoveUserResponse {})
    }
}
