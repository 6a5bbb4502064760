//! Cloud sites provisioned by purchases (B11): which site bought Creator seats go to (the account's oldest
//! active cloud site, or a new LBLM-enabled one), which keys may carry seats, what a key's seats leaving does
//! to its site, and what the Administrators are told.

use chrono::{DateTime, Utc};

use crate::{
    domain::{
        Deployment, DeploymentKind, DeploymentState, Key, KeyState, NewDeployment, Product,
        deployment::{Environment, MAX_CREATOR_SEATS, MAX_NAME},
    },
    error::{Error, Result},
};

/// B11: provisioning the Creator seats of one purchase line, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatProvision {
    pub account_id: String,
    pub key_id: String,
    pub creator_seats: u64,
    pub purchase_id: Option<String>,
}

/// B11: the Creator seats one key put on a cloud site. They leave it (`end_time`) when the key stops being live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSeats {
    pub key_id: String,
    pub deployment_id: String,
    pub account_id: String,
    pub purchase_id: Option<String>,
    pub creator_seats: u64,
    /// How many Administrators were told when the seats arrived; 0 means nobody could be.
    pub administrators_notified: u32,
    pub create_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
}

/// B11: where the seats go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SitePlan {
    /// The account has no active cloud site: this one is created.
    Create(NewDeployment),
    /// The seats are added to the account's site, which becomes this.
    Grow(Deployment),
}

/// B11: the seats come with an LBLM-enabled key of the account that covers Desktop and Prep Builder and is
/// still live. A key of another account is not found, as for any other caller.
pub fn b11_ensure_key_carries_seats(key: &Key, account_id: &str) -> Result<()> {
    if key.account_id != account_id {
        return Err(Error::KeyNotFound);
    }
    match key.state {
        KeyState::Expired => return Err(Error::KeyExpired),
        KeyState::Revoked => return Err(Error::KeyRevoked),
        KeyState::Active => {}
    }
    let covers = [Product::Desktop, Product::PrepBuilder]
        .into_iter()
        .all(|p| key.family.covers(p));
    if !key.lblm_enabled || !covers {
        return Err(Error::LblmNotEnabled);
    }
    Ok(())
}

/// B11: the site a new cloud site of `account_name` is called.
pub fn b11_site_name(account_name: &str) -> String {
    let name = format!("{} cloud site", account_name.trim());
    if name.chars().count() <= MAX_NAME && !name.chars().any(char::is_control) {
        name
    } else {
        "Cloud site".to_string()
    }
}

/// B11: the account's oldest active cloud site takes the seats (turning login-based licensing on if it was
/// off); an account without one gets a new LBLM-enabled site with exactly the seats bought.
pub fn b11_plan(
    provision: &SeatProvision,
    account_name: &str,
    deployments: &[Deployment],
    now: DateTime<Utc>,
) -> Result<SitePlan> {
    let site = deployments
        .iter()
        .filter(|d| {
            d.account_id == provision.account_id
                && d.kind == DeploymentKind::CloudSite
                && d.state == DeploymentState::Active
        })
        .min_by(|a, b| (a.create_time, &a.deployment_id).cmp(&(b.create_time, &b.deployment_id)));
    let Some(site) = site else {
        return Ok(SitePlan::Create(NewDeployment {
            account_id: provision.account_id.clone(),
            kind: DeploymentKind::CloudSite,
            name: b11_site_name(account_name),
            lblm_enabled: true,
            creator_seats: provision.creator_seats,
            key_id: None,
            // L14: a cloud site is the account's production deployment.
            environment: Some(Environment::Production),
        }));
    };
    let seats = site
        .creator_seats
        .checked_add(provision.creator_seats)
        .filter(|s| *s <= MAX_CREATOR_SEATS)
        .ok_or_else(|| {
            Error::invalid(
                "creator_seats",
                format!("the site would have more than {MAX_CREATOR_SEATS} Creator seats"),
            )
        })?;
    Ok(SitePlan::Grow(Deployment {
        lblm_enabled: true,
        creator_seats: seats,
        update_time: now,
        ..site.clone()
    }))
}

/// B11: the site after a key's seats left it. Seats set by hand since are not taken below zero; the Creators
/// already there keep their role (and their grants run until they expire), but no Creator role beyond the
/// remaining seats is given (L9 `ensure_creator_seat`).
pub fn b11_without_seats(site: &Deployment, seats: &SiteSeats, now: DateTime<Utc>) -> Deployment {
    Deployment {
        creator_seats: site.creator_seats.saturating_sub(seats.creator_seats),
        update_time: now,
        ..site.clone()
    }
}

/// B11: what the "cloud site ready" notice says: the site, its Creator seats now, the seats this purchase
/// added, whether the site is new, and the next step.
pub fn b11_notice_fields(
    site: &Deployment,
    seats_added: u64,
    created: bool,
) -> Vec<(String, String)> {
    [
        ("site_name", site.name.clone()),
        ("site_id", site.deployment_id.clone()),
        ("creator_seats", site.creator_seats.to_string()),
        ("seats_added", seats_added.to_string()),
        ("created", created.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{Family, KeyString, LicenseType};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
    }

    fn provision(seats: u64) -> SeatProvision {
        SeatProvision {
            account_id: "acc-1".into(),
            key_id: "key-1".into(),
            creator_seats: seats,
            purchase_id: Some("pur-1".into()),
        }
    }

    fn site(
        id: &str,
        kind: DeploymentKind,
        state: DeploymentState,
        seats: u64,
        day: u32,
    ) -> Deployment {
        Deployment {
            deployment_id: id.into(),
            account_id: "acc-1".into(),
            kind,
            name: id.into(),
            state,
            lblm_enabled: seats > 0,
            creator_seats: seats,
            key_id: None,
            environment: Environment::Production,
            create_time: Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap(),
            update_time: Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap(),
        }
    }

    fn key() -> Key {
        Key {
            key_id: "key-1".into(),
            key: KeyString::parse("key", "TC12-3456-7890-ABCD-1234").unwrap(),
            account_id: "acc-1".into(),
            family: Family::Tc,
            seats: 3,
            license_type: LicenseType::Term,
            period_end: Some(now()),
            maintenance_end: now(),
            state: KeyState::Active,
            owner_user_id: None,
            lblm_enabled: true,
            deployment_id: None,
            purchase_id: None,
            revoked: None,
            create_time: now(),
            update_time: now(),
        }
    }

    #[test]
    fn b11_an_account_without_an_active_cloud_site_gets_a_new_lblm_site_with_the_seats() {
        let on_premise = site(
            "dep-a",
            DeploymentKind::OnPremise,
            DeploymentState::Active,
            0,
            1,
        );
        let inactive = site(
            "dep-b",
            DeploymentKind::CloudSite,
            DeploymentState::Inactive,
            4,
            2,
        );
        match b11_plan(&provision(3), "Acme", &[on_premise, inactive], now()).unwrap() {
            SitePlan::Create(new) => {
                assert_eq!(new.kind, DeploymentKind::CloudSite);
                assert!(new.lblm_enabled);
                assert_eq!(new.creator_seats, 3);
                assert_eq!(new.name, "Acme cloud site");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn b11_seats_are_added_to_the_oldest_active_cloud_site() {
        let newer = site(
            "dep-a",
            DeploymentKind::CloudSite,
            DeploymentState::Active,
            1,
            5,
        );
        let older = site(
            "dep-z",
            DeploymentKind::CloudSite,
            DeploymentState::Active,
            3,
            2,
        );
        match b11_plan(&provision(2), "Acme", &[newer, older], now()).unwrap() {
            SitePlan::Grow(site) => {
                assert_eq!(site.deployment_id, "dep-z");
                assert_eq!(site.creator_seats, 5);
                assert_eq!(site.update_time, now());
            }
            other => panic!("{other:?}"),
        }
        let without_lblm = site(
            "dep-c",
            DeploymentKind::CloudSite,
            DeploymentState::Active,
            0,
            1,
        );
        match b11_plan(&provision(2), "Acme", &[without_lblm], now()).unwrap() {
            SitePlan::Grow(site) => assert!(site.lblm_enabled && site.creator_seats == 2),
            other => panic!("{other:?}"),
        }
        let full = site(
            "dep-f",
            DeploymentKind::CloudSite,
            DeploymentState::Active,
            MAX_CREATOR_SEATS,
            1,
        );
        assert!(b11_plan(&provision(1), "Acme", &[full], now()).is_err());
    }

    #[test]
    fn b11_only_a_live_lblm_creator_key_of_the_account_carries_seats() {
        assert!(b11_ensure_key_carries_seats(&key(), "acc-1").is_ok());
        assert!(matches!(
            b11_ensure_key_carries_seats(&key(), "acc-2"),
            Err(Error::KeyNotFound)
        ));
        let expired = Key {
            state: KeyState::Expired,
            ..key()
        };
        assert!(matches!(
            b11_ensure_key_carries_seats(&expired, "acc-1"),
            Err(Error::KeyExpired)
        ));
        let revoked = Key {
            state: KeyState::Revoked,
            ..key()
        };
        assert!(matches!(
            b11_ensure_key_carries_seats(&revoked, "acc-1"),
            Err(Error::KeyRevoked)
        ));
        for not_creator in [
            Key {
                lblm_enabled: false,
                ..key()
            },
            Key {
                family: Family::Td,
                ..key()
            },
        ] {
            assert!(matches!(
                b11_ensure_key_carries_seats(&not_creator, "acc-1"),
                Err(Error::LblmNotEnabled)
            ));
        }
    }

    #[test]
    fn b11_a_keys_seats_leave_its_site_never_below_zero() {
        let site = site(
            "dep-a",
            DeploymentKind::CloudSite,
            DeploymentState::Active,
            5,
            1,
        );
        let seats = |n| SiteSeats {
            key_id: "key-1".into(),
            deployment_id: "dep-a".into(),
            account_id: "acc-1".into(),
            purchase_id: None,
            creator_seats: n,
            administrators_notified: 1,
            create_time: now(),
            end_time: None,
        };
        assert_eq!(b11_without_seats(&site, &seats(2), now()).creator_seats, 3);
        assert_eq!(b11_without_seats(&site, &seats(9), now()).creator_seats, 0);
    }

    #[test]
    fn b11_the_notice_names_the_site_and_its_seats() {
        let site = site(
            "dep-a",
            DeploymentKind::CloudSite,
            DeploymentState::Active,
            5,
            1,
        );
        let fields = b11_notice_fields(&site, 2, false);
        let get = |k: &str| {
            fields
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("site_id"), Some("dep-a"));
        assert_eq!(get("creator_seats"), Some("5"));
        assert_eq!(get("seats_added"), Some("2"));
        assert_eq!(get("created"), Some("false"));
        assert_eq!(b11_site_name(&"x".repeat(MAX_NAME)), "Cloud site");
    }
}
