//! Who is who, as the other services need it: a portal user's account, role, e-mail and state; whether an
//! e-mail is an active user of an account; whether an account exists.

use portal_policy::Role;
use portal_proto::identity::{self as pb, identity_service_client::IdentityServiceClient};
use portal_runtime::client::Caller;
use tonic::{Code, codegen::InterceptedService, transport::Channel};

use crate::ClientError;

/// The facts about an active portal user that other services decide with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: String,
    pub account_id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub case_administrator: bool,
}

impl Member {
    /// The case-insensitive comparison key of the e-mail (I2).
    pub fn email_key(&self) -> String {
        self.email.to_lowercase()
    }
}

fn member(user: pb::User) -> Option<Member> {
    if user.state() != pb::UserState::Active {
        return None;
    }
    let role = match user.role() {
        pb::Role::Administrator => Role::Administrator,
        _ => Role::DownloadOnly,
    };
    Some(Member {
        case_administrator: user
            .additional_permissions
            .contains(&(pb::Permission::CaseAdministrator as i32)),
        user_id: user.user_id,
        account_id: user.account_id,
        email: user.email,
        display_name: user.display_name,
        role,
    })
}

/// Identity's directory of users, as seen by another service.
#[derive(Debug, Clone)]
pub struct Directory {
    client: IdentityServiceClient<InterceptedService<Channel, Caller>>,
}

const SERVICE: &str = "identity";

impl Directory {
    pub fn new(channel: Channel, caller: Caller) -> Self {
        Self {
            client: IdentityServiceClient::with_interceptor(channel, caller),
        }
    }

    /// The active user `user_id`, or `None` if unknown or removed.
    pub async fn user(&self, user_id: &str) -> Result<Option<Member>, ClientError> {
        let request = pb::GetUserRequest {
            user_id: user_id.into(),
            without_persona: true,
        };
        match self.client.clone().get_user(request).await {
            Ok(response) => Ok(member(response.into_inner())),
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                Ok(None)
            }
            Err(status) => Err(ClientError::from_status(SERVICE, status)),
        }
    }

    /// The active user of `account_id` with e-mail `email` (case-insensitive), if any.
    pub async fn member_by_email(
        &self,
        account_id: &str,
        email: &str,
    ) -> Result<Option<Member>, ClientError> {
        let request = pb::ListUsersRequest {
            account_id: account_id.into(),
            email: email.into(),
            page_size: 1,
            without_persona: true,
            ..Default::default()
        };
        match self.client.clone().list_users(request).await {
            Ok(response) => Ok(response.into_inner().users.into_iter().find_map(member)),
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                Ok(None)
            }
            Err(status) => Err(ClientError::from_status(SERVICE, status)),
        }
    }

    /// The account, or `None` if it does not exist.
    pub async fn account(&self, account_id: &str) -> Result<Option<pb::Account>, ClientError> {
        let request = pb::GetAccountRequest {
            account_id: account_id.into(),
        };
        match self.client.clone().get_account(request).await {
            Ok(response) => Ok(Some(response.into_inner())),
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                Ok(None)
            }
            Err(status) => Err(ClientError::from_status(SERVICE, status)),
        }
    }
}
