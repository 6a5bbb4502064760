//! Who is calling billing, and what they may do (B6 via the shared policy, I10): Portal Administrators of an
//! account see its invoices, purchase and pay; service principals act within their scopes.

use portal_policy::{Action, Holdings, Subject, decide};
use portal_runtime::Principal;

use crate::{
    error::{Error, Result},
    identity::{Identity, Member},
};

pub const INTERNAL: &str = "internal";
pub const PAYMENTS: &str = "billing.payments";
pub const CATALOG: &str = "billing.catalog";

#[derive(Debug, Clone)]
pub enum Caller {
    Service(Principal),
    User(Member),
}

impl Caller {
    pub async fn resolve(identity: &Identity, principal: Principal) -> Result<Self> {
        match &principal {
            Principal::Service { .. } => Ok(Caller::Service(principal)),
            Principal::User { user_id } => match identity.user(user_id).await? {
                Some(member) => Ok(Caller::User(member)),
                None => Err(Error::denied("the calling user is not an active portal user")),
            },
        }
    }

    pub fn has_scope(&self, scopes: &[&str]) -> bool {
        matches!(self, Caller::Service(p) if scopes.iter().any(|s| p.has_scope(s)))
    }

    pub fn member(&self) -> Option<&Member> {
        match self {
            Caller::User(m) => Some(m),
            Caller::Service(_) => None,
        }
    }

    pub fn require_scope(&self, scopes: &[&str]) -> Result<()> {
        if self.has_scope(scopes) { Ok(()) } else { Err(Error::denied(format!("requires a service principal with scope {}", scopes.join(" or ")))) }
    }

    /// B6: a user of `account_id` whom the shared policy allows `action` (only Portal Administrators see invoices,
    /// purchase and pay), or a service principal with one of `scopes`.
    pub fn require(&self, account_id: &str, action: Action, scopes: &[&str]) -> Result<()> {
        if self.has_scope(scopes) {
            return Ok(());
        }
        match self.member() {
            Some(m) if m.account_id == account_id => {
                // The invoice actions depend on the role alone, so the key facts (a call to licensing) are not needed.
                let subject = Subject { role: m.role, holdings: Holdings::default(), case_administrator: m.case_administrator };
                if decide(subject, action).allowed {
                    Ok(())
                } else {
                    Err(Error::denied(format!("only Portal Administrators of the account may {}", action.name())))
                }
            }
            Some(_) => Err(Error::denied("only users of the account may do this")),
            None => Err(Error::denied(format!("requires a portal Administrator of the account or a service principal with scope {}", scopes.join(" or ")))),
        }
    }
}
