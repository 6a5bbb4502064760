//! Deployments (L8): on-premise deployments and cloud sites, used by identity's support eligibility (I11) and
//! by login-based licensing (L9).

use chrono::Utc;
use portal_proto::licensing as pb;
use portal_runtime::{
    CallContext,
    audit::{self, Change},
    error::Violations,
    idempotency::{self, Begun, fingerprint},
    new_id,
};
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::json;

use crate::{
    LicensingApi,
    authz::{INTERNAL, ISSUE},
    convert,
    error::{Error, Result},
    store::{self, deployment},
};

const MAX_NAME: usize = 200;
const MAX_CREATOR_SEATS: i32 = 1_000_000;

fn kind(raw: i32) -> Option<&'static str> {
    match pb::DeploymentKind::try_from(raw) {
        Ok(pb::DeploymentKind::OnPremise) => Some("ON_PREMISE"),
        Ok(pb::DeploymentKind::CloudSite) => Some("CLOUD_SITE"),
        _ => None,
    }
}

fn check_name(v: &mut Violations, field: &str, name: &str) {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        v.add(field, "must not be empty");
    } else if trimmed.chars().count() > MAX_NAME || trimmed.chars().any(char::is_control) {
        v.add(
            field,
            format!("must be at most {MAX_NAME} printable characters"),
        );
    }
}

fn check_seats(v: &mut Violations, field: &str, seats: i32, lblm: bool) {
    if !(0..=MAX_CREATOR_SEATS).contains(&seats) {
        v.add(field, format!("must be between 0 and {MAX_CREATOR_SEATS}"));
    } else if seats > 0 && !lblm {
        v.add(
            field,
            "Creator seats need login-based licensing (lblm_enabled)",
        );
    }
}

impl LicensingApi {
    pub(super) async fn register_deployment(
        &self,
        context: CallContext,
        r: pb::RegisterDeploymentRequest,
    ) -> Result<pb::Deployment> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[ISSUE, INTERNAL])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let kind = kind(r.kind);
        if kind.is_none() {
            v.add(
                "kind",
                "must be DEPLOYMENT_KIND_ON_PREMISE or DEPLOYMENT_KIND_CLOUD_SITE",
            );
        }
        check_name(&mut v, "name", &r.name);
        check_seats(&mut v, "creator_seats", r.creator_seats, r.lblm_enabled);
        v.finish().map_err(Error::invalid_fields)?;
        let Some(kind) = kind else {
            return Err(Error::invalid("kind", "required"));
        };
        if !r.key_id.is_empty() {
            let key = store::find_key(&self.db, &r.key_id).await?;
            if key.account_id != r.account_id {
                return Err(Error::KeyNotFound);
            }
        }
        if caller.member().is_none() && self.identity.account(&r.account_id).await?.is_none() {
            return Err(Error::AccountNotFound);
        }
        let hash = fingerprint(
            &pb::RegisterDeploymentRequest {
                request_id: String::new(),
                ..r.clone()
            }
            .encode_to_vec(),
        );
        let deployment_id = new_id("dep");
        let txn = match idempotency::begin(
            &self.db,
            "RegisterDeployment",
            &r.request_id,
            &hash,
            &deployment_id,
        )
        .await?
        {
            Begun::Fresh(txn) => txn,
            Begun::Replay(id) => {
                return Ok(convert::deployment(
                    &store::find_deployment(&self.db, &id).await?,
                ));
            }
            Begun::Reused => return Err(Error::request_id_reused()),
        };
        let now = Utc::now();
        let row = deployment::ActiveModel {
            deployment_id: Set(deployment_id.clone()),
            account_id: Set(r.account_id.clone()),
            kind: Set(kind.into()),
            name: Set(r.name.trim().into()),
            state: Set(store::ACTIVE.into()),
            lblm_enabled: Set(r.lblm_enabled),
            creator_seats: Set(i64::from(r.creator_seats)),
            key_id: Set((!r.key_id.is_empty()).then(|| r.key_id.clone())),
            revision: Set(0),
            create_time: Set(now),
            update_time: Set(now),
        }
        .insert(&txn)
        .await?;
        let after = json!({ "kind": kind, "name": row.name, "lblm_enabled": row.lblm_enabled, "creator_seats": row.creator_seats });
        audit::record(
            &txn,
            &context,
            Change {
                account_id: &row.account_id,
                action: "RegisterDeployment",
                resource_type: "deployment",
                resource_id: &row.deployment_id,
                before: None,
                after: Some(after),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(convert::deployment(&row))
    }

    pub(super) async fn update_deployment(
        &self,
        context: CallContext,
        r: pb::UpdateDeploymentRequest,
    ) -> Result<pb::Deployment> {
        let Some(patch) = r.deployment else {
            return Err(Error::invalid("deployment", "required"));
        };
        let caller = self.caller(&context).await?;
        let current = match store::find_deployment(&self.db, &patch.deployment_id).await {
            Err(Error::DeploymentNotFound) if caller.member().is_some() => {
                return Err(Error::denied("no such deployment visible to you"));
            }
            other => other?,
        };
        caller.require_admin_of(&current.account_id, &[ISSUE, INTERNAL])?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let paths = if paths.is_empty() {
            vec![
                "name".into(),
                "state".into(),
                "lblm_enabled".into(),
                "creator_seats".into(),
            ]
        } else {
            paths
        };
        let mut v = Violations::default();
        let mut row = current.clone().into_active_model();
        let mut lblm = current.lblm_enabled;
        let mut seats = i32::try_from(current.creator_seats).unwrap_or(i32::MAX);
        for path in &paths {
            match path.as_str() {
                "name" => {
                    check_name(&mut v, "deployment.name", &patch.name);
                    row.name = Set(patch.name.trim().into());
                }
                "state" => match pb::DeploymentState::try_from(patch.state) {
                    Ok(pb::DeploymentState::Active) => row.state = Set(store::ACTIVE.into()),
                    Ok(pb::DeploymentState::Inactive) => row.state = Set("INACTIVE".into()),
                    _ => v.add(
                        "deployment.state",
                        "must be DEPLOYMENT_STATE_ACTIVE or DEPLOYMENT_STATE_INACTIVE",
                    ),
                },
                "lblm_enabled" => {
                    lblm = patch.lblm_enabled;
                    row.lblm_enabled = Set(lblm);
                }
                "creator_seats" => {
                    seats = patch.creator_seats;
                    row.creator_seats = Set(i64::from(seats));
                }
                other => v.add("update_mask", format!("`{other}` cannot be updated")),
            }
        }
        check_seats(&mut v, "deployment.creator_seats", seats, lblm);
        v.finish().map_err(Error::invalid_fields)?;
        let txn = portal_runtime::db::begin_write(&self.db).await?;
        store::lock_deployment(&txn, &current.deployment_id).await?;
        row.update_time = Set(Utc::now());
        row.revision = Set(current.revision + 1);
        let after = row.update(&txn).await?;
        let change = Change {
            account_id: &after.account_id,
            action: "UpdateDeployment",
            resource_type: "deployment",
            resource_id: &after.deployment_id,
            before: Some(
                json!({ "name": current.name, "state": current.state, "lblm_enabled": current.lblm_enabled, "creator_seats": current.creator_seats }),
            ),
            after: Some(
                json!({ "name": after.name, "state": after.state, "lblm_enabled": after.lblm_enabled, "creator_seats": after.creator_seats }),
            ),
        };
        audit::record(&txn, &context, change).await?;
        txn.commit().await?;
        Ok(convert::deployment(&after))
    }

    pub(super) async fn list_deployments(
        &self,
        context: CallContext,
        r: pb::ListDeploymentsRequest,
    ) -> Result<pb::ListDeploymentsResponse> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[INTERNAL, ISSUE])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.finish().map_err(Error::invalid_fields)?;
        let rows = deployment::Entity::find()
            .filter(deployment::Column::AccountId.eq(r.account_id.as_str()))
            .order_by_asc(deployment::Column::DeploymentId)
            .all(&self.db)
            .await?;
        Ok(pb::ListDeploymentsResponse {
            deployments: rows.iter().map(convert::deployment).collect(),
        })
    }
}
