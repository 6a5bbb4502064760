//! Portal accounts (I1): what an account is, the command that creates one, and what it decides about its users.

use chrono::{DateTime, Utc};

use crate::{
    domain::AccountName,
    error::{Error, Result},
};

/// I1: a customer organisation's portal account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: String,
    pub name: String,
    /// Academic accounts have no portal access (I1).
    pub academic: bool,
    pub create_time: DateTime<Utc>,
}

impl Account {
    /// I1: academic accounts have no portal access, so no user can be added to one.
    pub fn ensure_portal_access(&self) -> Result<()> {
        if self.academic {
            Err(Error::AcademicAccount)
        } else {
            Ok(())
        }
    }
}

/// CreateAccount as a command: a parsed name and the academic flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub name: AccountName,
    pub academic: bool,
}

impl NewAccount {
    /// The account this command creates, as `account_id` at `now`.
    pub fn into_account(self, account_id: String, now: DateTime<Utc>) -> Account {
        Account {
            account_id,
            name: self.name.as_str().to_string(),
            academic: self.academic,
            create_time: now,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    pub(crate) fn account(academic: bool) -> Account {
        NewAccount {
            name: AccountName::parse("Acme").unwrap(),
            academic,
        }
        .into_account("acc-1".into(), Utc::now())
    }

    #[test]
    fn i1_academic_accounts_have_no_portal_access() {
        assert!(matches!(
            account(true).ensure_portal_access(),
            Err(Error::AcademicAccount)
        ));
        assert!(account(false).ensure_portal_access().is_ok());
    }
}
