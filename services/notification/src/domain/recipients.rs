//! Recipients (N2, N7): who receives an advisory, and which targeted accounts have nobody to tell.

use std::collections::HashSet;

use super::Kind;

/// N2: the additional permission whose holders receive an advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactRole {
    SecurityPointOfContact,
    TechnicalPointOfContact,
}

impl Kind {
    /// N2: a `SECURITY` advisory goes to every Security Point of Contact, a `TECHNICAL` one to every Technical
    /// Point of Contact (identity falls back to the Administrators of an account with none).
    pub fn n2_recipients(self) -> ContactRole {
        match self {
            Kind::Security => ContactRole::SecurityPointOfContact,
            Kind::Technical => ContactRole::TechnicalPointOfContact,
        }
    }
}

/// One person a ledger row is addressed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub account_id: String,
    pub account_name: String,
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    /// N2: an Administrator told because the account has no designated contact.
    pub fallback: bool,
}

/// N2/N7: how many accounts an advisory targeted, and those with nobody to tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub accounts: i64,
    pub unreachable: Vec<String>,
}

impl Coverage {
    /// N7: adds one page of targeted accounts. `asked` are the accounts the page asked about; those of them
    /// without any contact are unreachable. Targeting all accounts asks about none: then the accounts are
    /// those some contact was `reached` in and those identity `marked` as having nobody to tell.
    pub fn n7_add_page(
        &mut self,
        asked: Option<&[String]>,
        reached: &HashSet<String>,
        marked: &[String],
    ) {
        match asked {
            None => {
                let unreachable: Vec<&String> =
                    marked.iter().filter(|id| !reached.contains(*id)).collect();
                self.accounts += (reached.len() + unreachable.len()) as i64;
                self.unreachable.extend(unreachable.into_iter().cloned());
            }
            Some(asked) => {
                self.accounts += asked.len() as i64;
                self.unreachable
                    .extend(asked.iter().filter(|id| !reached.contains(*id)).cloned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n2_kinds_go_to_their_points_of_contact() {
        assert_eq!(
            Kind::Security.n2_recipients(),
            ContactRole::SecurityPointOfContact
        );
        assert_eq!(
            Kind::Technical.n2_recipients(),
            ContactRole::TechnicalPointOfContact
        );
    }

    #[test]
    fn n7_accounts_without_contacts_are_unreachable() {
        let mut coverage = Coverage::default();
        let asked = ["a".to_string(), "b".into(), "c".into()];
        let reached: HashSet<String> = ["a".to_string(), "c".into()].into();
        let marked = ["b".to_string()];
        coverage.n7_add_page(Some(&asked), &reached, &marked);
        coverage.n7_add_page(None, &reached, &[]);
        assert_eq!(coverage.accounts, 5);
        assert_eq!(coverage.unreachable, ["b"]);
    }

    #[test]
    fn n7_all_accounts_reports_the_accounts_with_nobody_to_tell() {
        let mut coverage = Coverage::default();
        let reached: HashSet<String> = ["a".to_string(), "c".into()].into();
        let marked = ["b".to_string(), "d".into()];
        coverage.n7_add_page(None, &reached, &marked);
        assert_eq!(coverage.accounts, 4);
        assert_eq!(coverage.unreachable, ["b", "d"]);
    }
}
