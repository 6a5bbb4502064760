//! I12: identity's audit events, typed, and the log ListAuditEvents reads. Each change records its event in
//! its own transaction; the rows keep the shape they have always had (a user's snapshot names role and state
//! as their column strings).

use portal_runtime::{
    CallContext,
    audit::{self, Change, entity::Model as AuditEvent},
    paging::Page,
};
use sea_orm::{ActiveEnum, ConnectionTrait};
use serde_json::{Value, json};

use crate::{
    app::Identity,
    domain::{Account, User},
    error::Result,
    store::{
        self,
        user::{RoleColumn, StateColumn},
    },
};

/// A change identity records (I12).
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    AccountCreated(&'a Account),
    UserCreated(&'a User),
    UserUpdated { before: &'a User, after: &'a User },
    UserRemoved { before: &'a User, after: &'a User },
}

impl<'a> Event<'a> {
    /// The audit row this event is.
    fn change(self) -> Change<'a> {
        match self {
            Event::AccountCreated(account) => Change {
                account_id: &account.account_id,
                action: "CreateAccount",
                resource_type: "account",
                resource_id: &account.account_id,
                before: None,
                after: Some(json!({ "name": account.name, "academic": account.academic })),
            },
            Event::UserCreated(user) => user_change("CreateUser", None, user),
            Event::UserUpdated { before, after } => user_change("UpdateUser", Some(before), after),
            Event::UserRemoved { before, after } => user_change("RemoveUser", Some(before), after),
        }
    }

    /// Records the event as `context`'s, in the transaction `txn` of the change.
    pub async fn record<C: ConnectionTrait>(self, txn: &C, context: &CallContext) -> Result<()> {
        Ok(audit::record(txn, context, self.change()).await?)
    }
}

fn user_change<'a>(action: &'a str, before: Option<&User>, after: &'a User) -> Change<'a> {
    Change {
        account_id: &after.account_id,
        action,
        resource_type: "user",
        resource_id: &after.user_id,
        before: before.map(snapshot),
        after: Some(snapshot(after)),
    }
}

/// A user as the audit log shows them before and after a change.
fn snapshot(user: &User) -> Value {
    json!({
        "user_id": user.user_id,
        "account_id": user.account_id,
        "email": user.email,
        "display_name": user.display_name,
        "role": RoleColumn::from(user.role).to_value(),
        "security_contact": user.permissions.security_contact,
        "technical_contact": user.permissions.technical_contact,
        "case_administrator": user.permissions.case_administrator,
        "state": StateColumn::from(user.state).to_value(),
        "create_time": user.create_time,
        "update_time": user.update_time,
        "remove_time": user.remove_time,
    })
}

impl Identity {
    /// I12: one page of an existing account's audit events, oldest first.
    pub async fn audit_events(&self, account_id: &str, page: &Page) -> Result<Vec<AuditEvent>> {
        store::find_account(&self.db, account_id).await?;
        store::audit_events(&self.db, account_id, page.after.as_deref(), page.size).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::Utc;

    use super::*;
    use crate::domain::{Role, account::tests::account, user::tests::user};

    #[test]
    fn i12_a_user_change_records_both_snapshots_with_column_strings() {
        let before = user(Role::Administrator);
        let after = before.removed(2, Utc::now()).unwrap().unwrap();
        let change = Event::UserRemoved {
            before: &before,
            after: &after,
        }
        .change();
        assert_eq!(
            (change.action, change.resource_type, change.resource_id),
            ("RemoveUser", "user", "usr-1")
        );
        assert_eq!(change.before.unwrap()["state"], "ACTIVE");
        let after = change.after.unwrap();
        assert_eq!(
            (&after["role"], &after["state"]),
            (&json!("ADMINISTRATOR"), &json!("REMOVED"))
        );
        assert_eq!(Event::UserCreated(&before).change().before, None);
    }

    #[test]
    fn i12_an_account_creation_records_its_name_and_flag() {
        let account = account(false);
        let change = Event::AccountCreated(&account).change();
        assert_eq!(
            (change.action, change.resource_type),
            ("CreateAccount", "account")
        );
        assert_eq!(
            change.after,
            Some(json!({ "name": "Acme", "academic": false }))
        );
    }
}
