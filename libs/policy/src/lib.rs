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
mod tests;
