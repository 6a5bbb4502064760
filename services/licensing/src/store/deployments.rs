//! Deployments and cloud sites (L8).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Unchanged, ColumnTrait, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, Set,
};

use super::{deployment, stored_count, to_column};
use crate::{
    domain::{Deployment, DeploymentState, Environment, NewDeployment},
    error::{Error, Result},
};

fn deployment_from_row(row: deployment::Model) -> Result<Deployment> {
    Ok(Deployment {
        creator_seats: stored_count(row.creator_seats, "creator seats")?,
        deployment_id: row.deployment_id,
        account_id: row.account_id,
        kind: row.kind.into(),
        name: row.name,
        state: row.state.into(),
        lblm_enabled: row.lblm_enabled,
        key_id: row.key_id,
        environment: row.environment.into(),
        create_time: row.create_time,
        update_time: row.update_time,
    })
}

pub async fn find_deployment<C: ConnectionTrait>(
    db: &C,
    deployment_id: &str,
) -> Result<Deployment> {
    let row = deployment::Entity::find_by_id(deployment_id.to_string())
        .one(db)
        .await?;
    deployment_from_row(row.ok_or(Error::DeploymentNotFound)?)
}

/// Serialises the mutations of one deployment (Creator seats, L9); returns it as locked.
pub async fn lock_deployment<C: ConnectionTrait>(
    db: &C,
    deployment_id: &str,
) -> Result<Deployment> {
    let row = portal_runtime::db::lock_row::<deployment::Entity, _>(
        db,
        deployment::Column::DeploymentId,
        deployment::Column::Revision,
        deployment_id,
    )
    .await?;
    deployment_from_row(row.ok_or(Error::DeploymentNotFound)?)
}

/// L14: the environments of the server key's active deployments, but `except` (one being re-activated).
pub async fn environments_of_key<C: ConnectionTrait>(
    db: &C,
    key_id: &str,
    except: Option<&str>,
) -> Result<Vec<Environment>> {
    let mut query = deployment::Entity::find()
        .filter(deployment::Column::KeyId.eq(key_id))
        .filter(deployment::Column::State.eq(super::column::DeploymentState::Active));
    if let Some(except) = except {
        query = query.filter(deployment::Column::DeploymentId.ne(except));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.environment.into())
        .collect())
}

/// L8: registers a deployment, `ACTIVE`, in `environment` (L14, placed by the caller).
pub async fn insert_deployment<C: ConnectionTrait>(
    db: &C,
    deployment_id: &str,
    new: &NewDeployment,
    environment: Environment,
    now: DateTime<Utc>,
) -> Result<Deployment> {
    let row = deployment::ActiveModel {
        deployment_id: Set(deployment_id.into()),
        account_id: Set(new.account_id.clone()),
        kind: Set(new.kind.into()),
        name: Set(new.name.clone()),
        state: Set(DeploymentState::Active.into()),
        lblm_enabled: Set(new.lblm_enabled),
        creator_seats: Set(to_column(new.creator_seats)?),
        key_id: Set(new.key_id.clone()),
        environment: Set(environment.into()),
        revision: Set(0),
        create_time: Set(now),
        update_time: Set(now),
    }
    .insert(db)
    .await?;
    deployment_from_row(row)
}

/// L8: writes what an update may change of a (locked) deployment.
pub async fn save_deployment<C: ConnectionTrait>(db: &C, d: &Deployment) -> Result<Deployment> {
    let row = deployment::ActiveModel {
        deployment_id: Unchanged(d.deployment_id.clone()),
        name: Set(d.name.clone()),
        state: Set(d.state.into()),
        lblm_enabled: Set(d.lblm_enabled),
        creator_seats: Set(to_column(d.creator_seats)?),
        update_time: Set(d.update_time),
        ..Default::default()
    }
    .update(db)
    .await?;
    deployment_from_row(row)
}

/// The account's deployments by id; with `lblm_only`, those with login-based licensing (L9).
pub async fn list_deployments<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    lblm_only: bool,
) -> Result<Vec<Deployment>> {
    let mut query = deployment::Entity::find().filter(deployment::Column::AccountId.eq(account_id));
    if lblm_only {
        query = query.filter(deployment::Column::LblmEnabled.eq(true));
    }
    query
        .order_by_asc(deployment::Column::DeploymentId)
        .all(db)
        .await?
        .into_iter()
        .map(deployment_from_row)
        .collect()
}
