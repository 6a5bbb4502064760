//! Translation between the protobuf contract and the identity domain.

use portal_policy::{Action, Persona};
use portal_proto::identity as pb;
use portal_runtime::{error::FieldViolation, time::to_proto};

use crate::{
    domain::{Permissions, Role, UserState},
    store::{account, user},
};

pub fn account(row: &account::Model) -> pb::Account {
    pb::Account {
        account_id: row.account_id.clone(),
        name: row.name.clone(),
        academic: row.academic,
        create_time: Some(to_proto(row.create_time)),
    }
}

pub fn user(row: &user::Model, persona: Option<Persona>) -> pb::User {
    let state = UserState::parse(&row.state);
    let mut permissions = Vec::new();
    if row.security_contact {
        permissions.push(pb::Permission::SecurityPointOfContact as i32);
    }
    if row.technical_contact {
        permissions.push(pb::Permission::TechnicalPointOfContact as i32);
    }
    if row.case_administrator {
        permissions.push(pb::Permission::CaseAdministrator as i32);
    }
    pb::User {
        user_id: row.user_id.clone(),
        account_id: row.account_id.clone(),
        email: row.email.clone(),
        display_name: row.display_name.clone(),
        role: role_to_proto(crate::store::role_of(row)) as i32,
        additional_permissions: permissions,
        persona: persona.map_or(pb::Persona::Unspecified, persona_to_proto) as i32,
        state: match state {
            UserState::Active => pb::UserState::Active,
            UserState::Removed => pb::UserState::Removed,
        } as i32,
        create_time: Some(to_proto(row.create_time)),
        update_time: Some(to_proto(row.update_time)),
        remove_time: row.remove_time.map(to_proto),
    }
}

pub fn role_to_proto(role: Role) -> pb::Role {
    match role {
        Role::Administrator => pb::Role::Administrator,
        Role::DownloadOnly => pb::Role::DownloadOnly,
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
        _ => Err(FieldViolation::new(
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
            _ => {
                return Err(FieldViolation::new(
                    field,
                    format!("unknown permission {value}"),
                ));
            }
        }
    }
    Ok(permissions)
}

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

/// An audit snapshot of a user row.
pub fn snapshot(row: &user::Model) -> serde_json::Value {
    serde_json::to_value(row).unwrap_or(serde_json::Value::Null)
}
