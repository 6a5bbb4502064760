//! Translation between the protobuf contract and the billing domain.

use chrono::{DateTime, Utc};
use portal_proto::{billing as pb, common};
use portal_runtime::{
    error::Violations,
    time::{to_proto, to_proto_opt},
};

use crate::{
    domain::{
        self, Family, Grant, InvoiceState, LicenseType, Money, Product, PurchaseState, RenewalState,
    },
    error::{Error, Result},
    store::{self, invoice, line, payment, purchase, renewal, sku},
};

fn product_to_proto(product: Product) -> common::Product {
    match product {
        Product::Desktop => common::Product::Desktop,
        Product::PrepBuilder => common::Product::PrepBuilder,
        Product::Server => common::Product::Server,
        Product::Elearning => common::Product::Elearning,
    }
}

fn family_to_proto(family: Option<Family>) -> common::KeyFamily {
    match family {
        Some(Family::Tc) => common::KeyFamily::Tc,
        Some(Family::Td) => common::KeyFamily::Td,
        Some(Family::Ts) => common::KeyFamily::Ts,
        None => common::KeyFamily::Unspecified,
    }
}

fn license_type_to_proto(license_type: Option<LicenseType>) -> common::LicenseType {
    match license_type {
        Some(LicenseType::Term) => common::LicenseType::Term,
        Some(LicenseType::Perpetual) => common::LicenseType::Perpetual,
        None => common::LicenseType::Unspecified,
    }
}

/// The family of a key grant as sent to licensing.
pub fn family(family: Family) -> common::KeyFamily {
    family_to_proto(Some(family))
}

/// The license type of a key grant as sent to licensing.
pub fn license_type(license_type: LicenseType) -> common::LicenseType {
    license_type_to_proto(Some(license_type))
}

fn grant_to_proto(grant: &Grant) -> pb::SkuGrant {
    pb::SkuGrant {
        product: product_to_proto(grant.product) as i32,
        family: family_to_proto(grant.family) as i32,
        seats: grant.seats,
        license_type: license_type_to_proto(grant.license_type) as i32,
        term_months: grant.term_months,
        maintenance_months: grant.maintenance_months,
        lblm_enabled: grant.lblm_enabled,
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
    })
}

pub fn sku(row: &sku::Model) -> Result<pb::Sku> {
    let sku = store::sku_of(row)?;
    Ok(pb::Sku {
        sku: sku.code.clone(),
        description: sku.description.clone(),
        unit_price_minor: sku.unit_price.minor,
        currency: sku.unit_price.currency.as_str().to_string(),
        grant: Some(grant_to_proto(&sku.grant)),
        active: sku.active,
        update_time: Some(to_proto(row.update_time)),
    })
}

fn line(row: &line::Model) -> pb::InvoiceLine {
    pb::InvoiceLine {
        sku: row.sku.clone(),
        description: row.description.clone(),
        quantity: row.quantity,
        unit_price_minor: row.unit_price_minor,
        amount_minor: row.amount_minor,
    }
}

/// A purchase with the items it bought (its invoice's lines).
pub fn purchase(row: &purchase::Model, lines: &[line::Model]) -> pb::Purchase {
    let state = match PurchaseState::parse(&row.state) {
        PurchaseState::Pending => pb::PurchaseState::Pending,
        PurchaseState::Fulfilled => pb::PurchaseState::Fulfilled,
        PurchaseState::Failed => pb::PurchaseState::Failed,
    };
    pb::Purchase {
        purchase_id: row.purchase_id.clone(),
        account_id: row.account_id.clone(),
        state: state as i32,
        invoice_id: row.invoice_id.clone(),
        key_ids: store::from_json(&row.key_ids),
        items: lines
            .iter()
            .map(|l| pb::PurchaseItem {
                sku: l.sku.clone(),
                quantity: l.quantity,
            })
            .collect(),
        elearning_codes: store::from_json(&row.elearning_codes),
        failure_reason: row.failure_reason.clone(),
        create_time: Some(to_proto(row.create_time)),
        update_time: Some(to_proto(row.update_time)),
    }
}

/// An invoice with its lines and payments; the balance is computed (B4).
pub fn invoice(
    row: &invoice::Model,
    lines: &[line::Model],
    payments: &[payment::Model],
) -> Result<pb::Invoice> {
    let currency = domain::Currency::parse("currency", &row.currency)
        .map_err(|_| Error::internal(format!("invoice {} has a bad currency", row.invoice_id)))?;
    let state = InvoiceState::parse(&row.state);
    let balance = domain::invoice::balance(
        state,
        Money::new(row.total_minor, currency),
        Money::new(row.paid_minor, currency),
    )?;
    Ok(pb::Invoice {
        invoice_id: row.invoice_id.clone(),
        number: row.number.clone(),
        account_id: row.account_id.clone(),
        state: match state {
            InvoiceState::Open => pb::InvoiceState::Open,
            InvoiceState::Paid => pb::InvoiceState::Paid,
            InvoiceState::Void => pb::InvoiceState::Void,
        } as i32,
        currency: row.currency.clone(),
        lines: lines.iter().map(line).collect(),
        subtotal_minor: row.subtotal_minor,
        tax_minor: row.tax_minor,
        total_minor: row.total_minor,
        balance_minor: balance.minor,
        issue_time: Some(to_proto(row.issue_time)),
        due_time: Some(to_proto(row.due_time)),
        purchase_id: row.purchase_id.clone().unwrap_or_default(),
        renewal_id: row.renewal_id.clone().unwrap_or_default(),
        payments: payments
            .iter()
            .map(|p| pb::Payment {
                payment_id: p.payment_id.clone(),
                amount_minor: p.amount_minor,
                reference: p.reference.clone(),
                create_time: Some(to_proto(p.create_time)),
            })
            .collect(),
        paid_minor: row.paid_minor,
        paid_time: to_proto_opt(row.paid_time),
        void_time: to_proto_opt(row.void_time),
        void_reason: row.void_reason.clone(),
    })
}

/// A renewal as seen at `now` (an open renewal past its date shows as lapsed).
pub fn renewal(row: &renewal::Model, now: DateTime<Utc>) -> pb::Renewal {
    let state = match RenewalState::parse(&row.state).at(row.renewal_date, now) {
        RenewalState::Open => pb::RenewalState::Open,
        RenewalState::Renewed => pb::RenewalState::Renewed,
        RenewalState::Lapsed => pb::RenewalState::Lapsed,
        RenewalState::Cancelled => pb::RenewalState::Cancelled,
    };
    pb::Renewal {
        renewal_id: row.renewal_id.clone(),
        account_id: row.account_id.clone(),
        key_ids: store::from_json(&row.key_ids),
        renewal_date: Some(to_proto(row.renewal_date)),
        auto_renew: row.auto_renew,
        invoice_id: row.invoice_id.clone(),
        state: state as i32,
        term_months: row.term_months,
        payment_window_start_time: Some(to_proto(domain::renewal::payment_window_start(
            row.renewal_date,
        ))),
        auto_renew_lock_time: Some(to_proto(domain::renewal::auto_renew_lock_time(
            row.renewal_date,
        ))),
        create_time: Some(to_proto(row.create_time)),
        update_time: Some(to_proto(row.update_time)),
    }
}
