//! I11: who may open support cases for an account.

pub use portal_policy::{Deployment, DeploymentKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    pub eligible: bool,
    pub reason: &'static str,
}

/// I11: not academic, and an active cloud site, or — for a portal user of the account — an active on-premise
/// deployment. Someone who is not a portal user is eligible only through an active cloud site.
pub fn support_eligibility(
    academic: bool,
    is_portal_user: bool,
    deployments: &[Deployment],
) -> Eligibility {
    let active = |kind| deployments.iter().any(|d| d.kind == kind && d.active);
    let (eligible, reason) = if academic {
        (false, "academic accounts have no support entitlement")
    } else if active(DeploymentKind::CloudSite) {
        (true, "the account has an active cloud site")
    } else if is_portal_user && active(DeploymentKind::OnPremise) {
        (
            true,
            "a portal user of an account with an active on-premise deployment",
        )
    } else if active(DeploymentKind::OnPremise) {
        (
            false,
            "not a portal user of the account, and it has no active cloud site",
        )
    } else {
        (
            false,
            "the account has no active cloud site or on-premise deployment",
        )
    };
    Eligibility { eligible, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOUD: Deployment = Deployment {
        kind: DeploymentKind::CloudSite,
        active: true,
    };
    const ON_PREM: Deployment = Deployment {
        kind: DeploymentKind::OnPremise,
        active: true,
    };
    const OLD_CLOUD: Deployment = Deployment {
        kind: DeploymentKind::CloudSite,
        active: false,
    };

    #[test]
    fn i11_academic_accounts_are_never_eligible() {
        assert!(!support_eligibility(true, true, &[CLOUD, ON_PREM]).eligible);
    }

    #[test]
    fn i11_an_active_cloud_site_makes_anyone_eligible() {
        assert!(support_eligibility(false, false, &[CLOUD]).eligible);
        assert!(support_eligibility(false, true, &[CLOUD]).eligible);
    }

    #[test]
    fn i11_on_premise_counts_for_portal_users_only() {
        assert!(support_eligibility(false, true, &[ON_PREM]).eligible);
        assert!(!support_eligibility(false, false, &[ON_PREM]).eligible);
    }

    #[test]
    fn i11_inactive_deployments_do_not_count() {
        let e = support_eligibility(false, true, &[OLD_CLOUD]);
        assert!(!e.eligible);
        assert_eq!(
            e.reason,
            "the account has no active cloud site or on-premise deployment"
        );
    }
}
