//! CreateUser, GetUser, ListUsers, UpdateUser and RemoveUser (I2–I8): each change is decided by the domain on
//! the rows read under the account's lock, written by the store and audited (I12) in one transaction.

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use portal_policy::{Holdings, Persona};
use portal_proto::notification::{NoticeKind, SendNoticeRequest as NoticeRequest};
use portal_runtime::{
    CallContext,
    db::begin_write,
    idempotency::{self, Claim},
    new_id, outbox,
    paging::Page,
};

use crate::{
    app::{Calling, Identity, RequestKey, audit::Event},
    domain::{Account, Email, NewUser, Role, User, UserPatch, access},
    error::Result,
    store::{self, LockedUser, UserFilter},
};

/// Persona lookups (I9) one ListUsers page makes at once.
const PERSONA_LOOKUPS: usize = 8;

/// CreateUser as a command: the user to add, and what makes its request idempotent.
#[derive(Debug, Clone)]
pub struct CreateUser {
    pub user: NewUser,
    pub key: RequestKey,
}

/// ListUsers as a command: which users of the account, and whether to derive their personas.
#[derive(Debug, Clone)]
pub struct ListUsers {
    pub account_id: String,
    /// Only the users with this address.
    pub email: Option<Email>,
    pub show_removed: bool,
    pub with_persona: bool,
}

/// A user as an answer shows them: with their persona (I9), unless it was not asked for or they are removed.
#[derive(Debug, Clone)]
pub struct Shown {
    pub user: User,
    pub persona: Option<Persona>,
}

/// The role as the "you were added" notice names it (the words of I3).
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Administrator => "ADMINISTRATOR",
        Role::DownloadOnly => "DOWNLOAD_ONLY",
    }
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
            ("role", role_name(user.role)),
            ("user_id", user.user_id.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    }
}

impl Identity {
    /// I1, I2, I12, N6: adds the user once per request id and queues their "you were added" notice with the
    /// change; a replay answers with the user the first call added.
    pub async fn create_user(&self, context: &CallContext, cmd: CreateUser) -> Result<Shown> {
        let CreateUser {
            user: new_user,
            key,
        } = cmd;
        let user_id = new_id("usr");
        let operation = format!("CreateUser:{}", new_user.account_id);
        let txn = match idempotency::claim_key(&self.db, &operation, &key, &user_id).await? {
            Claim::Fresh(txn) => txn,
            Claim::Replay(id) => {
                let user = store::find_user(&self.db, &id).await?;
                return self.shown(user, true).await;
            }
        };
        let account = store::lock_account(&txn, &new_user.account_id).await?;
        let taken = store::has_active_user(&txn, &account.account_id, new_user.email.key()).await?;
        let user = new_user.admit(&account, taken, user_id, Utc::now())?;
        let user = store::insert_user(&txn, &user).await?;
        Event::UserCreated(&user).record(&txn, context).await?;
        outbox::enqueue(&txn, user_added_notice(&account, &user)).await?;
        txn.commit().await?;
        // A new user id owns nothing, and assignments by e-mail end when a user is removed (I8), so the persona
        // of a fresh user follows from the role alone.
        let persona = user.persona(Holdings::default());
        Ok(Shown { user, persona })
    }

    /// I6: the user `user_id`, if `caller` may read them; unknown users are refused alike.
    pub async fn user(&self, caller: &Calling, user_id: &str, with_persona: bool) -> Result<Shown> {
        let user = match caller.own(user_id) {
            // Reading oneself: the row was just read to resolve the caller.
            Some(me) => me.clone(),
            None => {
                self.visible_user(
                    caller,
                    user_id,
                    access::READ_USER_SCOPES,
                    access::READ_USER_REFUSAL,
                )
                .await?
            }
        };
        access::ensure_may_read_user(caller, &user)?;
        self.shown(user, with_persona).await
    }

    /// A page of an existing account's users, in creation order.
    pub async fn users(&self, cmd: &ListUsers, page: &Page) -> Result<Vec<Shown>> {
        store::find_account(&self.db, &cmd.account_id).await?;
        let filter = UserFilter {
            account_id: &cmd.account_id,
            email_key: cmd.email.as_ref().map(Email::key),
            show_removed: cmd.show_removed,
        };
        let users = store::list_users(&self.db, filter, page.after.as_deref(), page.size).await?;
        // I9 asks licensing about each Download Only user; a page of a thousand must not become a thousand
        // calls at once (they met licensing's concurrency limit and the whole page failed).
        let lookups: Vec<_> = users
            .into_iter()
            .map(|user| self.shown(user, cmd.with_persona))
            .collect();
        futures::stream::iter(lookups)
            .buffered(PERSONA_LOOKUPS)
            .try_collect()
            .await
    }

    /// I5, I6, I7, I12: changes the user `user_id` as `patch` reads the request against them (I5 compares the
    /// address with theirs), if `caller` may manage them.
    pub async fn update_user(
        &self,
        caller: &Calling,
        context: &CallContext,
        user_id: &str,
        patch: impl FnOnce(&User) -> Result<UserPatch>,
    ) -> Result<Shown> {
        let current = self.user_to_manage(caller, user_id).await?;
        let patch = patch(&current)?;

        let txn = begin_write(&self.db).await?;
        let LockedUser {
            user: before,
            active_admins,
        } = store::lock_user(&txn, &current.account_id, &current.user_id).await?;
        let after = before.updated(&patch, active_admins, Utc::now())?;
        let after = store::update_user(&txn, &after).await?;
        Event::UserUpdated {
            before: &before,
            after: &after,
        }
        .record(&txn, context)
        .await?;
        txn.commit().await?;
        self.shown(after, true).await
    }

    /// I6, I7, I8, I12: removes the user `user_id`, if `caller` may manage them: their key holdings are released
    /// first, then the row is kept as removed. Removing a removed user changes nothing.
    pub async fn remove_user(
        &self,
        caller: &Calling,
        context: &CallContext,
        user_id: &str,
    ) -> Result<()> {
        let current = self.user_to_manage(caller, user_id).await?;
        // Fail fast, before touching licensing; decided again under the account lock below.
        let active_admins = store::count_active_admins(&self.db, &current.account_id).await?;
        if current.removed(active_admins, Utc::now())?.is_none() {
            return Ok(());
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
            return Ok(());
        };
        let after = store::update_user(&txn, &after).await?;
        Event::UserRemoved {
            before: &before,
            after: &after,
        }
        .record(&txn, context)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// I6: the user `user_id`, if `caller` may add, change or remove users of their account; an unknown user is
    /// refused as one of another account is.
    async fn user_to_manage(&self, caller: &Calling, user_id: &str) -> Result<User> {
        let user = self
            .visible_user(
                caller,
                user_id,
                access::MANAGE_USER_SCOPES,
                access::MANAGE_USERS_REFUSAL,
            )
            .await?;
        access::ensure_may_manage_users(caller, &user.account_id)?;
        Ok(user)
    }

    /// The user with their persona (I9) when `with_persona`.
    async fn shown(&self, user: User, with_persona: bool) -> Result<Shown> {
        let persona = if with_persona {
            self.persona(&user).await?
        } else {
            None
        };
        Ok(Shown { user, persona })
    }
}
