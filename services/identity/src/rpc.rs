//! The IdentityService handlers: proto in, authorization and domain rules, store, proto out.

mod contacts;

use futures::future::try_join_all;
use portal_policy::{Holdings, Persona, Subject, decide};
use portal_proto::identity::{self as pb, identity_service_server::IdentityService};
use portal_proto::notification::{NoticeKind, SendNoticeRequest as NoticeRequest};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Begun, fingerprint},
    new_id, outbox, paging,
};
use prost::Message;
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde_json::json;
use tonic::{Request, Response, Status};

use crate::{
    IdentityApi,
    authz::{ADMIN, Caller, INTERNAL},
    convert,
    domain::{self, AccountName, DisplayName, Email, Role, UpdateField, UserState},
    error::{Error, Result},
    store::{self, user},
};

fn respond<T>(result: Result<T>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

impl IdentityApi {
    async fn caller(&self, context: &CallContext) -> Result<Caller> {
        Caller::resolve(&self.db, &self.users, context.principal.clone()).await
    }

    /// A user row the caller may see, or — for portal users — `PERMISSION_DENIED` without revealing whether
    /// it exists (authorization before existence).
    async fn visible_user(&self, caller: &Caller, user_id: &str) -> Result<user::Model> {
        match self.users.find(&self.db, user_id).await {
            Err(Error::UserNotFound) if caller.user().is_some() => {
                Err(Error::denied("no such user in your account"))
            }
            other => other,
        }
    }

    /// I9: derived at read time; Download Only users need licensing's key facts. Removed users have none.
    async fn persona(&self, row: &user::Model) -> Result<Option<Persona>> {
        if !store::is_active(row) {
            return Ok(None);
        }
        let role = store::role_of(row);
        let holdings = if Persona::needs_holdings(role) {
            self.licensing
                .holdings(&row.account_id, &row.user_id, &row.email)
                .await?
        } else {
            Holdings::default()
        };
        Ok(Some(Persona::derive(role, holdings)))
    }

    async fn create_account(
        &self,
        context: CallContext,
        r: pb::CreateAccountRequest,
    ) -> Result<pb::Account> {
        self.caller(&context).await?.require_scope(&[ADMIN])?;
        let name = AccountName::parse(&r.name)?;
        let hash = fingerprint(
            &pb::CreateAccountRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        let account_id = new_id("acc");
        let txn =
            match idempotency::begin(&self.db, "CreateAccount", &r.request_id, &hash, &account_id)
                .await?
            {
                Begun::Fresh(txn) => txn,
                Begun::Replay(id) => {
                    return Ok(convert::account(&store::find_account(&self.db, &id).await?));
                }
                Begun::Reused => return Err(Error::request_id_reused()),
            };
        let row = store::insert_account(&txn, &account_id, name.as_str(), r.academic).await?;
        let after = json!({ "name": row.name, "academic": row.academic });
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &account_id,
                action: "CreateAccount",
                resource_type: "account",
                resource_id: &account_id,
                before: None,
                after: Some(after),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(convert::account(&row))
    }

    async fn get_account(
        &self,
        context: CallContext,
        r: pb::GetAccountRequest,
    ) -> Result<pb::Account> {
        let caller = self.caller(&context).await?;
        if !(caller.has_scope(&[ADMIN, INTERNAL]) || caller.is_member_of(&r.account_id)) {
            return Err(Error::denied("only users of the account may read it"));
        }
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.finish().map_err(Error::invalid_fields)?;
        Ok(convert::account(
            &store::find_account(&self.db, &r.account_id).await?,
        ))
    }

    async fn create_user(
        &self,
        context: CallContext,
        r: pb::CreateUserRequest,
    ) -> Result<pb::User> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[ADMIN])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let email = v.check(Email::parse("email", &r.email));
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

        let hash = fingerprint(
            &pb::CreateUserRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        let user_id = new_id("usr");
        let txn = match idempotency::begin(
            &self.db,
            &format!("CreateUser:{}", r.account_id),
            &r.request_id,
            &hash,
            &user_id,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(id) => {
                let row = store::find_user(&self.db, &id).await?;
                let persona = self.persona(&row).await?;
                return Ok(convert::user(&row, persona));
            }
            Begun::Reused => return Err(Error::request_id_reused()),
        };
        store::lock_account(&txn, &r.account_id).await?;
        let account = store::find_account(&txn, &r.account_id).await?;
        domain::ensure_portal_access(account.academic)?;
        if store::find_active_by_email(&txn, &account.account_id, email.key())
            .await?
            .is_some()
        {
            return Err(Error::UserExists);
        }
        let now = chrono::Utc::now();
        let row = user::ActiveModel {
            user_id: Set(user_id.clone()),
            account_id: Set(account.account_id.clone()),
            email: Set(email.as_str().into()),
            email_key: Set(email.key().into()),
            display_name: Set(display_name.as_str().into()),
            role: Set(store::role_str(role).into()),
            security_contact: Set(permissions.security_contact),
            technical_contact: Set(permissions.technical_contact),
            case_administrator: Set(permissions.case_administrator),
            state: Set(UserState::Active.as_str().into()),
            create_time: Set(now),
            update_time: Set(now),
            remove_time: Set(None),
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &row.account_id,
                action: "CreateUser",
                resource_type: "user",
                resource_id: &row.user_id,
                before: None,
                after: Some(convert::snapshot(&row)),
            },
        )
        .await?;
        // N6: "you were added" goes out through notification's ledger, queued with the change itself.
        let notice = NoticeRequest {
            kind: NoticeKind::UserAdded as i32,
            account_id: row.account_id.clone(),
            email: row.email.clone(),
            display_name: row.display_name.clone(),
            fields: [
                ("account_name", account.name.as_str()),
                ("role", store::role_str(role)),
                ("user_id", row.user_id.as_str()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            ..Default::default()
        };
        outbox::enqueue(&txn, notice).await?;
        txn.commit().await?;
        // A new user id owns nothing, and assignments by e-mail end when a user is removed (I8), so the persona
        // of a fresh user follows from the role alone.
        let persona = Persona::derive(role, Holdings::default());
        Ok(convert::user(&row, Some(persona)))
    }

    async fn get_user(&self, context: CallContext, r: pb::GetUserRequest) -> Result<pb::User> {
        let mut v = Violations::default();
        v.require("user_id", &r.user_id);
        v.finish().map_err(Error::invalid_fields)?;
        let caller = self.caller(&context).await?;
        let row = match caller.user() {
            // Reading oneself: the row was just read to resolve the caller.
            Some(me) if me.user_id == r.user_id => me.clone(),
            _ => self.visible_user(&caller, &r.user_id).await?,
        };
        if !(caller.has_scope(&[ADMIN, INTERNAL])
            || caller.is_user(&row.user_id)
            || caller.is_admin_of(&row.account_id))
        {
            return Err(Error::denied(
                "only the user themself or an Administrator of their account may read a user",
            ));
        }
        let persona = if r.without_persona {
            None
        } else {
            self.persona(&row).await?
        };
        Ok(convert::user(&row, persona))
    }

    async fn list_users(
        &self,
        context: CallContext,
        r: pb::ListUsersRequest,
    ) -> Result<pb::ListUsersResponse> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[ADMIN, INTERNAL])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let email = if r.email.is_empty() {
            None
        } else {
            v.check(Email::parse("email", &r.email))
        };
        let scope = format!(
            "{}|{}|{}|{}",
            r.account_id,
            r.email.to_lowercase(),
            r.show_removed,
            r.without_persona
        );
        let page = v.check(paging::parse(r.page_size, &r.page_token, &scope));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(page) = page else {
            return Err(Error::invalid("page_token", "invalid"));
        };
        store::find_account(&self.db, &r.account_id).await?;
        let rows = store::list_users(
            &self.db,
            &r.account_id,
            email.as_ref().map(Email::key),
            r.show_removed,
            page.after.as_deref(),
            page.size,
        )
        .await?;
        let personas = if r.without_persona {
            vec![None; rows.len()]
        } else {
            try_join_all(rows.iter().map(|row| self.persona(row))).await?
        };
        let next_page_token = paging::next_token(
            &scope,
            rows.last().map(|u| u.user_id.as_str()),
            rows.len(),
            page.size,
        );
        let users = rows
            .iter()
            .zip(personas)
            .map(|(row, persona)| convert::user(row, persona))
            .collect();
        Ok(pb::ListUsersResponse {
            users,
            next_page_token,
        })
    }

    async fn update_user(
        &self,
        context: CallContext,
        r: pb::UpdateUserRequest,
    ) -> Result<pb::User> {
        let Some(patch) = r.user else {
            return Err(Error::invalid("user", "required"));
        };
        let mut v = Violations::default();
        v.require("user.user_id", &patch.user_id);
        v.finish().map_err(Error::invalid_fields)?;
        let caller = self.caller(&context).await?;
        let current = self.visible_user(&caller, &patch.user_id).await?;
        caller.require_admin_of(&current.account_id, &[ADMIN])?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let email_given = (!patch.email.is_empty()).then_some(patch.email.as_str());
        let fields = domain::parse_update_mask(&paths, email_given, &current.email)?;

        let mut v = Violations::default();
        let display_name = fields
            .contains(&UpdateField::DisplayName)
            .then(|| v.check(DisplayName::parse("user.display_name", &patch.display_name)))
            .flatten();
        let role = fields
            .contains(&UpdateField::Role)
            .then(|| v.check(convert::role("user.role", patch.role)))
            .flatten();
        let permissions = fields
            .contains(&UpdateField::AdditionalPermissions)
            .then(|| {
                v.check(convert::permissions(
                    "user.additional_permissions",
                    &patch.additional_permissions,
                ))
            })
            .flatten();
        v.finish().map_err(Error::invalid_fields)?;

        let txn = portal_runtime::db::begin_write(&self.db).await?;
        store::lock_account(&txn, &current.account_id).await?;
        let before = store::find_user(&txn, &current.user_id).await?;
        if !store::is_active(&before) {
            return Err(Error::UserRemoved);
        }
        let was_admin = store::role_of(&before) == Role::Administrator;
        if was_admin && role == Some(Role::DownloadOnly) {
            domain::ensure_keeps_an_administrator(
                store::count_active_admins(&txn, &before.account_id).await?,
                true,
            )?;
        }
        let mut row = before.clone().into_active_model();
        if let Some(name) = display_name {
            row.display_name = Set(name.as_str().into());
        }
        if let Some(role) = role {
            row.role = Set(store::role_str(role).into());
        }
        if let Some(p) = permissions {
            row.security_contact = Set(p.security_contact);
            row.technical_contact = Set(p.technical_contact);
            row.case_administrator = Set(p.case_administrator);
        }
        row.update_time = Set(chrono::Utc::now());
        let after = row.update(&txn).await?;
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &after.account_id,
                action: "UpdateUser",
                resource_type: "user",
                resource_id: &after.user_id,
                before: Some(convert::snapshot(&before)),
                after: Some(convert::snapshot(&after)),
            },
        )
        .await?;
        txn.commit().await?;
        let persona = self.persona(&after).await?;
        Ok(convert::user(&after, persona))
    }

    async fn remove_user(
        &self,
        context: CallContext,
        r: pb::RemoveUserRequest,
    ) -> Result<pb::RemoveUserResponse> {
        let mut v = Violations::default();
        v.require("user_id", &r.user_id);
        v.finish().map_err(Error::invalid_fields)?;
        let caller = self.caller(&context).await?;
        let current = self.visible_user(&caller, &r.user_id).await?;
        caller.require_admin_of(&current.account_id, &[ADMIN])?;
        if !store::is_active(&current) {
            return Ok(pb::RemoveUserResponse {});
        }
        let is_admin = store::role_of(&current) == Role::Administrator;
        if is_admin {
            // Fail fast, before touching licensing; re-checked under the account lock below.
            domain::ensure_keeps_an_administrator(
                store::count_active_admins(&self.db, &current.account_id).await?,
                true,
            )?;
        }
        // I8: release first, so a licensing outage leaves the user fully in place (the call is idempotent).
        self.licensing
            .release_holdings(&current.account_id, &current.user_id, &current.email)
            .await?;

        let txn = portal_runtime::db::begin_write(&self.db).await?;
        store::lock_account(&txn, &current.account_id).await?;
        let before = store::find_user(&txn, &current.user_id).await?;
        if !store::is_active(&before) {
            return Ok(pb::RemoveUserResponse {});
        }
        if store::role_of(&before) == Role::Administrator {
            domain::ensure_keeps_an_administrator(
                store::count_active_admins(&txn, &before.account_id).await?,
                true,
            )?;
        }
        let mut row = before.clone().into_active_model();
        let now = chrono::Utc::now();
        row.state = Set(UserState::Removed.as_str().into());
        row.remove_time = Set(Some(now));
        row.update_time = Set(now);
        let after = row.update(&txn).await?;
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &after.account_id,
                action: "RemoveUser",
                resource_type: "user",
                resource_id: &after.user_id,
                before: Some(convert::snapshot(&before)),
                after: Some(convert::snapshot(&after)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(pb::RemoveUserResponse {})
    }

    async fn check_access(
        &self,
        context: CallContext,
        r: pb::CheckAccessRequest,
    ) -> Result<pb::CheckAccessResponse> {
        let caller = self.caller(&context).await?;
        if !(caller.has_scope(&[INTERNAL, ADMIN]) || caller.is_user(&r.user_id)) {
            return Err(Error::denied(
                "portal users may only check their own access",
            ));
        }
        let mut v = Violations::default();
        v.require("user_id", &r.user_id);
        v.require("account_id", &r.account_id);
        let action = v.check(convert::action(r.action));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(action) = action else {
            return Err(Error::invalid("action", "required"));
        };
        // A user asking about themselves was just read (and found active) to resolve the caller.
        let found = match caller.user() {
            Some(row) if row.user_id == r.user_id => Ok(row.clone()),
            _ => self.users.find(&self.db, &r.user_id).await,
        };
        let row = match found {
            Ok(row) if row.account_id == r.account_id && store::is_active(&row) => row,
            Ok(_) | Err(Error::UserNotFound) => {
                return Ok(pb::CheckAccessResponse {
                    allowed: false,
                    persona: pb::Persona::Unspecified as i32,
                    reason: "not an active user of the account".into(),
                });
            }
            Err(e) => return Err(e),
        };
        let role = store::role_of(&row);
        let holdings = if Persona::needs_holdings(role) {
            self.licensing
                .holdings(&row.account_id, &row.user_id, &row.email)
                .await?
        } else {
            Holdings::default()
        };
        let decision = decide(
            Subject {
                role,
                holdings,
                case_administrator: row.case_administrator,
            },
            action,
        );
        Ok(pb::CheckAccessResponse {
            allowed: decision.allowed,
            persona: convert::persona_to_proto(decision.persona) as i32,
            reason: decision.reason,
        })
    }

    async fn check_support_eligibility(
        &self,
        context: CallContext,
        r: pb::CheckSupportEligibilityRequest,
    ) -> Result<pb::CheckSupportEligibilityResponse> {
        let caller = self.caller(&context).await?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let email = v.check(Email::parse("email", &r.email));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(email) = email else {
            return Err(Error::invalid("email", "required"));
        };
        let asks_for_self = caller.user().is_some_and(|u| u.email_key == email.key());
        let oversees = caller.user().is_some_and(|u| {
            u.account_id == r.account_id
                && (u.case_administrator || store::role_of(u) == Role::Administrator)
        });
        if !(caller.has_scope(&[INTERNAL, ADMIN]) || asks_for_self || oversees) {
            return Err(Error::denied(
                "only the person themself, a Case Administrator or an Administrator of the account may ask",
            ));
        }
        let account = store::find_account(&self.db, &r.account_id).await?;
        let is_user = store::find_active_by_email(&self.db, &account.account_id, email.key())
            .await?
            .is_some();
        let deployments = if account.academic {
            Vec::new()
        } else {
            self.licensing.deployments(&account.account_id).await?
        };
        let eligibility = domain::support_eligibility(account.academic, is_user, &deployments);
        Ok(pb::CheckSupportEligibilityResponse {
            eligible: eligibility.eligible,
            reason: eligibility.reason.into(),
        })
    }

    async fn list_audit_events(
        &self,
        context: CallContext,
        r: pb::ListAuditEventsRequest,
    ) -> Result<pb::ListAuditEventsResponse> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[ADMIN])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let page = v.check(paging::parse(r.page_size, &r.page_token, &r.account_id));
        v.finish().map_err(Error::invalid_fields)?;
        let Some(page) = page else {
            return Err(Error::invalid("page_token", "invalid"));
        };
        store::find_account(&self.db, &r.account_id).await?;
        let rows = audit::list(&self.db, &r.account_id, page.after.as_deref(), page.size).await?;
        let next_page_token = paging::next_token(
            &r.account_id,
            rows.last().map(|e| e.event_id.as_str()),
            rows.len(),
            page.size,
        );
        let events = rows
            .into_iter()
            .map(|e| pb::AuditEvent {
                before: audit::to_struct(e.before.as_deref()),
                after: audit::to_struct(e.after.as_deref()),
                create_time: Some(portal_runtime::time::to_proto(e.create_time)),
                event_id: e.event_id,
                account_id: e.account_id,
                actor: e.actor,
                action: e.action,
                resource_type: e.resource_type,
                resource_id: e.resource_id,
                request_id: e.request_id,
                trace_id: e.trace_id,
            })
            .collect();
        Ok(pb::ListAuditEventsResponse {
            events,
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(self.create_account(context, request.into_inner()).await)
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.get_account(context, request.into_inner()).await)
    }

    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let context = CallContext::of(&request, &request.get_ref().request_id)?;
        respond(self.create_user(context, request.into_inner()).await)
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.get_user(context, request.into_inner()).await)
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.list_users(context, request.into_inner()).await)
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.update_user(context, request.into_inner()).await)
    }

    async fn remove_user(
        &self,
        request: Request<pb::RemoveUserRequest>,
    ) -> Result<Response<pb::RemoveUserResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.remove_user(context, request.into_inner()).await)
    }

    async fn check_access(
        &self,
        request: Request<pb::CheckAccessRequest>,
    ) -> Result<Response<pb::CheckAccessResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.check_access(context, request.into_inner()).await)
    }

    async fn check_support_eligibility(
        &self,
        request: Request<pb::CheckSupportEligibilityRequest>,
    ) -> Result<Response<pb::CheckSupportEligibilityResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(
            self.check_support_eligibility(context, request.into_inner())
                .await,
        )
    }

    async fn list_points_of_contact(
        &self,
        request: Request<pb::ListPointsOfContactRequest>,
    ) -> Result<Response<contacts::ContactStream>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(
            self.list_points_of_contact(context, request.into_inner())
                .await,
        )
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let context = CallContext::of(&request, "")?;
        respond(self.list_audit_events(context, request.into_inner()).await)
    }
}
