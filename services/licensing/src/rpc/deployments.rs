//! Deployments (L8): on-premise deployments and cloud sites, used by identity's support eligibility (I11) and
//! by login-based licensing (L9).

use portal_clients::caller::ADMIN_ONLY;
use portal_proto::licensing as pb;
use portal_runtime::{
    CallContext,
    auth::INTERNAL_SCOPE,
    error::{FieldViolation, Violations},
};

use super::{checked, convert};
use crate::{
    LicensingApi, app,
    domain::{
        Deployment, DeploymentPatch, Family, NewDeployment,
        access::ISSUE,
        deployment::{check_creator_seats, check_name},
    },
    error::{Error, Result},
    store,
};

/// Every field an update without a mask changes.
const UPDATABLE: [&str; 4] = ["name", "state", "lblm_enabled", "creator_seats"];

impl TryFrom<pb::RegisterDeploymentRequest> for NewDeployment {
    type Error = Error;

    fn try_from(r: pb::RegisterDeploymentRequest) -> Result<Self> {
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        let kind = v.check(convert::deployment_kind("kind", r.kind));
        let environment = v.check(convert::environment("environment", r.environment));
        let name = v.check(check_name(&r.name).map_err(FieldViolation::of("name")));
        let seats = v.check(
            check_creator_seats(i64::from(r.creator_seats), r.lblm_enabled)
                .map_err(FieldViolation::of("creator_seats")),
        );
        v.finish().map_err(Error::invalid_fields)?;
        Ok(NewDeployment {
            kind: checked(kind, "kind")?,
            name: checked(name, "name")?,
            creator_seats: checked(seats, "creator_seats")?,
            lblm_enabled: r.lblm_enabled,
            environment: checked(environment, "environment")?,
            key_id: (!r.key_id.is_empty()).then_some(r.key_id),
            account_id: r.account_id,
        })
    }
}

/// The fields of `patch` the update mask names (all of them without one), checked against `current`.
fn deployment_patch(
    patch: &pb::Deployment,
    mask: Option<prost_types::FieldMask>,
    current: &Deployment,
) -> Result<DeploymentPatch> {
    let mut paths = mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        paths = UPDATABLE.map(String::from).to_vec();
    }
    let mut v = Violations::default();
    let mut out = DeploymentPatch::default();
    let mut seats = None;
    for path in &paths {
        match path.as_str() {
            "name" => {
                out.name =
                    v.check(check_name(&patch.name).map_err(FieldViolation::of("deployment.name")))
            }
            "state" => {
                out.state = v.check(convert::deployment_state("deployment.state", patch.state))
            }
            "lblm_enabled" => out.lblm_enabled = Some(patch.lblm_enabled),
            "creator_seats" => seats = Some(i64::from(patch.creator_seats)),
            other => v.add("update_mask", format!("`{other}` cannot be updated")),
        }
    }
    // L9: the seats are checked against the login-based licensing they end up with, changed or not.
    let lblm = out.lblm_enabled.unwrap_or(current.lblm_enabled);
    let current_seats = i64::try_from(current.creator_seats)
        .map_err(|_| Error::internal("a deployment's Creator seats exceed a count column"))?;
    let checked_seats = v.check(
        check_creator_seats(seats.unwrap_or(current_seats), lblm)
            .map_err(FieldViolation::of("deployment.creator_seats")),
    );
    if seats.is_some() {
        out.creator_seats = checked_seats;
    }
    v.finish().map_err(Error::invalid_fields)?;
    Ok(out)
}

impl LicensingApi {
    pub(super) async fn register_deployment(
        &self,
        context: CallContext,
        r: pb::RegisterDeploymentRequest,
    ) -> Result<pb::Deployment> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[ISSUE, INTERNAL_SCOPE])?;
        let new = NewDeployment::try_from(r.clone())?;
        if let Some(key_id) = &new.key_id {
            let key = store::keys::find_key(&self.db, key_id).await?;
            if key.account_id != new.account_id {
                return Err(Error::KeyNotFound);
            }
            if key.family != Family::Ts {
                return Err(Error::invalid("key_id", "must be a TS key of the account"));
            }
        }
        if caller.member().is_none() && self.identity.account(&new.account_id).await?.is_none() {
            return Err(Error::AccountNotFound);
        }
        let created = app::deployments::register(&self.db, &context, &new, &r).await?;
        Ok(convert::deployment(&created))
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
        let current = self
            .visible_deployment(
                &caller,
                &patch.deployment_id,
                &[ISSUE, INTERNAL_SCOPE],
                ADMIN_ONLY,
            )
            .await?;
        caller.require_admin_of(&current.account_id, &[ISSUE, INTERNAL_SCOPE])?;
        let patch = deployment_patch(&patch, r.update_mask, &current)?;
        let after = app::deployments::update(&self.db, &context, &current, &patch).await?;
        Ok(convert::deployment(&after))
    }

    pub(super) async fn list_deployments(
        &self,
        context: CallContext,
        r: pb::ListDeploymentsRequest,
    ) -> Result<pb::ListDeploymentsResponse> {
        let caller = self.caller(&context).await?;
        caller.require_admin_of(&r.account_id, &[INTERNAL_SCOPE, ISSUE])?;
        let mut v = Violations::default();
        v.require("account_id", &r.account_id);
        v.finish().map_err(Error::invalid_fields)?;
        let deployments =
            store::deployments::list_deployments(&self.db, &r.account_id, false).await?;
        Ok(pb::ListDeploymentsResponse {
            deployments: deployments.iter().map(convert::deployment).collect(),
        })
    }
}
