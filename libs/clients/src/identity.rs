//! Who is who, as the other services need it: a portal user's account, role, e-mail and state; whether an
//! e-mail is an active user of an account; whether an account exists.

use std::time::Duration;

use portal_policy::Role;
use portal_proto::identity::{self as pb, identity_service_client::IdentityServiceClient};
use portal_runtime::client::Caller;
use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Request, codegen::InterceptedService, transport::Channel};

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

/// The member a user record describes, `None` for a user who is not active; a record of no role is an error.
fn member(user: pb::User) -> Result<Option<Member>, ClientError> {
    if user.state() != pb::UserState::Active {
        return Ok(None);
    }
    let role = match user.role() {
        pb::Role::Administrator => Role::Administrator,
        pb::Role::DownloadOnly => Role::DownloadOnly,
        pb::Role::Unspecified => return Err(ClientError::bad_answer(SERVICE, "a user of no role")),
    };
    Ok(Some(Member {
        case_administrator: user
            .additional_permissions
            .contains(&(pb::Permission::CaseAdministrator as i32)),
        user_id: user.user_id,
        account_id: user.account_id,
        email: user.email,
        display_name: user.display_name,
        role,
    }))
}

/// Identity's directory of users, as seen by another service.
#[derive(Debug, Clone)]
pub struct Directory {
    client: IdentityServiceClient<InterceptedService<Channel, Caller>>,
}

const SERVICE: &str = "identity";

/// How long one stream of contacts may run.
const STREAM_DEADLINE: Duration = Duration::from_secs(600);

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
            Ok(response) => member(response.into_inner()),
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
            Ok(response) => {
                for user in response.into_inner().users {
                    if let Some(member) = member(user)? {
                        return Ok(Some(member));
                    }
                }
                Ok(None)
            }
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                Ok(None)
            }
            Err(status) => Err(ClientError::from_status(SERVICE, status)),
        }
    }

    /// The active Administrators of `account_id` (B11, whom account notices go to), by page of users; `None`
    /// if the account does not exist.
    pub async fn administrators(
        &self,
        account_id: &str,
    ) -> Result<Option<Vec<Member>>, ClientError> {
        /// Bounds the pages read: an account has far fewer users than this many pages hold.
        const MAX_PAGES: usize = 100;
        let mut administrators = Vec::new();
        let mut page_token = String::new();
        for _ in 0..MAX_PAGES {
            let request = pb::ListUsersRequest {
                account_id: account_id.into(),
                page_size: 1000,
                page_token: page_token.clone(),
                without_persona: true,
                ..Default::default()
            };
            let page = match self.client.clone().list_users(request).await {
                Ok(response) => response.into_inner(),
                Err(status) if status.code() == Code::NotFound => return Ok(None),
                Err(status) => return Err(ClientError::from_status(SERVICE, status)),
            };
            for user in page.users {
                if let Some(m) = member(user)?.filter(|m| m.role == Role::Administrator) {
                    administrators.push(m);
                }
            }
            if page.next_page_token.is_empty() {
                return Ok(Some(administrators));
            }
            page_token = page.next_page_token;
        }
        Err(ClientError::bad_answer(
            SERVICE,
            "users past the page bound",
        ))
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

    /// N2: the points of contact of `account_ids` (all accounts when empty), with Administrator fallback, as a
    /// stream with a long deadline; an account with nobody to tell yields one entry marked `unreachable` (N7).
    pub async fn contacts(
        &self,
        kind: pb::ContactKind,
        account_ids: Vec<String>,
    ) -> Result<impl Stream<Item = Result<pb::PointOfContact, ClientError>> + use<>, ClientError>
    {
        let mut request = Request::new(pb::ListPointsOfContactRequest {
            kind: kind as i32,
            account_ids,
            include_fallback: true,
            include_unreachable: true,
        });
        request.set_timeout(STREAM_DEADLINE);
        let stream = self
            .client
            .clone()
            .list_points_of_contact(request)
            .await
            .map_err(|s| ClientError::from_status(SERVICE, s))?;
        Ok(stream
            .into_inner()
            .map(|item| item.map_err(|s| ClientError::from_status(SERVICE, s))))
    }
}
