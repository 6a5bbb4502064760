//! Cloud sites provisioned by purchases (B11): a purchase line's Creator seats put on the account's cloud site,
//! once per line and per key, with one "cloud site ready" notice to each Administrator; and the one step that
//! takes a key's seats off its site again when the key is no longer live ([`release_key_seats`], called by the
//! expiry sweep and by revocation).

use chrono::{DateTime, Utc};
use portal_proto::{
    licensing as pb,
    notification::{NoticeKind, SendNoticeRequest},
};
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    auth::INTERNAL_SCOPE,
    error::Violations,
    idempotency::{self, Claim},
    new_id,
};
use sea_orm::ConnectionTrait;
use serde_json::json;

use super::convert;
use crate::{
    LicensingApi,
    domain::{
        Deployment,
        access::ISSUE,
        deployment::{Environment, MAX_CREATOR_SEATS},
        site::{self, SeatProvision, SitePlan, SiteSeats},
    },
    error::{Error, Result},
    store,
};

impl TryFrom<&pb::ProvisionSiteSeatsRequest> for SeatProvision {
    type Error = Error;

    fn try_from(r: &pb::ProvisionSiteSeatsRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.require("key_id", &r.key_id);
        v.require("request_id", &r.request_id);
        let seats = u64::try_from(r.creator_seats)
            .ok()
            .filter(|s| (1..=MAX_CREATOR_SEATS).contains(s));
        if seats.is_none() {
            v.add(
                "creator_seats",
                format!("must be between 1 and {MAX_CREATOR_SEATS}"),
            );
        }
        v.finish().map_err(Error::invalid_fields)?;
        Ok(SeatProvision {
            account_id: r.account_id.clone(),
            key_id: r.key_id.clone(),
            creator_seats: seats.unwrap_or_default(),
            purchase_id: (!r.purchase_id.is_empty()).then(|| r.purchase_id.clone()),
        })
    }
}

/// The answer for seats provisioned before (a replay, or another request for the same key).
fn already(site: &Deployment, seats: &SiteSeats) -> pb::ProvisionSiteSeatsResponse {
    pb::ProvisionSiteSeatsResponse {
        site: Some(convert::deployment(site)),
        created: false,
        administrators_notified: i32::try_from(seats.administrators_notified).unwrap_or(i32::MAX),
        replayed: true,
    }
}

impl LicensingApi {
    pub(super) async fn provision_site_seats(
        &self,
        context: CallContext,
        r: pb::ProvisionSiteSeatsRequest,
    ) -> Result<pb::ProvisionSiteSeatsResponse> {
        self.caller(&context)
            .await?
            .require_scope(&[ISSUE, INTERNAL_SCOPE])?;
        let asked = SeatProvision::try_from(&r)?;
        let Some(account) = self.identity.account(&asked.account_id).await? else {
            return Err(Error::AccountNotFound);
        };
        let administrators = self
            .identity
            .administrators(&asked.account_id)
            .await?
            .ok_or(Error::AccountNotFound)?;
        let txn =
            match idempotency::claim(&self.db, "ProvisionSiteSeats", &r, &asked.key_id).await? {
                Claim::Fresh(txn) => txn,
                Claim::Replay(key_id) => return self.provisioned(&key_id).await,
            };
        store::sites::lock_account(&txn, &asked.account_id).await?;
        let key = store::keys::lock_key(&txn, &asked.key_id).await?;
        site::b11_ensure_key_carries_seats(&key, &asked.account_id)?;
        // Once per key: another request for the same key's seats adds nothing.
        if let Some(seats) = store::sites::seats_of_key(&txn, &key.key_id).await? {
            txn.commit().await?;
            let site = store::deployments::find_deployment(&self.db, &seats.deployment_id).await?;
            return Ok(already(&site, &seats));
        }
        let now = Utc::now();
        let deployments =
            store::deployments::list_deployments(&txn, &asked.account_id, false).await?;
        let (before, site, created) =
            match site::b11_plan(&asked, &account.name, &deployments, now)? {
                SitePlan::Create(new) => {
                    let id = new_id("dep");
                    let environment = new.environment.unwrap_or(Environment::Production);
                    let site =
                        store::deployments::insert_deployment(&txn, &id, &new, environment, now)
                            .await?;
                    (None, site, true)
                }
                SitePlan::Grow(grown) => {
                    let before =
                        store::deployments::lock_deployment(&txn, &grown.deployment_id).await?;
                    let site = store::deployments::save_deployment(&txn, &grown).await?;
                    (Some(before), site, false)
                }
            };
        let seats = SiteSeats {
            key_id: key.key_id.clone(),
            deployment_id: site.deployment_id.clone(),
            account_id: asked.account_id.clone(),
            purchase_id: asked.purchase_id.clone(),
            creator_seats: asked.creator_seats,
            administrators_notified: u32::try_from(administrators.len()).unwrap_or(u32::MAX),
            create_time: now,
            end_time: None,
        };
        store::sites::insert_seats(&txn, &seats).await?;
        let change = Change {
            account_id: &asked.account_id,
            action: "ProvisionSiteSeats",
            resource_type: "deployment",
            resource_id: &site.deployment_id,
            before: before.map(
                |b| json!({ "creator_seats": b.creator_seats, "lblm_enabled": b.lblm_enabled }),
            ),
            after: Some(json!({
                "kind": "CLOUD_SITE",
                "name": site.name,
                "creator_seats": site.creator_seats,
                "lblm_enabled": site.lblm_enabled,
                "seats_added": asked.creator_seats,
                "key_id": key.key_id,
                "key": key.key.last_group(),
                "purchase_id": asked.purchase_id,
                "administrators_notified": administrators.len(),
            })),
        };
        audit::record(&txn, &context, change).await?;
        // B11: each Administrator is told once, with the change; a replay never gets here.
        let fields = site::b11_notice_fields(&site, asked.creator_seats, created);
        for admin in &administrators {
            let notice = SendNoticeRequest {
                kind: NoticeKind::CloudSiteReady as i32,
                account_id: asked.account_id.clone(),
                email: admin.email.clone(),
                display_name: admin.display_name.clone(),
                fields: fields.iter().cloned().collect(),
                ..Default::default()
            };
            portal_runtime::outbox::enqueue(&txn, notice).await?;
        }
        txn.commit().await?;
        if administrators.is_empty() {
            tracing::warn!(account_id = %asked.account_id, site_id = %site.deployment_id, "cloud site seats provisioned, but the account has no Administrator to tell");
        }
        Ok(pb::ProvisionSiteSeatsResponse {
            site: Some(convert::deployment(&site)),
            created,
            administrators_notified: i32::try_from(administrators.len()).unwrap_or(i32::MAX),
            replayed: false,
        })
    }

    /// The answer to a replayed ProvisionSiteSeats: the seats of the key it named, on their site as it is now.
    async fn provisioned(&self, key_id: &str) -> Result<pb::ProvisionSiteSeatsResponse> {
        let seats = store::sites::seats_of_key(&self.db, key_id)
            .await?
            .ok_or_else(|| Error::internal("a provisioned key without its seats"))?;
        let site = store::deployments::find_deployment(&self.db, &seats.deployment_id).await?;
        Ok(already(&site, &seats))
    }
}

/// B11: a key is no longer live (expired, L7; revoked, L13): the Creator seats it put on a cloud site leave
/// that site, once, audited in the caller's transaction. Creators already on the site keep their role and
/// their grants until these expire, but no Creator role beyond the remaining seats is given (L9). Returns the
/// site as it now is, or `None` when the key had no seats on a site (or they had left already).
///
/// Callers: the expiry sweep (`jobs::expiry`), and revocation, inside the transaction that revokes the key.
pub(crate) async fn release_key_seats<C: ConnectionTrait>(
    txn: &C,
    context: &CallContext,
    key_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Deployment>> {
    let Some(seats) = store::sites::seats_of_key(txn, key_id).await? else {
        return Ok(None);
    };
    if seats.end_time.is_some() {
        return Ok(None);
    }
    let before = store::deployments::lock_deployment(txn, &seats.deployment_id).await?;
    if !store::sites::end_seats(txn, key_id, now).await? {
        return Ok(None);
    }
    let after =
        store::deployments::save_deployment(txn, &site::b11_without_seats(&before, &seats, now))
            .await?;
    let change = Change {
        account_id: &after.account_id,
        action: "ReleaseSiteSeats",
        resource_type: "deployment",
        resource_id: &after.deployment_id,
        before: Some(json!({ "creator_seats": before.creator_seats })),
        after: Some(json!({
            "creator_seats": after.creator_seats,
            "seats_released": seats.creator_seats,
            "key_id": key_id,
        })),
    };
    audit::record(txn, context, change).await?;
    tracing::info!(key_id, site_id = %after.deployment_id, seats = seats.creator_seats, "a key's Creator seats left its cloud site");
    Ok(Some(after))
}
