//! What licensing asks identity (over tonic, as `svc:licensing` with scope `internal`, with a deadline): who
//! a portal user is (account, role, e-mail, state), and whether an e-mail is an active user of an account.

use portal_policy::Role;
use portal_proto::identity::{
    self as pb, GetUserRequest, ListUsersRequest, UserState, identity_service_client::IdentityServiceClient,
};
use portal_runtime::client::{Caller, is_unavailable};
use tonic::{Code, Status, codegen::InterceptedService, transport::Channel};

use crate::error::{Error, Result};

/// The facts about a portal user that licensing decides with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: String,
    pub account_id: String,
    pub email: String,
    pub role: Role,
    pub case_administrator: bool,
}

impl Member {
    pub fn email_key(&self) -> String {
        self.email.to_lowercase()
    }
}

#[derive(Debug, Clone)]
pub struct Identity {
    client: IdentityServiceClient<InterceptedService<Channel, Caller>>,
}

fn failed(status: Status) -> Error {
    if is_unavailable(&status) {
        Error::Unavailable("identity", status.message().to_string())
    } else {
        Error::Internal(format!("identity answered {:?}: {}", status.code(), status.message()))
    }
}

fn member(user: pb::User) -> Option<Member> {
    if user.state() != UserState::Active {
        return None;
    }
    let role = match user.role() {
        pb::Role::Administrator => Role::Administrator,
        _ => Role::DownloadOnly,
    };
    Some(Member {
        case_administrator: user.additional_permissions.contains(&(pb::Permission::CaseAdministrator as i32)),
        user_id: user.user_id,
        account_id: user.account_id,
        email: user.email,
        role,
    })
}

impl Identity {
    pub fn new(channel: Channel, caller: Caller) -> Self {
        Self { client: IdentityServiceClient::with_interceptor(channel, caller) }
    }

    /// The active user `user_id`, or `None` if unknown or removed.
    pub async fn user(&self, user_id: &str) -> Result<Option<Member>> {
        let request = GetUserRequest { user_id: user_id.into(), without_persona: true };
        match self.client.clone().get_user(request).await {
            Ok(response) => Ok(member(response.into_inner())),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(failed(status)),
        }
    }

    /// The active user of `account_id` with e-mail `email` (case-insensitive), if any.
    pub async fn member_by_email(&self, account_id: &str, email: &str) -> Result<Option<Member>> {
        let request = ListUsersRequest {
            account_id: account_id.into(),
            email: email.into(),
            page_size: 1,
            without_persona: true,
            ..Default::default()
        };
        match self.client.clone().list_users(request).await {
            Ok(response) => Ok(response.into_inner().users.into_iter().find_map(member)),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(failed(status)),
        }
    }
}

impl Identity {
    /// Whether the account exists (and is not academic, which identity reports as a plain account).
    pub async fn account_exists(&self, account_id: &str) -> Result<bool> {
        let request = pb::GetAccountRequest { account_id: account_id.into() };
        match self.client.clone().get_account(request).await {
            Ok(_) => Ok(true),
            Err(status) if status.code() == Code::NotFound => Ok(false),
            Err(status) => Err(failed(status)),
        }
    }
}
