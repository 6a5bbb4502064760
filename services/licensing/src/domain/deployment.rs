//! Deployments (L8): an account's on-premise deployments and cloud sites, each active or inactive, with the
//! Creator seats login-based licensing hands out on them (L9).

use chrono::{DateTime, Utc};

pub use portal_policy::DeploymentKind;

use crate::error::{Error, Result};

/// The longest deployment name, in characters.
pub const MAX_NAME: usize = 200;
/// The most Creator seats one deployment has.
pub const MAX_CREATOR_SEATS: u64 = 1_000_000;

/// L8: `ACTIVE` as registered, or `INACTIVE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentState {
    Active,
    Inactive,
}

impl DeploymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Active => "ACTIVE",
            DeploymentState::Inactive => "INACTIVE",
        }
    }
}

/// L14: what an on-premise deployment of a server key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Production,
    NonProduction,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "PRODUCTION",
            Environment::NonProduction => "NON_PRODUCTION",
        }
    }

    /// L14: how many active deployments of this environment one server key licenses.
    pub fn limit(self) -> usize {
        match self {
            Environment::Production => 1,
            Environment::NonProduction => 2,
        }
    }
}

/// L14: the environment a deployment of a server key takes, given the environments of the key's other active
/// deployments (`taken`): the one asked for while the key has room for it; not asked, production while free,
/// else non-production (callers that predate environments keep registering within the limits).
pub fn place_environment(asked: Option<Environment>, taken: &[Environment]) -> Result<Environment> {
    let has_room = |env: Environment| taken.iter().filter(|t| **t == env).count() < env.limit();
    let candidates = match asked {
        Some(env) => vec![env],
        None => vec![Environment::Production, Environment::NonProduction],
    };
    candidates
        .into_iter()
        .find(|env| has_room(*env))
        .ok_or(Error::EnvironmentLimitReached)
}

/// L8: how a deployment's kind is named (as stored and audited).
pub fn kind_name(kind: DeploymentKind) -> &'static str {
    match kind {
        DeploymentKind::OnPremise => "ON_PREMISE",
        DeploymentKind::CloudSite => "CLOUD_SITE",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub deployment_id: String,
    pub account_id: String,
    pub kind: DeploymentKind,
    pub name: String,
    pub state: DeploymentState,
    pub lblm_enabled: bool,
    pub creator_seats: u64,
    pub key_id: Option<String>,
    /// L14: production or not; production for a cloud site or a deployment without a key.
    pub environment: Environment,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

impl Deployment {
    /// L14: whether the deployment counts against its key's environments.
    pub fn holds_environment(&self) -> bool {
        self.state == DeploymentState::Active && self.key_id.is_some()
    }
}

/// L8: a deployment as registered, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeployment {
    pub account_id: String,
    pub kind: DeploymentKind,
    pub name: String,
    pub lblm_enabled: bool,
    pub creator_seats: u64,
    pub key_id: Option<String>,
    /// L14: the environment asked for; `None` lets [`place_environment`] choose.
    pub environment: Option<Environment>,
}

/// The fields an update changes; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentPatch {
    pub name: Option<String>,
    pub state: Option<DeploymentState>,
    pub lblm_enabled: Option<bool>,
    pub creator_seats: Option<u64>,
}

impl Deployment {
    /// The deployment with `patch` applied.
    pub fn patched(&self, patch: &DeploymentPatch, now: DateTime<Utc>) -> Deployment {
        Deployment {
            name: patch.name.clone().unwrap_or_else(|| self.name.clone()),
            state: patch.state.unwrap_or(self.state),
            lblm_enabled: patch.lblm_enabled.unwrap_or(self.lblm_enabled),
            creator_seats: patch.creator_seats.unwrap_or(self.creator_seats),
            update_time: now,
            ..self.clone()
        }
    }
}

/// L8: a deployment's name, trimmed: not empty, printable, at most [`MAX_NAME`] characters.
pub fn check_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        Err("must not be empty".into())
    } else if trimmed.chars().count() > MAX_NAME || trimmed.chars().any(char::is_control) {
        Err(format!("must be at most {MAX_NAME} printable characters"))
    } else {
        Ok(trimmed.to_string())
    }
}

/// L9: Creator seats are bought for login-based licensing: a deployment without it has none.
pub fn check_creator_seats(seats: i64, lblm_enabled: bool) -> Result<u64, String> {
    let seats = u64::try_from(seats)
        .ok()
        .filter(|s| *s <= MAX_CREATOR_SEATS)
        .ok_or_else(|| format!("must be between 0 and {MAX_CREATOR_SEATS}"))?;
    if seats > 0 && !lblm_enabled {
        return Err("Creator seats need login-based licensing (lblm_enabled)".into());
    }
    Ok(seats)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn l8_names_are_trimmed_printable_and_bounded() {
        assert_eq!(check_name("  Prod  ").unwrap(), "Prod");
        assert!(check_name(" ").is_err());
        assert!(check_name("a\u{7}b").is_err());
        assert!(check_name(&"x".repeat(MAX_NAME + 1)).is_err());
    }

    #[test]
    fn l14_a_server_key_has_one_production_and_two_non_production_deployments() {
        use Environment::{NonProduction as Non, Production as Prod};
        assert_eq!(place_environment(Some(Prod), &[]).unwrap(), Prod);
        assert!(matches!(
            place_environment(Some(Prod), &[Prod]),
            Err(Error::EnvironmentLimitReached)
        ));
        assert_eq!(place_environment(Some(Non), &[Prod, Non]).unwrap(), Non);
        assert!(matches!(
            place_environment(Some(Non), &[Non, Non]),
            Err(Error::EnvironmentLimitReached)
        ));
        // A fourth environment, asked or not, is refused.
        for asked in [Some(Prod), Some(Non), None] {
            assert!(matches!(
                place_environment(asked, &[Prod, Non, Non]),
                Err(Error::EnvironmentLimitReached)
            ));
        }
    }

    #[test]
    fn l14_unasked_environments_fill_production_first() {
        use Environment::{NonProduction as Non, Production as Prod};
        assert_eq!(place_environment(None, &[]).unwrap(), Prod);
        assert_eq!(place_environment(None, &[Prod]).unwrap(), Non);
        assert_eq!(place_environment(None, &[Non, Non]).unwrap(), Prod);
        assert_eq!(place_environment(None, &[Prod, Non]).unwrap(), Non);
    }

    #[test]
    fn l9_creator_seats_need_login_based_licensing() {
        assert_eq!(check_creator_seats(5, true).unwrap(), 5);
        assert_eq!(check_creator_seats(0, false).unwrap(), 0);
        assert!(check_creator_seats(1, false).is_err());
        assert!(check_creator_seats(-1, true).is_err());
    }
}
