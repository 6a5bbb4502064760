//! Arrange helpers: accounts, users and keys created the way a real caller would, over the RPCs.

use portal_proto::identity::{self as id, Permission, Role};

use crate::TestApp;

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
}
