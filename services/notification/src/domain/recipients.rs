//! Recipients (N2, N7): who receives an advisory, and which targeted accounts have nobody to tell.

use std::collections::{HashMap, HashSet};

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

/// N7: a targeted account with nobody to tell, by the name identity gave when the recipients were resolved
/// (empty for an id identity does not know), so that the report names it as it names every other account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreachableAccount {
    pub account_id: String,
    pub account_name: String,
}

/// N2/N7: how many accounts an advisory targeted, and those with nobody to tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub accounts: i64,
    pub unreachable: Vec<UnreachableAccount>,
}

impl Coverage {
    /// N7: adds one page of targeted accounts. `asked` are the accounts the page asked about; those of them
    /// without any contact are unreachable. Targeting all accounts asks about none: then the accounts are
    /// those some contact was `reached` in and those identity `marked` as having nobody to tell. Either way an
    /// unreachable account is named as identity `marked` it.
    pub fn n7_add_page(
        &mut self,
        asked: Option<&[String]>,
        reached: &HashSet<String>,
        marked: &[UnreachableAccount],
    ) {
        match asked {
            None => {
                let unreachable: Vec<&UnreachableAccount> = marked
                    .iter()
                    .filter(|m| !reached.contains(&m.account_id))
                    .collect();
                self.accounts += (reached.len() + unreachable.len()) as i64;
                self.unreachable.extend(unreachable.into_iter().cloned());
            }
            Some(asked) => {
                let names: HashMap<&str, &str> = marked
                    .iter()
                    .map(|m| (m.account_id.as_str(), m.account_name.as_str()))
                    .collect();
                self.accounts += asked.len() as i64;
                self.unreachable
                    .extend(asked.iter().filter(|id| !reached.contains(*id)).map(|id| {
                        UnreachableAccount {
                            account_id: id.clone(),
                            account_name: names
                                .get(id.as_str())
                                .copied()
                                .unwrap_or_default()
                                .to_string(),
                        }
                    }));
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

    fn named(id: &str, name: &str) -> UnreachableAccount {
        UnreachableAccount {
            account_id: id.into(),
            account_name: name.into(),
        }
    }

    #[test]
    fn n7_accounts_without_contacts_are_unreachable_by_name() {
        let mut coverage = Coverage::default();
        let asked = ["a".to_string(), "b".into(), "c".into(), "x".into()];
        let reached: HashSet<String> = ["a".to_string(), "c".into()].into();
        // Identity marks the accounts it knows; "x" it does not know at all.
        let marked = [named("b", "Beta")];
        coverage.n7_add_page(Some(&asked), &reached, &marked);
        coverage.n7_add_page(None, &reached, &[]);
        assert_eq!(coverage.accounts, 6);
        assert_eq!(coverage.unreachable, [named("b", "Beta"), named("x", "")]);
    }

    #[test]
    fn n7_all_accounts_reports_the_accounts_with_nobody_to_tell_by_name() {
        let mut coverage = Coverage::default();
        let reached: HashSet<String> = ["a".to_string(), "c".into()].into();
        let marked = [named("b", "Beta"), named("d", "Delta")];
        coverage.n7_add_page(None, &reached, &marked);
        assert_eq!(coverage.accounts, 4);
        assert_eq!(
            coverage.unreachable,
            [named("b", "Beta"), named("d", "Delta")]
        );
    }
}
