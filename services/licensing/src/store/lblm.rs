//! Login-based licensing (L9): site memberships and the check-ins of authorizations to run.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Unchanged, ColumnTrait, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, sea_query::OnConflict,
};

use super::{column, membership, run_usage, stored_product};
use crate::{
    domain::{RunCheckIn, SiteMembership, SiteRole},
    error::Result,
};

fn membership_from_row(row: membership::Model) -> SiteMembership {
    SiteMembership {
        deployment_id: row.deployment_id,
        account_id: row.account_id,
        email: row.email,
        user_id: row.user_id,
        site_role: row.site_role.into(),
        create_time: row.create_time,
        update_time: row.update_time,
    }
}

/// L9: the Creators of a deployment other than the person with `email_key`.
pub async fn count_other_creators<C: ConnectionTrait>(
    db: &C,
    deployment_id: &str,
    email_key: &str,
) -> Result<u64> {
    Ok(membership::Entity::find()
        .filter(membership::Column::DeploymentId.eq(deployment_id))
        .filter(membership::Column::SiteRole.eq(column::SiteRole::Creator))
        .filter(membership::Column::EmailKey.ne(email_key))
        .count(db)
        .await?)
}

/// L9/B11: the Creators of a deployment, in the order they became Creators (then by e-mail).
pub async fn creators_in_order<C: ConnectionTrait>(
    db: &C,
    deployment_id: &str,
) -> Result<Vec<SiteMembership>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::DeploymentId.eq(deployment_id))
        .filter(membership::Column::SiteRole.eq(column::SiteRole::Creator))
        .order_by_asc(membership::Column::UpdateTime)
        .order_by_asc(membership::Column::EmailKey)
        .all(db)
        .await?
        .into_iter()
        .map(membership_from_row)
        .collect())
}

pub async fn find_membership<C: ConnectionTrait>(
    db: &C,
    deployment_id: &str,
    email_key: &str,
) -> Result<Option<SiteMembership>> {
    Ok(
        membership::Entity::find_by_id((deployment_id.to_string(), email_key.to_string()))
            .one(db)
            .await?
            .map(membership_from_row),
    )
}

/// L9: gives the person `role` on the deployment; their role before, if they had one.
pub async fn set_site_role<C: ConnectionTrait>(
    db: &C,
    member: &SiteMembership,
    now: DateTime<Utc>,
) -> Result<(Option<SiteRole>, SiteMembership)> {
    let email_key = member.email.to_lowercase();
    let before = find_membership(db, &member.deployment_id, &email_key).await?;
    let row = match &before {
        Some(_) => {
            membership::ActiveModel {
                deployment_id: Unchanged(member.deployment_id.clone()),
                email_key: Unchanged(email_key),
                site_role: Set(member.site_role.into()),
                update_time: Set(now),
                ..Default::default()
            }
            .update(db)
            .await?
        }
        None => {
            membership::ActiveModel {
                deployment_id: Set(member.deployment_id.clone()),
                email_key: Set(email_key),
                email: Set(member.email.clone()),
                user_id: Set(member.user_id.clone()),
                account_id: Set(member.account_id.clone()),
                site_role: Set(member.site_role.into()),
                create_time: Set(now),
                update_time: Set(now),
            }
            .insert(db)
            .await?
        }
    };
    Ok((before.map(|m| m.site_role), membership_from_row(row)))
}

/// The account's site memberships, by e-mail.
pub async fn memberships_of_account<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
) -> Result<Vec<SiteMembership>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::AccountId.eq(account_id))
        .order_by_asc(membership::Column::EmailKey)
        .all(db)
        .await?
        .into_iter()
        .map(membership_from_row)
        .collect())
}

/// L9: records a check-in (one row per person, product and machine, refreshed on each).
pub async fn record_check_in<C: ConnectionTrait>(db: &C, check_in: &RunCheckIn) -> Result<()> {
    let usage = run_usage::ActiveModel {
        deployment_id: Set(check_in.deployment_id.clone()),
        email_key: Set(check_in.email_key.clone()),
        product: Set(check_in.product.as_str().into()),
        machine_fingerprint: Set(check_in.machine_fingerprint.clone()),
        account_id: Set(check_in.account_id.clone()),
        hostname: Set(check_in.hostname.clone()),
        version: Set(check_in.version.clone()),
        last_use_time: Set(check_in.last_use_time),
        expire_time: Set(check_in.expire_time),
    };
    run_usage::Entity::insert(usage)
        .on_conflict(
            OnConflict::columns([
                run_usage::Column::DeploymentId,
                run_usage::Column::EmailKey,
                run_usage::Column::Product,
                run_usage::Column::MachineFingerprint,
            ])
            .update_columns([
                run_usage::Column::Hostname,
                run_usage::Column::Version,
                run_usage::Column::LastUseTime,
                run_usage::Column::ExpireTime,
            ])
            .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// L9: the account's check-ins.
pub async fn check_ins_of_account<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
) -> Result<Vec<RunCheckIn>> {
    run_usage::Entity::find()
        .filter(run_usage::Column::AccountId.eq(account_id))
        .all(db)
        .await?
        .into_iter()
        .map(|u| {
            Ok(RunCheckIn {
                product: stored_product(&u.product)?,
                deployment_id: u.deployment_id,
                account_id: u.account_id,
                email_key: u.email_key,
                machine_fingerprint: u.machine_fingerprint,
                hostname: u.hostname,
                version: u.version,
                last_use_time: u.last_use_time,
                expire_time: u.expire_time,
            })
        })
        .collect()
}
