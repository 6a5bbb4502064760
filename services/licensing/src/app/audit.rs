//! The audit events of licensing, typed: each use case names its event and what it is about, and the row it
//! becomes (action, resource, before and after) is written here, in the transaction of the change.

use portal_runtime::{
    CallContext,
    audit::{self, Change},
};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    domain::{
        Activation, Deployment, ElearningCode, FulfillmentPool, Key, KeyState, NewElearningCodes,
        NewKeys, SiteRole, deployment::kind_name, site::SeatProvision,
    },
    error::Result,
    store::holdings::Released,
};

/// One audited change of licensing.
#[derive(Debug)]
pub enum Event<'a> {
    /// L3: a batch of keys issued.
    IssueKeys {
        batch_id: &'a str,
        new: &'a NewKeys,
        keys: &'a [Key],
    },
    /// L4: a key's owner set or cleared.
    SetKeyOwner { before: &'a Key, after: &'a Key },
    /// L7: a key's dates moved.
    RefreshKey { before: &'a Key, after: &'a Key },
    /// L5: a key assigned to a person.
    AssignKey { key: &'a Key, email: &'a str },
    /// L5: a person's assignment removed, with their activations on the key.
    UnassignKey {
        key: &'a Key,
        email: &'a str,
        released_activations: u64,
    },
    /// L6: a machine took a fulfillment.
    ActivateKey {
        key: &'a Key,
        activation: &'a Activation,
        pool: &'a FulfillmentPool,
    },
    /// L6: a machine gave its fulfillments back.
    DeactivateKey {
        key: &'a Key,
        machine_fingerprint: &'a str,
        released: u64,
    },
    /// L13: a key revoked.
    RevokeKey {
        key: &'a Key,
        was: KeyState,
        assignees: &'a [String],
        reason: &'a str,
        released_activations: u64,
    },
    /// I8: a removed person's holdings released.
    ReleaseHoldings {
        account_id: &'a str,
        user_id: &'a str,
        released: &'a Released,
    },
    /// L8, L14: a deployment registered.
    RegisterDeployment { created: &'a Deployment },
    /// L8: a deployment changed.
    UpdateDeployment {
        before: &'a Deployment,
        after: &'a Deployment,
    },
    /// L9: a person's site role set.
    SetSiteRole {
        deployment: &'a Deployment,
        email: &'a str,
        before: Option<SiteRole>,
        after: SiteRole,
    },
    /// L10: an activation report made.
    RequestActivationReport {
        account_id: &'a str,
        report_id: &'a str,
        rows: usize,
    },
    /// L11: a batch of eLearning codes issued.
    IssueElearningCodes {
        batch_id: &'a str,
        new: &'a NewElearningCodes,
    },
    /// L11: a code redeemed.
    RedeemElearningCode {
        code: &'a ElearningCode,
        email: &'a str,
    },
    /// B11: a purchase line's Creator seats put on the account's cloud site.
    ProvisionSiteSeats {
        asked: &'a SeatProvision,
        before: Option<&'a Deployment>,
        site: &'a Deployment,
        key: &'a Key,
        administrators_notified: usize,
    },
    /// B11: a key no longer live took its Creator seats off its cloud site.
    ReleaseSiteSeats {
        before: &'a Deployment,
        after: &'a Deployment,
        seats: &'a crate::domain::site::SiteSeats,
        key_id: &'a str,
    },
}

/// A deployment as UpdateDeployment audits it.
fn deployment(d: &Deployment) -> Value {
    json!({ "name": d.name, "state": d.state.as_str(), "lblm_enabled": d.lblm_enabled, "creator_seats": d.creator_seats })
}

impl Event<'_> {
    /// The row this event is: (account, action, resource type, resource id, before, after).
    fn change(&self) -> Change<'_> {
        let (account_id, action, resource_type, resource_id, before, after) = match self {
            Event::IssueKeys {
                batch_id,
                new,
                keys,
            } => {
                let last_groups: Vec<&str> = keys.iter().map(|k| k.key.last_group()).collect();
                let after = json!({ "family": new.family.as_str(), "seats": new.seats, "count": keys.len(), "keys": last_groups, "purchase_id": new.purchase_id.as_deref().unwrap_or_default() });
                (
                    new.account_id.as_str(),
                    "IssueKeys",
                    "key_batch",
                    *batch_id,
                    None,
                    after,
                )
            }
            Event::SetKeyOwner { before, after } => (
                after.account_id.as_str(),
                "SetKeyOwner",
                "key",
                after.key_id.as_str(),
                Some(json!({ "owner_user_id": before.owner_user_id })),
                json!({ "owner_user_id": after.owner_user_id }),
            ),
            Event::RefreshKey { before, after } => (
                after.account_id.as_str(),
                "RefreshKey",
                "key",
                after.key_id.as_str(),
                Some(
                    json!({ "period_end": before.period_end, "maintenance_end": before.maintenance_end }),
                ),
                json!({ "period_end": after.period_end, "maintenance_end": after.maintenance_end }),
            ),
            Event::AssignKey { key, email } => (
                key.account_id.as_str(),
                "AssignKey",
                "key",
                key.key_id.as_str(),
                None,
                json!({ "email": email }),
            ),
            Event::UnassignKey {
                key,
                email,
                released_activations,
            } => (
                key.account_id.as_str(),
                "UnassignKey",
                "key",
                key.key_id.as_str(),
                Some(json!({ "email": email })),
                json!({ "released_activations": released_activations }),
            ),
            Event::ActivateKey {
                key,
                activation,
                pool,
            } => (
                key.account_id.as_str(),
                "ActivateKey",
                "key",
                key.key_id.as_str(),
                None,
                json!({ "product": activation.product.as_str(), "machine_fingerprint": activation.machine_fingerprint, "pool_limit": pool.limit }),
            ),
            Event::DeactivateKey {
                key,
                machine_fingerprint,
                released,
            } => (
                key.account_id.as_str(),
                "DeactivateKey",
                "key",
                key.key_id.as_str(),
                None,
                json!({ "machine_fingerprint": machine_fingerprint, "released": released }),
            ),
            Event::RevokeKey {
                key,
                was,
                assignees,
                reason,
                released_activations,
            } => (
                key.account_id.as_str(),
                "RevokeKey",
                "key",
                key.key_id.as_str(),
                Some(json!({ "state": was.as_str(), "assignee_emails": assignees })),
                json!({ "state": key.state.as_str(), "reason": reason, "released_activations": released_activations }),
            ),
            Event::ReleaseHoldings {
                account_id,
                user_id,
                released,
            } => (
                *account_id,
                "ReleaseHoldings",
                "user",
                *user_id,
                None,
                json!({ "released_assignments": released.assignments, "cleared_ownerships": released.ownerships, "released_activations": released.activations, "ended_site_roles": released.site_roles }),
            ),
            Event::RegisterDeployment { created } => (
                created.account_id.as_str(),
                "RegisterDeployment",
                "deployment",
                created.deployment_id.as_str(),
                None,
                json!({ "kind": kind_name(created.kind), "name": created.name, "lblm_enabled": created.lblm_enabled, "creator_seats": created.creator_seats, "key_id": created.key_id, "environment": created.environment.as_str() }),
            ),
            Event::UpdateDeployment { before, after } => (
                after.account_id.as_str(),
                "UpdateDeployment",
                "deployment",
                after.deployment_id.as_str(),
                Some(deployment(before)),
                deployment(after),
            ),
            Event::SetSiteRole {
                deployment,
                email,
                before,
                after,
            } => (
                deployment.account_id.as_str(),
                "SetSiteRole",
                "deployment",
                deployment.deployment_id.as_str(),
                Some(json!({ "email": email, "site_role": before.map(|r| r.as_str()) })),
                json!({ "email": email, "site_role": after.as_str() }),
            ),
            Event::RequestActivationReport {
                account_id,
                report_id,
                rows,
            } => (
                *account_id,
                "RequestActivationReport",
                "report",
                *report_id,
                None,
                json!({ "rows": rows }),
            ),
            Event::IssueElearningCodes { batch_id, new } => (
                new.account_id.as_str(),
                "IssueElearningCodes",
                "elearning_batch",
                *batch_id,
                None,
                json!({ "count": new.count, "purchase_id": new.purchase_id.as_deref().unwrap_or_default() }),
            ),
            Event::RedeemElearningCode { code, email } => (
                code.account_id.as_str(),
                "RedeemElearningCode",
                "elearning_code",
                code.last_group(),
                None,
                json!({ "email": email }),
            ),
            Event::ProvisionSiteSeats {
                asked,
                before,
                site,
                key,
                administrators_notified,
            } => (
                asked.account_id.as_str(),
                "ProvisionSiteSeats",
                "deployment",
                site.deployment_id.as_str(),
                before.map(
                    |b| json!({ "creator_seats": b.creator_seats, "lblm_enabled": b.lblm_enabled }),
                ),
                json!({
                    "kind": "CLOUD_SITE",
                    "name": site.name,
                    "creator_seats": site.creator_seats,
                    "lblm_enabled": site.lblm_enabled,
                    "seats_added": asked.creator_seats,
                    "key_id": key.key_id,
                    "key": key.key.last_group(),
                    "purchase_id": asked.purchase_id,
                    "administrators_notified": administrators_notified,
                }),
            ),
            Event::ReleaseSiteSeats {
                before,
                after,
                seats,
                key_id,
            } => (
                after.account_id.as_str(),
                "ReleaseSiteSeats",
                "deployment",
                after.deployment_id.as_str(),
                Some(json!({ "creator_seats": before.creator_seats })),
                json!({
                    "creator_seats": after.creator_seats,
                    "seats_released": seats.creator_seats,
                    "key_id": key_id,
                }),
            ),
        };
        Change {
            account_id,
            action,
            resource_type,
            resource_id,
            before,
            after: Some(after),
        }
    }
}

/// Appends `event`, attributed to the caller in `context`, in the transaction `txn` of its change.
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    context: &CallContext,
    event: Event<'_>,
) -> Result<()> {
    Ok(audit::record(txn, context, event.change()).await?)
}
