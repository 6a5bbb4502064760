//! Login-based license management (L9): site roles, Creator seats and signed authorizations to run.

use chrono::{DateTime, Utc};

use crate::{
    domain::{Deployment, DeploymentState, Email, Product},
    error::{Error, Result},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteRole {
    Creator,
    Explorer,
    Viewer,
}

impl SiteRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SiteRole::Creator => "CREATOR",
            SiteRole::Explorer => "EXPLORER",
            SiteRole::Viewer => "VIEWER",
        }
    }
}

/// L9: a person's role on a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteMembership {
    pub deployment_id: String,
    pub account_id: String,
    pub email: String,
    pub user_id: String,
    pub site_role: SiteRole,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// L9: giving a person a role on a deployment, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSiteRole {
    pub deployment_id: String,
    pub email: Email,
    pub site_role: SiteRole,
}

/// L9: an authorization to run as asked for: who, on which deployment, which product on which machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    pub deployment_id: String,
    pub email: Email,
    pub product: Product,
    pub machine_fingerprint: String,
    pub hostname: String,
    pub version: String,
}

/// L9: the check-in of an authorization to run, which is also the usage Administrators see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCheckIn {
    pub deployment_id: String,
    pub account_id: String,
    pub email_key: String,
    pub product: Product,
    pub machine_fingerprint: String,
    pub hostname: String,
    pub version: String,
    pub last_use_time: DateTime<Utc>,
    pub expire_time: DateTime<Utc>,
}

/// L9: Creator seats of a deployment, used and unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatUsage {
    pub seats: u64,
    pub used: u64,
    pub unused: u64,
}

/// L9: how many of a deployment's Creator seats `members` take.
pub fn creator_seat_usage<'a>(
    deployment: &Deployment,
    members: impl IntoIterator<Item = &'a SiteMembership>,
) -> SeatUsage {
    let used = members
        .into_iter()
        .filter(|m| m.deployment_id == deployment.deployment_id && m.site_role == SiteRole::Creator)
        .count() as u64;
    SeatUsage {
        seats: deployment.creator_seats,
        used,
        unused: deployment.creator_seats.saturating_sub(used),
    }
}

/// L9: site roles and authorizations to run exist only on an active, LBLM-enabled deployment.
pub fn ensure_lblm(deployment: &Deployment) -> Result<()> {
    if !deployment.lblm_enabled {
        return Err(Error::LblmNotEnabled);
    }
    if deployment.state != DeploymentState::Active {
        return Err(Error::DeploymentInactive);
    }
    Ok(())
}

/// L9: Creator seats are limited by what was bought. `creators` counts the other Creators of the deployment.
pub fn ensure_creator_seat(role: SiteRole, creators: u64, seats: u64) -> Result<()> {
    if role == SiteRole::Creator && creators >= seats {
        Err(Error::CreatorSeatsExhausted)
    } else {
        Ok(())
    }
}

/// B11: when seats left the site (their key expired or was revoked), the Creators beyond the remaining seats —
/// the most recent ones — get no new authorization to run; what they were granted runs until it expires.
/// `creators` are the site's Creators in the order they became Creators.
pub fn b11_ensure_within_seats(
    creators: &[SiteMembership],
    email_key: &str,
    seats: u64,
) -> Result<()> {
    let position = creators
        .iter()
        .position(|m| m.email.to_lowercase() == email_key);
    match position {
        Some(p) if (p as u64) < seats => Ok(()),
        _ => Err(Error::CreatorSeatsExhausted),
    }
}

/// L9: only a Creator may run Desktop or Prep Builder under login-based licensing.
pub fn ensure_may_run(role: Option<SiteRole>, product: Product) -> Result<()> {
    if !matches!(product, Product::Desktop | Product::PrepBuilder) {
        return Err(Error::invalid(
            "product",
            "authorizations to run are for Desktop or Prep Builder",
        ));
    }
    match role {
        Some(SiteRole::Creator) => Ok(()),
        _ => Err(Error::NotACreator),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn l9_creator_seats_are_limited() {
        assert!(ensure_creator_seat(SiteRole::Creator, 1, 2).is_ok());
        assert!(matches!(
            ensure_creator_seat(SiteRole::Creator, 2, 2),
            Err(Error::CreatorSeatsExhausted)
        ));
        assert!(ensure_creator_seat(SiteRole::Viewer, 5, 0).is_ok());
    }

    #[test]
    fn b11_creators_beyond_the_remaining_seats_get_no_new_authorization() {
        let now = Utc::now();
        let creator = |email: &str| SiteMembership {
            deployment_id: "dep-1".into(),
            account_id: "acc-1".into(),
            email: email.into(),
            user_id: format!("usr-{email}"),
            site_role: SiteRole::Creator,
            create_time: now,
            update_time: now,
        };
        let creators = [creator("First@x.example"), creator("second@x.example")];
        assert!(b11_ensure_within_seats(&creators, "first@x.example", 2).is_ok());
        assert!(b11_ensure_within_seats(&creators, "second@x.example", 2).is_ok());
        assert!(b11_ensure_within_seats(&creators, "first@x.example", 1).is_ok());
        assert!(matches!(
            b11_ensure_within_seats(&creators, "second@x.example", 1),
            Err(Error::CreatorSeatsExhausted)
        ));
        assert!(b11_ensure_within_seats(&creators, "first@x.example", 0).is_err());
        assert!(b11_ensure_within_seats(&creators, "stranger@x.example", 5).is_err());
    }

    #[test]
    fn l9_only_creators_run_desktop_or_prep() {
        assert!(ensure_may_run(Some(SiteRole::Creator), Product::Desktop).is_ok());
        assert!(ensure_may_run(Some(SiteRole::Creator), Product::PrepBuilder).is_ok());
        assert!(matches!(
            ensure_may_run(Some(SiteRole::Explorer), Product::Desktop),
            Err(Error::NotACreator)
        ));
        assert!(matches!(
            ensure_may_run(None, Product::Desktop),
            Err(Error::NotACreator)
        ));
        assert!(matches!(
            ensure_may_run(Some(SiteRole::Creator), Product::Server),
            Err(Error::Common(portal_runtime::error::Common::Invalid(_)))
        ));
    }
}
