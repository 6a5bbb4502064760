//! Translation between the protobuf contract and the billing domain, both ways.

use chrono::{DateTime, Utc};
use portal_proto::{billing as pb, common};
use portal_runtime::{
    error::Violations,
    time::{to_proto, to_proto_opt},
};

use crate::{
    app::invoices::Statement,
    domain::{
        self, Family, Grant, Invoice, InvoiceState, LicenseType, Line, Payment, Product, Purchase,
        PurchaseState, Renewal, RenewalState, catalog::Listed,
    },
    error::Result,
};

fn family_to_proto(family: Option<Family>) -> common::KeyFamily {
    family.map_or(common::KeyFamily::Unspecified, Into::into)
}

fn license_type_to_proto(license_type: Option<LicenseType>) -> common::LicenseType {
    license_type.map_or(common::LicenseType::Unspecified, Into::into)
}

fn grant_to_proto(grant: &Grant) -> pb::SkuGrant {
    pb::SkuGrant {
        product: common::Product::from(grant.product) as i32,
        family: family_to_proto(grant.family) as i32,
        seats: grant.seats,
        license_type: license_type_to_proto(grant.license_type) as i32,
        term_months: grant.term_months,
        maintenance_months: grant.maintenance_months,
        lblm_enabled: grant.lblm_enabled,
        creator_seats: grant.creator_seats,
    }
}

/// A grant from the contract; unknown enum values are recorded in `v` under `prefix` (e.g. `sku.grant`).
/// Consistency (family covers product, term months…) is [`Grant::problems`]'s job.
pub fn grant_from_proto(
    prefix: &str,
    grant: Option<&pb::SkuGrant>,
    v: &mut Violations,
) -> Option<Grant> {
    let Some(grant) = grant else {
        v.add(prefix, "required");
        return None;
    };
    let product = match common::Product::try_from(grant.product) {
        Ok(common::Product::Desktop) => Some(Product::Desktop),
        Ok(common::Product::PrepBuilder) => Some(Product::PrepBuilder),
        Ok(common::Product::Server) => Some(Product::Server),
        Ok(common::Product::Elearning) => Some(Product::Elearning),
        _ => {
            v.add(
                &format!("{prefix}.product"),
                "must be a known PRODUCT_* value",
            );
            None
        }
    };
    let family = match common::KeyFamily::try_from(grant.family) {
        Ok(common::KeyFamily::Unspecified) => Some(None),
        Ok(common::KeyFamily::Tc) => Some(Some(Family::Tc)),
        Ok(common::KeyFamily::Td) => Some(Some(Family::Td)),
        Ok(common::KeyFamily::Ts) => Some(Some(Family::Ts)),
        Err(_) => {
            v.add(&format!("{prefix}.family"), "must be a KEY_FAMILY_* value");
            None
        }
    };
    let license_type = match common::LicenseType::try_from(grant.license_type) {
        Ok(common::LicenseType::Unspecified) => Some(None),
        Ok(common::LicenseType::Term) => Some(Some(LicenseType::Term)),
        Ok(common::LicenseType::Perpetual) => Some(Some(LicenseType::Perpetual)),
        Err(_) => {
            v.add(
                &format!("{prefix}.license_type"),
                "must be a LICENSE_TYPE_* value",
            );
            None
        }
    };
    let (Some(product), Some(family), Some(license_type)) = (product, family, license_type) else {
        return None;
    };
    Some(Grant {
        product,
        family,
        seats: grant.seats,
        license_type,
        term_months: grant.term_months,
        maintenance_months: grant.maintenance_months,
        lblm_enabled: grant.lblm_enabled,
        creator_seats: grant.creator_seats,
    })
}

pub fn sku(listed: &Listed) -> pb::Sku {
    let sku = &listed.sku;
    pb::Sku {
        sku: sku.code.clone(),
        description: sku.description.clone(),
        unit_price_minor: sku.unit_price.minor,
        currency: sku.unit_price.currency.as_str().to_string(),
        grant: Some(grant_to_proto(&sku.grant)),
        active: sku.active,
        update_time: Some(to_proto(listed.update_time)),
    }
}

fn line(line: &Line) -> pb::InvoiceLine {
    pb::InvoiceLine {
        sku: line.sku.clone(),
        description: line.description.clone(),
        quantity: line.quantity,
        unit_price_minor: line.unit_price.minor,
        amount_minor: line.amount.minor,
    }
}

/// A purchase with the items it bought (its invoice's lines).
pub fn purchase(purchase: &Purchase, lines: &[Line]) -> pb::Purchase {
    let state = match purchase.state {
        PurchaseState::Pending => pb::PurchaseState::Pending,
        PurchaseState::Fulfilled => pb::PurchaseState::Fulfilled,
        PurchaseState::Failed => pb::PurchaseState::Failed,
    };
    pb::Purchase {
        purchase_id: purchase.purchase_id.clone(),
        account_id: purchase.account_id.clone(),
        state: state as i32,
        invoice_id: purchase.invoice_id.clone(),
        key_ids: purchase.key_ids.clone(),
        items: lines
            .iter()
            .map(|l| pb::PurchaseItem {
                sku: l.sku.clone(),
                quantity: l.quantity,
            })
            .collect(),
        elearning_codes: purchase.elearning_codes.clone(),
        site_ids: purchase.site_ids.clone(),
        no_administrator_notified: purchase.no_administrator_notified,
        failure_reason: purchase.failure_reason.clone(),
        create_time: Some(to_proto(purchase.create_time)),
        update_time: Some(to_proto(purchase.update_time)),
        revoked_key_ids: purchase.revoked_key_ids.clone(),
        compensation_pending: purchase.compensation_pending,
    }
}

/// An invoice as every answer shows it: with its lines and payments.
pub fn statement(statement: &Statement) -> Result<pb::Invoice> {
    invoice(&statement.invoice, &statement.lines, &statement.payments)
}

/// An invoice with its lines and payments; the balance is computed (B4).
pub fn invoice(invoice: &Invoice, lines: &[Line], payments: &[Payment]) -> Result<pb::Invoice> {
    let totals = invoice.totals;
    Ok(pb::Invoice {
        invoice_id: invoice.invoice_id.clone(),
        number: invoice.number.clone(),
        account_id: invoice.account_id.clone(),
        state: match invoice.state {
            InvoiceState::Open => pb::InvoiceState::Open,
            InvoiceState::Paid => pb::InvoiceState::Paid,
            InvoiceState::Void => pb::InvoiceState::Void,
        } as i32,
        currency: invoice.currency.as_str().to_string(),
        lines: lines.iter().map(line).collect(),
        subtotal_minor: totals.subtotal.minor,
        tax_minor: totals.tax.minor,
        total_minor: totals.total.minor,
        balance_minor: invoice.balance()?.minor,
        issue_time: Some(to_proto(invoice.issue_time)),
        due_time: Some(to_proto(invoice.due_time)),
        purchase_id: invoice.purchase_id.clone().unwrap_or_default(),
        renewal_id: invoice.renewal_id.clone().unwrap_or_default(),
        payments: payments
            .iter()
            .map(|p| pb::Payment {
                payment_id: p.payment_id.clone(),
                amount_minor: p.amount.minor,
                reference: p.reference.clone(),
                create_time: Some(to_proto(p.create_time)),
            })
            .collect(),
        paid_minor: invoice.paid.minor,
        paid_time: to_proto_opt(invoice.paid_time),
        void_time: to_proto_opt(invoice.void_time),
        void_reason: invoice.void_reason.clone(),
    })
}

/// A renewal as seen at `now` (an open renewal past its date shows as lapsed).
pub fn renewal(renewal: &Renewal, now: DateTime<Utc>) -> pb::Renewal {
    let state = match renewal.state_at(now) {
        RenewalState::Open => pb::RenewalState::Open,
        RenewalState::Renewed => pb::RenewalState::Renewed,
        RenewalState::Lapsed => pb::RenewalState::Lapsed,
        RenewalState::Cancelled => pb::RenewalState::Cancelled,
    };
    pb::Renewal {
        renewal_id: renewal.renewal_id.clone(),
        account_id: renewal.account_id.clone(),
        key_ids: renewal.key_ids.clone(),
        renewal_date: Some(to_proto(renewal.renewal_date)),
        auto_renew: renewal.auto_renew,
        invoice_id: renewal.invoice_id.clone(),
        state: state as i32,
        term_months: renewal.term_months,
        payment_window_start_time: Some(to_proto(domain::calendar::payment_window_start(
            renewal.renewal_date,
        ))),
        auto_renew_lock_time: Some(to_proto(domain::calendar::auto_renew_lock_time(
            renewal.renewal_date,
        ))),
        create_time: Some(to_proto(renewal.create_time)),
        update_time: Some(to_proto(renewal.update_time)),
        renewed_automatically: renewal.renewed_automatically,
        next_renewal_id: renewal.next_renewal_id.clone().unwrap_or_default(),
    }
}
