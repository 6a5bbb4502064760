//! Translation between the protobuf contract and the identity domain: domain types out, enum values in
//! (unspecified and unknown values are refused as field violations).

use portal_policy::{Action, Persona};
use portal_proto::identity as pb;
use portal_runtime::{error::FieldViolation, time::to_proto};

use crate::{
    domain::{Account, ContactKind, Permissions, Role, User, UserState},
    error::{Error, Result},
};

pub fn account(account: &Account) -> pb::Account {
    pb::Account {
        account_id: account.account_id.clone(),
        name: account.name.clone(),
        academic: account.academic,
        create_time: Some(to_proto(account.create_time)),
    }
}

pub fn user(user: &User, persona: Option<Persona>) -> pb::User {
    let p = user.permissions;
    let permissions = [
        (p.security_contact, pb::Permission::SecurityPointOfContact),
        (p.technical_contact, pb::Permission::TechnicalPointOfContact),
        (p.case_administrator, pb::Permission::CaseAdministrator),
    ]
    .into_iter()
    .filter_map(|(held, permission)| held.then_some(permission as i32))
    .collect();
    let role = match user.role {
        Role::Administrator => pb::Role::Administrator,
        Role::DownloadOnly => pb::Role::DownloadOnly,
    };
    let state = match user.state {
        UserState::Active => pb::UserState::Active,
        UserState::Removed => pb::UserState::Removed,
    };
    pb::User {
        user_id: user.user_id.clone(),
        account_id: user.account_id.clone(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        role: role as i32,
        additional_permissions: permissions,
        persona: persona.map_or(pb::Persona::Unspecified, persona_to_proto) as i32,
        state: state as i32,
        create_time: Some(to_proto(user.create_time)),
        update_time: Some(to_proto(user.update_time)),
        remove_time: user.remove_time.map(to_proto),
    }
}

pub fn persona_to_proto(persona: Persona) -> pb::Persona {
    match persona {
        Persona::PortalAdministrator => pb::Persona::PortalAdministrator,
        Persona::GroupManager => pb::Persona::GroupManager,
        Persona::Individual => pb::Persona::Individual,
        Persona::SupportOnly => pb::Persona::SupportOnly,
    }
}

/// I3: exactly one known role; `ROLE_UNSPECIFIED` and unknown numbers are refused.
pub fn role(field: &str, raw: i32) -> Result<Role, FieldViolation> {
    match pb::Role::try_from(raw) {
        Ok(pb::Role::Administrator) => Ok(Role::Administrator),
        Ok(pb::Role::DownloadOnly) => Ok(Role::DownloadOnly),
        Ok(pb::Role::Unspecified) | Err(_) => Err(FieldViolation::new(
            field,
            "must be ROLE_ADMINISTRATOR or ROLE_DOWNLOAD_ONLY",
        )),
    }
}

/// I4: any subset of the three permissions; unspecified or unknown values are refused.
pub fn permissions(field: &str, raw: &[i32]) -> Result<Permissions, FieldViolation> {
    let mut permissions = Permissions::default();
    for value in raw {
        match pb::Permission::try_from(*value) {
            Ok(pb::Permission::SecurityPointOfContact) => permissions.security_contact = true,
            Ok(pb::Permission::TechnicalPointOfContact) => permissions.technical_contact = true,
            Ok(pb::Permission::CaseAdministrator) => permissions.case_administrator = true,
            Ok(pb::Permission::Unspecified) | Err(_) => {
                return Err(FieldViolation::new(
                    field,
                    format!("unknown permission {value}"),
                ));
            }
        }
    }
    Ok(permissions)
}

/// I10: one of the actions of I9's table.
pub fn action(raw: i32) -> Result<Action, FieldViolation> {
    use pb::Action as A;
    let action = match A::try_from(raw) {
        Ok(A::ManageUsers) => Action::ManageUsers,
        Ok(A::ViewAllKeys) => Action::ViewAllKeys,
        Ok(A::ManageAllKeys) => Action::ManageAllKeys,
        Ok(A::SetKeyOwner) => Action::SetKeyOwner,
        Ok(A::AssignAnyKey) => Action::AssignAnyKey,
        Ok(A::ManageOwnedKeys) => Action::ManageOwnedKeys,
        Ok(A::ViewOwnedKeys) => Action::ViewOwnedKeys,
        Ok(A::ViewAssignedKeys) => Action::ViewAssignedKeys,
        Ok(A::ViewInvoices) => Action::ViewInvoices,
        Ok(A::MakePurchase) => Action::MakePurchase,
        Ok(A::PayInvoice) => Action::PayInvoice,
        Ok(A::ViewActivations) => Action::ViewActivations,
        Ok(A::ViewLicenseUsage) => Action::ViewLicenseUsage,
        Ok(A::RequestActivationReport) => Action::RequestActivationReport,
        Ok(A::DownloadProducts) => Action::DownloadProducts,
        Ok(A::CreateSupportCase) => Action::CreateSupportCase,
        Ok(A::ViewSupportEligibility) => Action::ViewSupportEligibility,
        Ok(A::ViewAuditLog) => Action::ViewAuditLog,
        Ok(A::Unspecified) | Err(_) => {
            return Err(FieldViolation::new(
                "action",
                "must be a known ACTION_* value",
            ));
        }
    };
    Ok(action)
}

/// N2: security or technical; anything else is refused.
pub fn contact_kind(raw: i32) -> Result<ContactKind> {
    match pb::ContactKind::try_from(raw) {
        Ok(pb::ContactKind::Security) => Ok(ContactKind::Security),
        Ok(pb::ContactKind::Technical) => Ok(ContactKind::Technical),
        Ok(pb::ContactKind::Unspecified) | Err(_) => Err(Error::invalid(
            "kind",
            "must be CONTACT_KIND_SECURITY or CONTACT_KIND_TECHNICAL",
        )),
    }
}
