//! I9 and I10: personas and decisions, named by rule id.

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
