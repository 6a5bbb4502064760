//! I12: the pages ListAuditEvents reads. The events themselves are typed and recorded by `crate::app`, in the
//! transaction of each change.

use portal_runtime::audit::{self, entity::Model as AuditEvent};
use sea_orm::ConnectionTrait;

use crate::error::Result;

/// One page of an account's audit events, oldest first, after event id `after`.
pub async fn audit_events<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<AuditEvent>> {
    Ok(audit::list(db, account_id, after, limit).await?)
}
