//! Arrange helpers: accounts, users and keys created the way a real caller would, over the RPCs.

use chrono::{Duration, Utc};
use portal_proto::{
    common::{KeyFamily, LicenseType},
    identity::{self as id, Permission, Role},
    licensing as lic,
};
use portal_runtime::time::to_proto;

use crate::TestApp;

/// The request for one one-year term key of `family` with `seats` for `account_id`, which tests vary.
pub fn term_key(account_id: &str, family: KeyFamily, seats: i32) -> lic::IssueKeysRequest {
    lic::IssueKeysRequest {
        account_id: account_id.into(),
        family: family as i32,
        seats,
        license_type: LicenseType::Term as i32,
        period_end: Some(to_proto(Utc::now() + Duration::days(365))),
        maintenance_end: Some(to_proto(Utc::now() + Duration::days(365))),
        count: 1,
        request_id: String::new(),
        lblm_enabled: false,
        purchase_id: String::new(),
    }
}

impl TestApp {
    /// A new account (created by the operator principal); returns its id.
    pub async fn new_account(&self, name: &str, academic: bool) -> String {
        let mut identity = self.identity(&self.operator_token()).await;
        identity
            .create_account(id::CreateAccountRequest {
                name: name.into(),
                academic,
                request_id: String::new(),
            })
            .await
            .unwrap_or_else(|e| panic!("create account: {e:?}"))
            .into_inner()
            .account_id
    }

    /// A new active user of `account_id` (created by the operator principal).
    pub async fn new_user(
        &self,
        account_id: &str,
        email: &str,
        role: Role,
        permissions: &[Permission],
    ) -> id::User {
        let mut identity = self.identity(&self.operator_token()).await;
        identity
            .create_user(id::CreateUserRequest {
                account_id: account_id.into(),
                email: email.into(),
                display_name: email.split('@').next().unwrap_or(email).into(),
                role: role as i32,
                additional_permissions: permissions.iter().map(|p| *p as i32).collect(),
                request_id: String::new(),
            })
            .await
            .unwrap_or_else(|e| panic!("create user {email}: {e:?}"))
            .into_inner()
    }

    /// An account with one Administrator; returns (account id, admin user, admin token).
    pub async fn account_with_admin(&self, name: &str) -> (String, id::User, String) {
        let account_id = self.new_account(name, false).await;
        let admin = self
            .new_user(
                &account_id,
                &format!("admin@{}.example", name.to_lowercase()),
                Role::Administrator,
                &[],
            )
            .await;
        let token = self.user_token(&admin.user_id);
        (account_id, admin, token)
    }

    /// A [`term_key`] issued by an issuer principal.
    pub async fn issue_key(
        &self,
        account_id: &str,
        family: KeyFamily,
        seats: i32,
    ) -> lic::ProductKey {
        let mut issuer = self
            .licensing(&self.service_token("issuer", "licensing.issue"))
            .await;
        issuer
            .issue_keys(term_key(account_id, family, seats))
            .await
            .unwrap_or_else(|e| panic!("issue a {family:?} key: {e:?}"))
            .into_inner()
            .keys
            .pop()
            .unwrap_or_else(|| panic!("no {family:?} key issued"))
    }
}
