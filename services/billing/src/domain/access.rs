//! Who may do what in billing (B6, and the service scopes of B2, B5, B8): each operation names the portal action
//! a portal user needs — which the shared policy (`portal_policy::decide`, I9/I10) grants to Portal
//! Administrators only — and the service scopes that may act instead.

use portal_policy::Action;
use portal_runtime::auth::INTERNAL_SCOPE;

/// The scope of the payment processor and back office: records payments, voids invoices (B5).
pub const PAYMENTS: &str = "billing.payments";
/// The scope that edits the catalog (B2).
pub const CATALOG: &str = "billing.catalog";

/// What a caller needs for one operation on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    /// What a portal user must be allowed on the account.
    pub action: Action,
    /// The service scopes that may act on any account instead.
    pub scopes: &'static [&'static str],
}

/// B6: invoices, purchases and renewals are seen by Portal Administrators of the account (and by the payment
/// services).
pub const B6_VIEW_INVOICES: Permit = Permit {
    action: Action::ViewInvoices,
    scopes: &[PAYMENTS, INTERNAL_SCOPE],
};

/// B6: purchases are made by Portal Administrators of the account, or by a service principal (B3).
pub const B6_MAKE_PURCHASE: Permit = Permit {
    action: Action::MakePurchase,
    scopes: &[PAYMENTS, INTERNAL_SCOPE],
};

/// B6/B8: auto-renew is a purchase decision of the account's Portal Administrators (or the payment service).
pub const B6_SET_AUTO_RENEW: Permit = Permit {
    action: Action::MakePurchase,
    scopes: &[PAYMENTS],
};

/// B5: payments are recorded (and invoices voided) by a service principal with `billing.payments` only.
pub const B5_RECORD_PAYMENT: &[&str] = &[PAYMENTS];

/// B8: renewal invoices are created by the payment services.
pub const B8_CREATE_RENEWAL: &[&str] = &[PAYMENTS, INTERNAL_SCOPE];

/// B2: the catalog is edited by a service principal with `billing.catalog`.
pub const B2_EDIT_CATALOG: &[&str] = &[CATALOG];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b6_only_administrators_and_payment_services_see_invoices_and_buy() {
        for permit in [B6_VIEW_INVOICES, B6_MAKE_PURCHASE, B6_SET_AUTO_RENEW] {
            assert!(matches!(
                permit.action,
                Action::ViewInvoices | Action::MakePurchase
            ));
            assert!(permit.scopes.contains(&PAYMENTS));
        }
        assert_eq!(B5_RECORD_PAYMENT, [PAYMENTS]);
        assert!(!B6_SET_AUTO_RENEW.scopes.contains(&INTERNAL_SCOPE));
    }
}
