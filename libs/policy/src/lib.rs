//! Who may do what in a portal account, as pure functions: the [`Persona`] a user has (I9) and the
//! [`Decision`] for an [`Action`] (I10). Identity answers `CheckAccess` with it, and licensing and billing
//! evaluate the very same code in-process on their hot paths, so no RPC decides differently from another.

pub mod deployment;
pub mod email;
pub mod product;

use std::fmt;

pub use deployment::{Deployment, DeploymentKind};
pub use email::{Email, InvalidEmail};
pub use product::{Family, LicenseType, Product};

/// A portal user's role in one account (I3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Administrator,
    DownloadOnly,
}

/// The facts about keys that a persona depends on (licensing's `GetHoldings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holdings {
    pub owned_keys: u64,
    pub assigned_keys: u64,
}

/// Derived, never stored (I9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Persona {
    PortalAdministrator,
    GroupManager,
    Individual,
    SupportOnly,
}

impl Persona {
    /// I9: role Administrator → Portal Administrator; otherwise owner of a key → Group Manager; otherwise a key
    /// assigned → Individual; otherwise Support Only.
    pub fn derive(role: Role, holdings: Holdings) -> Self {
        match role {
            Role::Administrator => Persona::PortalAdministrator,
            Role::DownloadOnly if holdings.owned_keys > 0 => Persona::GroupManager,
            Role::DownloadOnly if holdings.assigned_keys > 0 => Persona::Individual,
            Role::DownloadOnly => Persona::SupportOnly,
        }
    }

    /// Whether deriving this role's persona needs the key facts at all.
    pub fn needs_holdings(role: Role) -> bool {
        role == Role::DownloadOnly
    }

    pub fn name(self) -> &'static str {
        match self {
            Persona::PortalAdministrator => "PORTAL_ADMINISTRATOR",
            Persona::GroupManager => "GROUP_MANAGER",
            Persona::Individual => "INDIVIDUAL",
            Persona::SupportOnly => "SUPPORT_ONLY",
        }
    }
}

impl fmt::Display for Persona {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything a portal user may be allowed to do (the "may" column of I9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ManageUsers,
    ViewAllKeys,
    ManageAllKeys,
    SetKeyOwner,
    AssignAnyKey,
    ManageOwnedKeys,
    ViewOwnedKeys,
    ViewAssignedKeys,
    ViewInvoices,
    MakePurchase,
    PayInvoice,
    ViewActivations,
    ViewLicenseUsage,
    RequestActivationReport,
    DownloadProducts,
    CreateSupportCase,
    ViewSupportEligibility,
    ViewAuditLog,
}

impl Action {
    pub const ALL: [Action; 18] = [
        Action::ManageUsers,
        Action::ViewAllKeys,
        Action::ManageAllKeys,
        Action::SetKeyOwner,
        Action::AssignAnyKey,
        Action::ManageOwnedKeys,
        Action::ViewOwnedKeys,
        Action::ViewAssignedKeys,
        Action::ViewInvoices,
        Action::MakePurchase,
        Action::PayInvoice,
        Action::ViewActivations,
        Action::ViewLicenseUsage,
        Action::RequestActivationReport,
        Action::DownloadProducts,
        Action::CreateSupportCase,
        Action::ViewSupportEligibility,
        Action::ViewAuditLog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::ManageUsers => "MANAGE_USERS",
            Action::ViewAllKeys => "VIEW_ALL_KEYS",
            Action::ManageAllKeys => "MANAGE_ALL_KEYS",
            Action::SetKeyOwner => "SET_KEY_OWNER",
            Action::AssignAnyKey => "ASSIGN_ANY_KEY",
            Action::ManageOwnedKeys => "MANAGE_OWNED_KEYS",
            Action::ViewOwnedKeys => "VIEW_OWNED_KEYS",
            Action::ViewAssignedKeys => "VIEW_ASSIGNED_KEYS",
            Action::ViewInvoices => "VIEW_INVOICES",
            Action::MakePurchase => "MAKE_PURCHASE",
            Action::PayInvoice => "PAY_INVOICE",
            Action::ViewActivations => "VIEW_ACTIVATIONS",
            Action::ViewLicenseUsage => "VIEW_LICENSE_USAGE",
            Action::RequestActivationReport => "REQUEST_ACTIVATION_REPORT",
            Action::DownloadProducts => "DOWNLOAD_PRODUCTS",
            Action::CreateSupportCase => "CREATE_SUPPORT_CASE",
            Action::ViewSupportEligibility => "VIEW_SUPPORT_ELIGIBILITY",
            Action::ViewAuditLog => "VIEW_AUDIT_LOG",
        }
    }
}

/// Allow or deny, with the persona it was decided for and a reason a person can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub persona: Persona,
    pub reason: String,
}

/// The facts about one active user in one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub role: Role,
    pub holdings: Holdings,
    /// Holds the `CASE_ADMINISTRATOR` additional permission (I4).
    pub case_administrator: bool,
}

/// I10: the answer for `action`, following the table of I9.
pub fn decide(subject: Subject, action: Action) -> Decision {
    let persona = Persona::derive(subject.role, subject.holdings);
    let (allowed, why) = rule(persona, subject, action);
    let verdict = if allowed { "may" } else { "may not" };
    Decision {
        allowed,
        persona,
        reason: format!("{persona} {verdict} {}: {why}", action.name()),
    }
}

/// I10: who may do `action`, whoever asks: the sentence a refusal reads. Unlike [`Decision::reason`] it names
/// neither the caller's persona nor anything about the account, so it reads the same to a user of the account,
/// a user of another one, and someone naming an account that does not exist.
pub fn who_may(action: Action) -> &'static str {
    use Action::*;
    match action {
        ManageUsers | ViewAuditLog => {
            "only Portal Administrators manage users and read the audit log"
        }
        ViewInvoices | MakePurchase | PayInvoice => {
            "only Portal Administrators see invoices, purchase and pay"
        }
        ViewActivations | ViewLicenseUsage | RequestActivationReport => {
            "only Portal Administrators see activations and license usage"
        }
        ViewAllKeys | ManageAllKeys | SetKeyOwner | AssignAnyKey => {
            "only Portal Administrators manage all keys"
        }
        ManageOwnedKeys | ViewOwnedKeys => {
            "only Portal Administrators and a key's owner see and manage it"
        }
        ViewAssignedKeys => "only Portal Administrators and a key's assignees see it",
        DownloadProducts => "only Portal Administrators and key holders download",
        CreateSupportCase => "every user of the account may create support cases",
        ViewSupportEligibility => {
            "only Portal Administrators and Case Administrators see the account's support eligibility"
        }
    }
}

fn rule(persona: Persona, subject: Subject, action: Action) -> (bool, &'static str) {
    use Action::*;
    use Persona::*;
    match (action, persona) {
        // Case Administrator is a permission, not a persona: it alone opens the account's eligibility.
        (ViewSupportEligibility, _) if subject.case_administrator => {
            (true, "holds CASE_ADMINISTRATOR")
        }
        (ViewSupportEligibility, PortalAdministrator) => {
            (true, "Portal Administrators manage the whole account")
        }
        (ViewSupportEligibility, _) => (false, "needs the CASE_ADMINISTRATOR permission"),
        (CreateSupportCase, _) => (true, "every persona may create support cases"),
        (_, PortalAdministrator) => (true, "Portal Administrators manage the whole account"),
        (ManageOwnedKeys | ViewOwnedKeys, GroupManager) => {
            (true, "Group Managers see and manage the keys they own")
        }
        (ViewAssignedKeys, GroupManager | Individual) => {
            (true, "keys assigned to the user are visible to them")
        }
        (DownloadProducts, GroupManager | Individual) => (true, "key holders may download"),
        (DownloadProducts, SupportOnly) => {
            (false, "Support Only users hold no key to download for")
        }
        (ManageUsers | ViewAuditLog, _) => (
            false,
            "only Portal Administrators manage users and read the audit log",
        ),
        (ViewInvoices | MakePurchase | PayInvoice, _) => (
            false,
            "only Portal Administrators see invoices, purchase and pay",
        ),
        (ViewActivations | ViewLicenseUsage | RequestActivationReport, _) => (
            false,
            "only Portal Administrators see activations and license usage",
        ),
        (ViewAllKeys | ManageAllKeys | SetKeyOwner | AssignAnyKey, _) => {
            (false, "only Portal Administrators manage all keys")
        }
        (ManageOwnedKeys | ViewOwnedKeys, _) => (false, "the user owns no key"),
        (ViewAssignedKeys, _) => (false, "no key is assigned to the user"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(role: Role, owned: u64, assigned: u64) -> Subject {
        Subject {
            role,
            holdings: Holdings {
                owned_keys: owned,
                assigned_keys: assigned,
            },
            case_administrator: false,
        }
    }

    #[test]
    fn i9_persona_is_derived_from_role_and_key_facts() {
        assert_eq!(
            Persona::derive(Role::Administrator, Holdings::default()),
            Persona::PortalAdministrator
        );
        assert_eq!(
            Persona::derive(
                Role::Administrator,
                Holdings {
                    owned_keys: 3,
                    assigned_keys: 1
                }
            ),
            Persona::PortalAdministrator
        );
        assert_eq!(
            Persona::derive(
                Role::DownloadOnly,
                Holdings {
                    owned_keys: 1,
                    assigned_keys: 5
                }
            ),
            Persona::GroupManager
        );
        assert_eq!(
            Persona::derive(
                Role::DownloadOnly,
                Holdings {
                    owned_keys: 0,
                    assigned_keys: 1
                }
            ),
            Persona::Individual
        );
        assert_eq!(
            Persona::derive(Role::DownloadOnly, Holdings::default()),
            Persona::SupportOnly
        );
    }

    #[test]
    fn i9_persona_changes_as_soon_as_key_facts_change() {
        let before = subject(Role::DownloadOnly, 0, 0);
        let after = subject(Role::DownloadOnly, 0, 1);
        assert!(!decide(before, Action::DownloadProducts).allowed);
        assert!(decide(after, Action::DownloadProducts).allowed);
    }

    #[test]
    fn i10_portal_administrator_may_everything() {
        let admin = subject(Role::Administrator, 0, 0);
        for action in Action::ALL {
            let decision = decide(admin, action);
            assert!(decision.allowed, "{action:?}");
            assert_eq!(decision.persona, Persona::PortalAdministrator);
        }
    }

    #[test]
    fn i10_group_manager_manages_owned_keys_only() {
        let gm = subject(Role::DownloadOnly, 2, 0);
        let allowed: Vec<Action> = Action::ALL
            .into_iter()
            .filter(|a| decide(gm, *a).allowed)
            .collect();
        assert_eq!(
            allowed,
            vec![
                Action::ManageOwnedKeys,
                Action::ViewOwnedKeys,
                Action::ViewAssignedKeys,
                Action::DownloadProducts,
                Action::CreateSupportCase
            ]
        );
    }

    #[test]
    fn i10_individual_sees_assigned_keys_and_downloads() {
        let individual = subject(Role::DownloadOnly, 0, 1);
        let allowed: Vec<Action> = Action::ALL
            .into_iter()
            .filter(|a| decide(individual, *a).allowed)
            .collect();
        assert_eq!(
            allowed,
            vec![
                Action::ViewAssignedKeys,
                Action::DownloadProducts,
                Action::CreateSupportCase
            ]
        );
    }

    #[test]
    fn i10_support_only_creates_support_cases_only() {
        let support = subject(Role::DownloadOnly, 0, 0);
        let allowed: Vec<Action> = Action::ALL
            .into_iter()
            .filter(|a| decide(support, *a).allowed)
            .collect();
        assert_eq!(allowed, vec![Action::CreateSupportCase]);
        let denied = decide(support, Action::ViewInvoices);
        assert_eq!(
            denied.reason,
            "SUPPORT_ONLY may not VIEW_INVOICES: only Portal Administrators see invoices, purchase and pay"
        );
    }

    #[test]
    fn i10_who_may_names_no_persona() {
        for action in Action::ALL {
            let text = who_may(action);
            for persona in [
                Persona::GroupManager,
                Persona::Individual,
                Persona::SupportOnly,
            ] {
                assert!(!text.contains(persona.name()), "{action:?}: {text}");
            }
        }
        assert_eq!(
            who_may(Action::ViewInvoices),
            "only Portal Administrators see invoices, purchase and pay"
        );
    }

    #[test]
    fn i10_case_administrator_sees_support_eligibility_in_any_persona() {
        for (owned, assigned) in [(0, 0), (1, 0), (0, 1)] {
            let with = Subject {
                case_administrator: true,
                ..subject(Role::DownloadOnly, owned, assigned)
            };
            assert!(decide(with, Action::ViewSupportEligibility).allowed);
            assert!(
                !decide(
                    subject(Role::DownloadOnly, owned, assigned),
                    Action::ViewSupportEligibility
                )
                .allowed
            );
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// I9 as SPEC.md's table states it, written apart from `Persona::derive`.
        fn spec_persona(role: Role, owned: u64, assigned: u64) -> Persona {
            if role == Role::Administrator {
                Persona::PortalAdministrator
            } else if owned >= 1 {
                Persona::GroupManager
            } else if assigned >= 1 {
                Persona::Individual
            } else {
                Persona::SupportOnly
            }
        }

        /// The "may" column of I9 for each persona, plus what `CASE_ADMINISTRATOR` adds.
        fn spec_may(persona: Persona, case_administrator: bool, action: Action) -> bool {
            use Action::*;
            let by_persona = match persona {
                Persona::PortalAdministrator => true,
                Persona::GroupManager => matches!(
                    action,
                    ManageOwnedKeys
                        | ViewOwnedKeys
                        | ViewAssignedKeys
                        | DownloadProducts
                        | CreateSupportCase
                ),
                Persona::Individual => {
                    matches!(
                        action,
                        ViewAssignedKeys | DownloadProducts | CreateSupportCase
                    )
                }
                Persona::SupportOnly => action == CreateSupportCase,
            };
            by_persona || (case_administrator && action == ViewSupportEligibility)
        }

        fn role() -> impl Strategy<Value = Role> {
            prop_oneof![Just(Role::Administrator), Just(Role::DownloadOnly)]
        }

        /// Key counts around the boundaries that matter (0, 1) and anywhere up to `u64::MAX`.
        fn count() -> impl Strategy<Value = u64> {
            prop_oneof![Just(0u64), Just(1u64), Just(u64::MAX), any::<u64>()]
        }

        proptest! {
            #[test]
            fn i9_persona_is_total_deterministic_and_follows_the_table(
                role in role(),
                owned in count(),
                assigned in count(),
                case_administrator in any::<bool>(),
            ) {
                let holdings = Holdings { owned_keys: owned, assigned_keys: assigned };
                let persona = Persona::derive(role, holdings);
                prop_assert_eq!(persona, Persona::derive(role, holdings));
                prop_assert_eq!(persona, spec_persona(role, owned, assigned));
                if !Persona::needs_holdings(role) {
                    prop_assert_eq!(persona, Persona::derive(role, Holdings::default()));
                }
                let subject = Subject { role, holdings, case_administrator };
                for action in Action::ALL {
                    let decision = decide(subject, action);
                    prop_assert_eq!(decision.persona, persona);
                    prop_assert_eq!(
                        decision.allowed,
                        spec_may(persona, case_administrator, action),
                        "{:?} {:?}", persona, action
                    );
                    prop_assert!(decision.reason.starts_with(persona.name()));
                    prop_assert!(decision.reason.contains(action.name()));
                }
            }

            #[test]
            fn i9_gaining_or_losing_keys_changes_the_persona_at_once(
                owned in count(),
                assigned in count(),
            ) {
                let before = Holdings { owned_keys: owned, assigned_keys: assigned };
                let gained = Holdings { owned_keys: owned.saturating_add(1), ..before };
                prop_assert_eq!(Persona::derive(Role::DownloadOnly, gained), Persona::GroupManager);
                let lost = Holdings { owned_keys: 0, assigned_keys: 0 };
                prop_assert_eq!(Persona::derive(Role::DownloadOnly, lost), Persona::SupportOnly);
            }
        }
    }
}
