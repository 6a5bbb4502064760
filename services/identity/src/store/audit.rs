//! I12: the audit records of identity's changes, in the shape they have always been stored in (a user's
//! snapshot names role and state as their column strings), and the pages ListAuditEvents reads.

use portal_runtime::{
    CallContext,
    audit::{self, Change, entity::Model as AuditEvent},
};
use sea_orm::{ActiveEnum, ConnectionTrait};
use serde_json::{Value, json};

use crate::{
    domain::{Account, User},
    error::Result,
    store::user::{RoleColumn, StateColumn},
};

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

/// Records the account's creation, in the transaction that creates it.
pub async fn record_account_created<C: ConnectionTrait>(
    txn: &C,
    context: &CallContext,
    account: &Account,
) -> Result<()> {
    let change = Change {
        account_id: &account.account_id,
        action: "CreateAccount",
        resource_type: "account",
        resource_id: &account.account_id,
        before: None,
        after: Some(json!({ "name": account.name, "academic": account.academic })),
    };
    Ok(audit::record(txn, context, change).await?)
}

/// Records `action` on a user (CreateUser has no `before`), in the transaction of the change.
pub async fn record_user_change<C: ConnectionTrait>(
    txn: &C,
    context: &CallContext,
    action: &str,
    before: Option<&User>,
    after: &User,
) -> Result<()> {
    let change = Change {
        account_id: &after.account_id,
        action,
        resource_type: "user",
        resource_id: &after.user_id,
        before: before.map(snapshot),
        after: Some(snapshot(after)),
    };
    Ok(audit::record(txn, context, change).await?)
}

/// One page of an account's audit events, oldest first, after event id `after`.
pub async fn audit_events<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<AuditEvent>> {
    Ok(audit::list(db, account_id, after, limit).await?)
}
