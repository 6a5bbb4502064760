//! L9: site roles on a login-based deployment, Creators within its seats.

use chrono::Utc;
use portal_runtime::CallContext;
use sea_orm::DatabaseConnection;

use super::audit::{self, Event};
use crate::{
    Identity,
    domain::{
        Deployment, SiteMembership,
        lblm::{self, NewSiteRole},
    },
    error::{Error, Result},
    store,
};

/// L9: gives the active user of the deployment's account with `asked.email` the role `asked.site_role` on
/// `current`; a Creator only within the deployment's Creator seats. Returns the membership as it now is.
pub async fn set_site_role(
    db: &DatabaseConnection,
    identity: &Identity,
    context: &CallContext,
    current: &Deployment,
    asked: &NewSiteRole,
) -> Result<SiteMembership> {
    lblm::ensure_lblm(current)?;
    let Some(member) = identity
        .member_by_email(&current.account_id, asked.email.as_str())
        .await?
    else {
        return Err(Error::UserNotInAccount);
    };
    let txn = portal_runtime::db::begin_write(db).await?;
    let deployment = store::deployments::lock_deployment(&txn, &current.deployment_id).await?;
    let creators =
        store::lblm::count_other_creators(&txn, &deployment.deployment_id, &member.email_key())
            .await?;
    lblm::ensure_creator_seat(asked.site_role, creators, deployment.creator_seats)?;
    let now = Utc::now();
    let wanted = SiteMembership {
        deployment_id: deployment.deployment_id.clone(),
        account_id: deployment.account_id.clone(),
        email: member.email.clone(),
        user_id: member.user_id.clone(),
        site_role: asked.site_role,
        create_time: now,
        update_time: now,
    };
    let (before, membership) = store::lblm::set_site_role(&txn, &wanted, now).await?;
    let event = Event::SetSiteRole {
        deployment: &deployment,
        email: &member.email,
        before,
        after: asked.site_role,
    };
    audit::record(&txn, context, event).await?;
    txn.commit().await?;
    Ok(membership)
}
