//! B11: cloud sites provisioned by purchases. A purchase line's Creator seats go on the account's cloud site,
//! once per line and per key, with one "cloud site ready" notice to each Administrator; and a key no longer
//! live (expired, L7; revoked, L13) takes its seats off its site again ([`release_key_seats`], run by the
//! expiry sweep and inside revocation).

use chrono::{DateTime, Utc};
use portal_proto::{
    Idempotent,
    notification::{NoticeKind, SendNoticeRequest},
};
use portal_runtime::{
    CallContext,
    idempotency::{self, Claim},
    new_id,
};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::audit::{self, Event};
use crate::{
    Identity,
    domain::{
        Deployment,
        deployment::Environment,
        site::{self, SeatProvision, SitePlan, SiteSeats},
    },
    error::{Error, Result},
    store,
};

/// What ProvisionSiteSeats did: the site as it now is, whether it was created, and how many Administrators
/// were told; `replayed` when the seats were provisioned before (a replay, or another request for the key).
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub site: Deployment,
    pub created: bool,
    pub administrators_notified: u64,
    pub replayed: bool,
}

impl Provisioned {
    fn before(site: Deployment, seats: &SiteSeats) -> Self {
        Self {
            site,
            created: false,
            administrators_notified: u64::from(seats.administrators_notified),
            replayed: true,
        }
    }
}

/// B11: puts `asked`'s Creator seats on the account's cloud site (creating it, or growing it), once per key;
/// idempotent on `request`'s id.
pub async fn provision(
    db: &DatabaseConnection,
    identity: &Identity,
    context: &CallContext,
    asked: &SeatProvision,
    request: &impl Idempotent,
) -> Result<Provisioned> {
    let Some(account) = identity.account(&asked.account_id).await? else {
        return Err(Error::AccountNotFound);
    };
    let administrators = identity
        .administrators(&asked.account_id)
        .await?
        .ok_or(Error::AccountNotFound)?;
    let txn = match idempotency::claim(db, "ProvisionSiteSeats", request, &asked.key_id).await? {
        Claim::Fresh(txn) => txn,
        Claim::Replay(key_id) => return provisioned(db, &key_id).await,
    };
    store::sites::lock_account(&txn, &asked.account_id).await?;
    let key = store::keys::lock_key(&txn, &asked.key_id).await?;
    site::b11_ensure_key_carries_seats(&key, &asked.account_id)?;
    // Once per key: another request for the same key's seats adds nothing.
    if let Some(seats) = store::sites::seats_of_key(&txn, &key.key_id).await? {
        txn.commit().await?;
        let site = store::deployments::find_deployment(db, &seats.deployment_id).await?;
        return Ok(Provisioned::before(site, &seats));
    }
    let now = Utc::now();
    let deployments = store::deployments::list_deployments(&txn, &asked.account_id, false).await?;
    let (before, site, created) = match site::b11_plan(asked, &account.name, &deployments, now)? {
        SitePlan::Create(new) => {
            let id = new_id("dep");
            let environment = new.environment.unwrap_or(Environment::Production);
            let site =
                store::deployments::insert_deployment(&txn, &id, &new, environment, now).await?;
            (None, site, true)
        }
        SitePlan::Grow(grown) => {
            let before = store::deployments::lock_deployment(&txn, &grown.deployment_id).await?;
            let site = store::deployments::save_deployment(&txn, &grown).await?;
            (Some(before), site, false)
        }
    };
    let notified = u64::try_from(administrators.len()).unwrap_or(u64::MAX);
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
    let event = Event::ProvisionSiteSeats {
        asked,
        before: before.as_ref(),
        site: &site,
        key: &key,
        administrators_notified: administrators.len(),
    };
    audit::record(&txn, context, event).await?;
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
    Ok(Provisioned {
        site,
        created,
        administrators_notified: notified,
        replayed: false,
    })
}

/// A replayed ProvisionSiteSeats: the seats of the key it named, on their site as it is now.
async fn provisioned(db: &DatabaseConnection, key_id: &str) -> Result<Provisioned> {
    let seats = store::sites::seats_of_key(db, key_id)
        .await?
        .ok_or_else(|| Error::internal("a provisioned key without its seats"))?;
    let site = store::deployments::find_deployment(db, &seats.deployment_id).await?;
    Ok(Provisioned::before(site, &seats))
}

/// B11: each key no longer live that still has seats on a cloud site gives them up, at most `batch` keys, one
/// transaction per key (safe with several replicas: the release is guarded and happens once).
pub async fn release_stale_seats(
    db: &DatabaseConnection,
    context: &CallContext,
    batch: u64,
) -> Result<()> {
    for key_id in store::sites::keys_with_stale_seats(db, batch).await? {
        let txn = portal_runtime::db::begin_write(db).await?;
        release_key_seats(&txn, context, &key_id, Utc::now()).await?;
        txn.commit().await?;
    }
    Ok(())
}

/// B11: a key is no longer live (expired, L7; revoked, L13): the Creator seats it put on a cloud site leave
/// that site, once, audited in the caller's transaction. Creators already on the site keep their role and
/// their grants until these expire, but no Creator role beyond the remaining seats is given (L9). Returns the
/// site as it now is, or `None` when the key had no seats on a site (or they had left already).
pub(super) async fn release_key_seats<C: ConnectionTrait>(
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
    let event = Event::ReleaseSiteSeats {
        before: &before,
        after: &after,
        seats: &seats,
        key_id,
    };
    audit::record(txn, context, event).await?;
    tracing::info!(key_id, site_id = %after.deployment_id, seats = seats.creator_seats, "a key's Creator seats left its cloud site");
    Ok(Some(after))
}
