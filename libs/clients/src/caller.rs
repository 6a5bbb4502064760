//! Who is calling a service other than identity: a service principal, or an active portal user as identity
//! knows them, and the authorization checks every such service makes (I10).

use portal_policy::{Action, Holdings, Role, Subject, decide, who_may};
use portal_runtime::Principal;

use crate::{ClientError, Directory, Member};

/// The resolved caller of an RPC.
#[derive(Debug, Clone)]
pub enum Caller {
    Service(Principal),
    User(Member),
}

/// Why a caller may not proceed.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    #[error("permission denied: {0}")]
    Denied(String),
    #[error(transparent)]
    Client(#[from] ClientError),
}

fn denied(why: impl Into<String>) -> CallerError {
    CallerError::Denied(why.into())
}

/// The refusal of [`Caller::require_admin_of`], for any caller and any account, existing or not: a check of
/// a resource that hides whether it exists refuses in the same words.
pub const ADMIN_ONLY: &str = "only an Administrator of the account may do this";

impl Caller {
    /// A user token must name an active portal user; anything else is `PERMISSION_DENIED`.
    pub async fn resolve(directory: &Directory, principal: Principal) -> Result<Self, CallerError> {
        match &principal {
            Principal::Service { .. } => Ok(Caller::Service(principal)),
            Principal::User { user_id } => match directory.user(user_id).await? {
                Some(member) => Ok(Caller::User(member)),
                None => Err(denied("the calling user is not an active portal user")),
            },
        }
    }

    /// For RPCs only services may call: a service principal holding one of `scopes`. A user token is refused
    /// with the same PERMISSION_DENIED without asking identity, so an identity outage cannot turn the refusal
    /// into UNAVAILABLE.
    pub fn service_only(principal: Principal, scopes: &[&str]) -> Result<Self, CallerError> {
        let caller = Caller::Service(principal);
        caller.require_scope(scopes).map(|()| caller)
    }

    /// A service principal holding one of `scopes`.
    pub fn has_scope(&self, scopes: &[&str]) -> bool {
        matches!(self, Caller::Service(p) if scopes.iter().any(|s| p.has_scope(s)))
    }

    pub fn member(&self) -> Option<&Member> {
        match self {
            Caller::User(m) => Some(m),
            Caller::Service(_) => None,
        }
    }

    pub fn is_admin_of(&self, account_id: &str) -> bool {
        self.member()
            .is_some_and(|m| m.account_id == account_id && m.role == Role::Administrator)
    }

    /// Only service principals with one of `scopes`.
    pub fn require_scope(&self, scopes: &[&str]) -> Result<(), CallerError> {
        if self.has_scope(scopes) {
            Ok(())
        } else {
            Err(denied(format!(
                "requires a service principal with scope {}",
                scopes.join(" or ")
            )))
        }
    }

    /// An Administrator of `account_id`, or a service principal with one of `scopes`.
    pub fn require_admin_of(&self, account_id: &str, scopes: &[&str]) -> Result<(), CallerError> {
        if self.has_scope(scopes) || self.is_admin_of(account_id) {
            Ok(())
        } else {
            Err(denied(ADMIN_ONLY))
        }
    }

    /// A user of `account_id` whom the shared policy allows `action`, or a service principal with one of
    /// `scopes`. For actions decided by the role alone (invoices, purchases, payments, users); actions that
    /// depend on key facts are decided where those facts live. Refused, it is [`Caller::refusal`].
    pub fn require_action(
        &self,
        account_id: &str,
        action: Action,
        scopes: &[&str],
    ) -> Result<(), CallerError> {
        if self.has_scope(scopes) {
            return Ok(());
        }
        let allowed = self.member().is_some_and(|m| {
            let subject = Subject {
                role: m.role,
                holdings: Holdings::default(),
                case_administrator: m.case_administrator,
            };
            m.account_id == account_id && decide(subject, action).allowed
        });
        if allowed {
            Ok(())
        } else {
            Err(self.refusal(action, scopes))
        }
    }

    /// Why this caller may not do `action` (unless it holds one of `scopes`): the same words whichever account
    /// or resource the call named, whether it exists, and whatever the caller's persona there (I10), so that
    /// a refusal tells nothing about them. A resource hidden from the caller is refused with it too.
    pub fn refusal(&self, action: Action, scopes: &[&str]) -> CallerError {
        match self {
            Caller::User(_) => denied(format!("may not {}: {}", action.name(), who_may(action))),
            Caller::Service(_) => denied(format!(
                "requires a user of the account or a service principal with scope {}",
                scopes.join(" or ")
            )),
        }
    }
}
