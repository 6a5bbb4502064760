//! The billing use cases, one file per resource: each takes a typed command and the caller, owns the
//! transaction, the idempotency claim, the audit event (`audit`) and the order of the domain's decisions and the
//! store's writes, and returns domain types. The RPC handlers (`crate::rpc`) and the background loop
//! (`crate::jobs`) both call them; neither touches a transaction.

pub(crate) mod audit;
pub(crate) mod auto_renew;
pub(crate) mod catalog;
pub(crate) mod fulfilment;
pub(crate) mod invoices;
pub(crate) mod payments;
pub(crate) mod purchases;
pub(crate) mod renewals;

use portal_clients::{Caller, ClientError};
pub use portal_runtime::idempotency::RequestKey;

use crate::{
    BillingApi,
    domain::{self, Answer, access::Permit},
    error::{Error, Result},
    store,
};

/// B6: the caller may do what `permit` names on `account_id`.
pub(crate) fn permit(caller: &Caller, account_id: &str, permit: Permit) -> Result<()> {
    Ok(caller.require_action(account_id, permit.action, permit.scopes)?)
}

/// What a caller who could not see the resource even if it existed is told when it does not: the very refusal
/// (`PERMISSION_DENIED`, in the same words) it gets for one it may not see, so nothing reveals whether it exists
/// (AIP-211). Only a service holding one of the `permit`'s scopes, which let it act on the resource, learns
/// `NOT_FOUND`.
pub(crate) fn hidden<T>(
    caller: &Caller,
    permit: Permit,
    found: Result<T>,
    not_found: fn(&Error) -> bool,
) -> Result<T> {
    match found {
        Err(e) if not_found(&e) && !caller.has_scope(permit.scopes) => {
            Err(caller.refusal(permit.action, permit.scopes).into())
        }
        other => other,
    }
}

/// B2: the shipped catalog is in the database before anything reads it; seeded once per process (a failure is
/// retried by the next call). Never call it inside a transaction: on SQLite it writes.
pub(crate) async fn catalog_ready(api: &BillingApi) -> Result<()> {
    let db = &api.db;
    api.seeded
        .get_or_try_init(|| async move {
            let added = store::catalog::seed(db, &domain::catalog::shipped()?).await?;
            if added > 0 {
                tracing::info!(added, "seeded the catalog");
            }
            Ok::<(), Error>(())
        })
        .await
        .map(|_| ())
}

/// What licensing's failure means for the work: only an answer about the request itself is final; anything
/// else (down, overloaded, an internal error on the other side) is worth trying again, since a wrongly failed
/// purchase would void a customer's order.
fn answer<T>(err: ClientError) -> Answer<T> {
    use tonic::Code::*;
    match err {
        failed @ ClientError::Failed {
            code: InvalidArgument | FailedPrecondition | NotFound | PermissionDenied | OutOfRange,
            ..
        } => Answer::Refused(failed.to_string()),
        other => Answer::Unavailable(other.to_string()),
    }
}
