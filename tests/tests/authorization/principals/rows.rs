//! One row per RPC: its request built from [`Ids`] (A's real ones or made-up ones), who may call it (the
//! personas and scopes its contract names), the principal the matrix calls it as, and whether it mutates.

use chrono::{Duration, Utc};
use prost::Message;
use prost_types::FieldMask;
use tonic::Code;

use portal_proto::{
    billing as bill,
    common::{KeyFamily, LicenseType, Product},
    identity as id, licensing as lic, notification as note,
};
use portal_runtime::time::to_proto;

use super::{
    Who::{self, *},
    fixture::Ids,
};

/// Every persona of A: callers where the contract allows any active user of the account.
const ANY_USER: &[Who] = &[AdminA, GroupManager, Individual, SupportOnly, CaseAdmin];

/// Which account's real ids a [`Probe`] holds fixed; the other's are compared with made-up ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixed {
    A,
    B,
}

/// A request naming resources of two accounts at once, made by `who`: with the other account's real ids it must
/// answer exactly as with made-up ones, or the answer tells `who` which ids exist over there.
pub struct Probe {
    pub who: Who,
    pub fixed: Fixed,
    /// The request from the fixed account's real ids and the varying ones (the other account's, or made up).
    pub request: fn(&Ids, &Ids) -> Vec<u8>,
}

pub struct Row {
    pub path: String,
    /// The portal users the contract lets call it.
    pub users: &'static [Who],
    /// The scopes that let a service principal call it.
    pub scopes: &'static [&'static str],
    /// Who the matrix expects OK from (and, for a mutation, one audit event).
    pub right: Who,
    pub mutates: bool,
    /// The right principal's documented answer where the call cannot succeed on the fixture.
    pub answer: Option<(Code, &'static str)>,
    pub request: fn(&Ids) -> Vec<u8>,
    /// Requests mixing the two accounts' ids, compared with made-up ones.
    pub probes: Vec<Probe>,
}

/// A row as written below: method, the users and the scopes the contract lets call it, the right principal,
/// and its request.
type Written = (
    &'static str,
    &'static [Who],
    &'static [&'static str],
    Who,
    fn(&Ids) -> Vec<u8>,
);

fn rows_of(service: &str, rows: Vec<Written>) -> Vec<Row> {
    rows.into_iter()
        .map(|(method, users, scopes, right, request)| Row {
            path: format!("/{service}/{method}"),
            users,
            scopes,
            right,
            mutates: false,
            answer: None,
            request,
            probes: Vec::new(),
        })
        .collect()
}

/// Adds `probe` to the row of `method`.
fn probing(rows: &mut [Row], method: &str, probe: Probe) {
    let row = rows
        .iter_mut()
        .find(|r| r.path.ends_with(&format!("/{method}")))
        .unwrap_or_else(|| panic!("no row {method}"));
    row.probes.push(probe);
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

fn in_days(days: i64) -> Option<prost_types::Timestamp> {
    Some(to_proto(Utc::now() + Duration::days(days)))
}

/// Marks the rows named in `methods` as mutations.
fn mutating(mut rows: Vec<Row>, methods: &[&str]) -> Vec<Row> {
    for row in &mut rows {
        if methods.iter().any(|m| row.path.ends_with(&format!("/{m}"))) {
            row.mutates = true;
        }
    }
    rows
}

/// Every row, in the order the matrix runs them (a row that needs another's effect comes after it).
pub fn all() -> Vec<Row> {
    let mut rows = identity();
    rows.extend(licensing());
    rows.extend(billing());
    rows.extend(notification());
    rows
}

fn identity() -> Vec<Row> {
    const ADMIN: &[&str] = &["identity.admin"];
    const READ: &[&str] = &["identity.admin", "internal"];
    let rows = rows_of(
        "portal.identity.v1.IdentityService",
        vec![
            (
                "CreateAccount",
                &[],
                ADMIN,
                Service("identity.admin"),
                |i| {
                    id::CreateAccountRequest {
                        name: "Matrix".into(),
                        academic: false,
                        request_id: i.request_id.clone(),
                    }
                    .encode_to_vec()
                },
            ),
            ("GetAccount", ANY_USER, READ, AdminA, |i| {
                id::GetAccountRequest {
                    account_id: i.account.clone(),
                }
                .encode_to_vec()
            }),
            ("CreateUser", &[AdminA], ADMIN, AdminA, |i| {
                id::CreateUserRequest {
                    account_id: i.account.clone(),
                    email: format!("{}@a.example", i.request_id),
                    display_name: "New".into(),
                    role: id::Role::DownloadOnly as i32,
                    additional_permissions: vec![],
                    request_id: i.request_id.clone(),
                }
                .encode_to_vec()
            }),
            ("GetUser", &[AdminA, Individual], READ, AdminA, |i| {
                id::GetUserRequest {
                    user_id: i.individual.clone(),
                    without_persona: false,
                }
                .encode_to_vec()
            }),
            ("ListUsers", &[AdminA], READ, AdminA, |i| {
                id::ListUsersRequest {
                    account_id: i.account.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            ("UpdateUser", &[AdminA], ADMIN, AdminA, |i| {
                id::UpdateUserRequest {
                    user: Some(id::User {
                        user_id: i.editable.clone(),
                        display_name: format!("Renamed {}", i.request_id),
                        ..Default::default()
                    }),
                    update_mask: mask(&["display_name"]),
                }
                .encode_to_vec()
            }),
            ("RemoveUser", &[AdminA], ADMIN, AdminA, |i| {
                id::RemoveUserRequest {
                    user_id: i.victim.clone(),
                }
                .encode_to_vec()
            }),
            (
                "CheckAccess",
                &[Individual],
                &["internal", "identity.admin"],
                Service("internal"),
                |i| {
                    id::CheckAccessRequest {
                        user_id: i.individual.clone(),
                        account_id: i.account.clone(),
                        action: id::Action::ViewAssignedKeys as i32,
                    }
                    .encode_to_vec()
                },
            ),
            (
                "CheckSupportEligibility",
                &[AdminA, SupportOnly, CaseAdmin],
                &["internal", "identity.admin"],
                CaseAdmin,
                |i| {
                    id::CheckSupportEligibilityRequest {
                        account_id: i.account.clone(),
                        email: i.support_email.clone(),
                    }
                    .encode_to_vec()
                },
            ),
            (
                "ListPointsOfContact",
                &[],
                &["internal", "notification.publish", "identity.admin"],
                Service("internal"),
                |i| {
                    id::ListPointsOfContactRequest {
                        kind: id::ContactKind::Security as i32,
                        account_ids: vec![i.account.clone()],
                        include_fallback: true,
                        include_unreachable: true,
                    }
                    .encode_to_vec()
                },
            ),
            ("ListAuditEvents", &[AdminA], ADMIN, AdminA, |i| {
                id::ListAuditEventsRequest {
                    account_id: i.account.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ],
    );
    let mut rows = mutating(
        rows,
        &["CreateAccount", "CreateUser", "UpdateUser", "RemoveUser"],
    );
    // Whether someone of account B may do something in A, or someone nobody knows: the same answer.
    probing(
        &mut rows,
        "CheckAccess",
        Probe {
            who: Service("internal"),
            fixed: Fixed::A,
            request: |a, v| {
                id::CheckAccessRequest {
                    user_id: v.admin.clone(),
                    account_id: a.account.clone(),
                    action: id::Action::ViewAssignedKeys as i32,
                }
                .encode_to_vec()
            },
        },
    );
    probing(
        &mut rows,
        "CheckSupportEligibility",
        Probe {
            who: AdminA,
            fixed: Fixed::A,
            request: |a, v| {
                id::CheckSupportEligibilityRequest {
                    account_id: a.account.clone(),
                    email: v.admin_email.clone(),
                }
                .encode_to_vec()
            },
        },
    );
    rows
}

fn licensing() -> Vec<Row> {
    const ISSUE: &[&str] = &["licensing.issue", "internal"];
    const INTERNAL: &[&str] = &["internal"];
    const ACTIVATE: &[&str] = &["licensing.activate"];
    let rows = rows_of(
        "portal.licensing.v1.LicensingService",
        vec![
            ("IssueKeys", &[], ISSUE, Service("licensing.issue"), |i| {
                lic::IssueKeysRequest {
                    account_id: i.account.clone(),
                    family: KeyFamily::Tc as i32,
                    seats: 1,
                    license_type: LicenseType::Term as i32,
                    period_end: in_days(365),
                    maintenance_end: in_days(365),
                    count: 1,
                    request_id: i.request_id.clone(),
                    lblm_enabled: false,
                    purchase_id: String::new(),
                }
                .encode_to_vec()
            }),
            (
                "GetKey",
                &[AdminA, GroupManager, Individual],
                ISSUE,
                AdminA,
                |i| {
                    lic::GetKeyRequest {
                        key_id: i.key.clone(),
                    }
                    .encode_to_vec()
                },
            ),
            ("ListKeys", ANY_USER, ISSUE, AdminA, |i| {
                lic::ListKeysRequest {
                    account_id: i.account.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            ("SetKeyOwner", &[AdminA], INTERNAL, AdminA, |i| {
                lic::SetKeyOwnerRequest {
                    key_id: i.spare_key.clone(),
                    owner_user_id: i.admin.clone(),
                }
                .encode_to_vec()
            }),
            ("AssignKey", &[AdminA], INTERNAL, AdminA, |i| {
                lic::AssignKeyRequest {
                    key_id: i.spare_key.clone(),
                    email: i.admin_email.clone(),
                }
                .encode_to_vec()
            }),
            ("UnassignKey", &[AdminA], INTERNAL, AdminA, |i| {
                lic::UnassignKeyRequest {
                    key_id: i.spare_key.clone(),
                    email: i.admin_email.clone(),
                }
                .encode_to_vec()
            }),
            (
                "ActivateKey",
                &[],
                ACTIVATE,
                Service("licensing.activate"),
                |i| {
                    lic::ActivateKeyRequest {
                        key: i.key_string.clone(),
                        product: Product::Desktop as i32,
                        machine_fingerprint: "matrix-machine".into(),
                        hostname: "matrix".into(),
                        version: "2026.1".into(),
                        user_email: String::new(),
                    }
                    .encode_to_vec()
                },
            ),
            (
                "DeactivateKey",
                &[],
                ACTIVATE,
                Service("licensing.activate"),
                |i| {
                    lic::DeactivateKeyRequest {
                        key: i.key_string.clone(),
                        machine_fingerprint: "matrix-machine".into(),
                        product: Product::Desktop as i32,
                    }
                    .encode_to_vec()
                },
            ),
            ("RefreshKey", &[], ISSUE, Service("licensing.issue"), |i| {
                lic::RefreshKeyRequest {
                    key_id: i.key.clone(),
                    period_end: in_days(500),
                    maintenance_end: in_days(500),
                }
                .encode_to_vec()
            }),
            ("RevokeKey", &[], ISSUE, Service("licensing.issue"), |i| {
                lic::RevokeKeyRequest {
                    key_id: i.revocable_key.clone(),
                    reason: "matrix".into(),
                    request_id: i.request_id.clone(),
                }
                .encode_to_vec()
            }),
            (
                "GetHoldings",
                &[AdminA, Individual],
                INTERNAL,
                Service("internal"),
                |i| {
                    lic::GetHoldingsRequest {
                        account_id: i.account.clone(),
                        user_id: i.individual.clone(),
                        email: String::new(),
                    }
                    .encode_to_vec()
                },
            ),
            ("ReleaseHoldings", &[], INTERNAL, Service("internal"), |i| {
                lic::ReleaseHoldingsRequest {
                    account_id: i.account.clone(),
                    user_id: i.holder.clone(),
                    email: i.holder_email.clone(),
                }
                .encode_to_vec()
            }),
            ("ListActivations", &[AdminA], INTERNAL, AdminA, |i| {
                lic::ListActivationsRequest {
                    account_id: i.account.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            ("RegisterDeployment", &[AdminA], ISSUE, AdminA, |i| {
                lic::RegisterDeploymentRequest {
                    account_id: i.account.clone(),
                    kind: lic::DeploymentKind::OnPremise as i32,
                    name: "Matrix server".into(),
                    request_id: i.request_id.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            ("UpdateDeployment", &[AdminA], ISSUE, AdminA, |i| {
                lic::UpdateDeploymentRequest {
                    deployment: Some(lic::Deployment {
                        deployment_id: i.deployment.clone(),
                        name: format!("Site {}", i.request_id),
                        ..Default::default()
                    }),
                    update_mask: mask(&["name"]),
                }
                .encode_to_vec()
            }),
            ("ListDeployments", &[AdminA], ISSUE, AdminA, |i| {
                lic::ListDeploymentsRequest {
                    account_id: i.account.clone(),
                }
                .encode_to_vec()
            }),
            ("SetSiteRole", &[AdminA], INTERNAL, AdminA, |i| {
                lic::SetSiteRoleRequest {
                    deployment_id: i.deployment.clone(),
                    email: i.admin_email.clone(),
                    site_role: lic::SiteRole::Viewer as i32,
                }
                .encode_to_vec()
            }),
            (
                "AuthorizeToRun",
                &[GroupManager],
                ACTIVATE,
                Service("licensing.activate"),
                |i| {
                    lic::AuthorizeToRunRequest {
                        deployment_id: i.deployment.clone(),
                        email: i.creator_email.clone(),
                        product: Product::Desktop as i32,
                        machine_fingerprint: "matrix-desktop".into(),
                        hostname: "matrix".into(),
                        version: "2026.1".into(),
                    }
                    .encode_to_vec()
                },
            ),
            ("GetLicenseUsage", &[AdminA], INTERNAL, AdminA, |i| {
                lic::GetLicenseUsageRequest {
                    account_id: i.account.clone(),
                }
                .encode_to_vec()
            }),
            ("RequestActivationReport", &[AdminA], &[], AdminA, |i| {
                lic::RequestActivationReportRequest {
                    account_id: i.account.clone(),
                    request_id: i.request_id.clone(),
                }
                .encode_to_vec()
            }),
            ("GetActivationReport", &[AdminA], INTERNAL, AdminA, |i| {
                lic::GetActivationReportRequest {
                    report_id: i.report.clone(),
                }
                .encode_to_vec()
            }),
            (
                "ListAccountsWithProducts",
                &[],
                &["internal", "notification.publish"],
                Service("internal"),
                |_| {
                    lic::ListAccountsWithProductsRequest {
                        products: vec![Product::Desktop as i32],
                    }
                    .encode_to_vec()
                },
            ),
            (
                "IssueElearningCodes",
                &[],
                ISSUE,
                Service("licensing.issue"),
                |i| {
                    lic::IssueElearningCodesRequest {
                        account_id: i.account.clone(),
                        count: 1,
                        request_id: i.request_id.clone(),
                        purchase_id: String::new(),
                    }
                    .encode_to_vec()
                },
            ),
            ("ListElearningCodes", &[AdminA], ISSUE, AdminA, |i| {
                lic::ListElearningCodesRequest {
                    account_id: i.account.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            (
                "RedeemElearningCode",
                &[Individual],
                ACTIVATE,
                Service("licensing.activate"),
                |i| {
                    lic::RedeemElearningCodeRequest {
                        code: i.code.clone(),
                        email: i.individual_email.clone(),
                    }
                    .encode_to_vec()
                },
            ),
            (
                "ProvisionSiteSeats",
                &[],
                ISSUE,
                Service("licensing.issue"),
                |i| {
                    lic::ProvisionSiteSeatsRequest {
                        account_id: i.account.clone(),
                        key_id: i.lblm_key.clone(),
                        creator_seats: 1,
                        purchase_id: String::new(),
                        request_id: i.request_id.clone(),
                    }
                    .encode_to_vec()
                },
            ),
        ],
    );
    let mut rows = mutating(
        rows,
        &[
            "IssueKeys",
            "SetKeyOwner",
            "AssignKey",
            "UnassignKey",
            "ActivateKey",
            "DeactivateKey",
            "RefreshKey",
            "RevokeKey",
            "ReleaseHoldings",
            "RegisterDeployment",
            "UpdateDeployment",
            "SetSiteRole",
            "RequestActivationReport",
            "IssueElearningCodes",
            "RedeemElearningCode",
            "ProvisionSiteSeats",
        ],
    );
    // Someone of account B asking for their own authorization to run on A's deployment, or on one that does not
    // exist: the same refusal, else B learns A's deployment ids.
    probing(
        &mut rows,
        "AuthorizeToRun",
        Probe {
            who: AdminB,
            fixed: Fixed::B,
            request: |b, v| {
                lic::AuthorizeToRunRequest {
                    deployment_id: v.deployment.clone(),
                    email: b.admin_email.clone(),
                    product: Product::Desktop as i32,
                    machine_fingerprint: "matrix-desktop".into(),
                    hostname: "matrix".into(),
                    version: "2026.1".into(),
                }
                .encode_to_vec()
            },
        },
    );
    // A's holdings of someone of account B, or of an id nobody has: the same answer, for each who may ask.
    for who in [Service("internal"), AdminA] {
        probing(
            &mut rows,
            "GetHoldings",
            Probe {
                who,
                fixed: Fixed::A,
                request: |a, v| {
                    lic::GetHoldingsRequest {
                        account_id: a.account.clone(),
                        user_id: v.admin.clone(),
                        email: String::new(),
                    }
                    .encode_to_vec()
                },
            },
        );
    }
    // A's key given to someone of account B, or to an address nobody has.
    probing(
        &mut rows,
        "SetKeyOwner",
        Probe {
            who: AdminA,
            fixed: Fixed::A,
            request: |a, v| {
                lic::SetKeyOwnerRequest {
                    key_id: a.spare_key.clone(),
                    owner_user_id: v.admin.clone(),
                }
                .encode_to_vec()
            },
        },
    );
    probing(
        &mut rows,
        "AssignKey",
        Probe {
            who: AdminA,
            fixed: Fixed::A,
            request: |a, v| {
                lic::AssignKeyRequest {
                    key_id: a.spare_key.clone(),
                    email: v.admin_email.clone(),
                }
                .encode_to_vec()
            },
        },
    );
    probing(
        &mut rows,
        "SetSiteRole",
        Probe {
            who: AdminA,
            fixed: Fixed::A,
            request: |a, v| {
                lic::SetSiteRoleRequest {
                    deployment_id: a.deployment.clone(),
                    email: v.admin_email.clone(),
                    site_role: lic::SiteRole::Viewer as i32,
                }
                .encode_to_vec()
            },
        },
    );
    // AuthorizeToRun is a check, like CheckAccess: it answers with a signed grant and keeps a check-in for the
    // usage report (L-series login-based licensing), which is not an audited change of anything.
    // The fixture requested A's report already: one per account per 24 hours (L10).
    for row in &mut rows {
        if row.path.ends_with("/RequestActivationReport") {
            row.answer = Some((Code::ResourceExhausted, "REPORT_RATE_LIMITED"));
        }
    }
    rows
}

fn billing() -> Vec<Row> {
    const READ: &[&str] = &["billing.payments", "internal"];
    const PAYMENTS: &[&str] = &["billing.payments"];
    const EVERY: &[&str] = &[
        "identity.admin",
        "licensing.issue",
        "licensing.activate",
        "billing.payments",
        "billing.catalog",
        "notification.publish",
        "internal",
    ];
    let rows = rows_of(
        "portal.billing.v1.BillingService",
        vec![
            (
                "ListCatalog",
                &[
                    AdminA,
                    GroupManager,
                    Individual,
                    SupportOnly,
                    CaseAdmin,
                    AdminB,
                ],
                EVERY,
                SupportOnly,
                |_| {
                    bill::ListCatalogRequest {
                        show_inactive: false,
                    }
                    .encode_to_vec()
                },
            ),
            (
                "UpdateSku",
                &[],
                &["billing.catalog"],
                Service("billing.catalog"),
                |i| {
                    bill::UpdateSkuRequest {
                        sku: Some(bill::Sku {
                            sku: i.sku.clone(),
                            description: format!("Desktop, term, 1 year ({})", i.request_id),
                            ..Default::default()
                        }),
                        update_mask: mask(&["description"]),
                        allow_missing: false,
                    }
                    .encode_to_vec()
                },
            ),
            ("CreatePurchase", &[AdminA], READ, AdminA, |i| {
                bill::CreatePurchaseRequest {
                    account_id: i.account.clone(),
                    items: vec![bill::PurchaseItem {
                        sku: "DESKTOP-TERM-1Y".into(),
                        quantity: 1,
                    }],
                    request_id: i.request_id.clone(),
                }
                .encode_to_vec()
            }),
            ("GetPurchase", &[AdminA], READ, AdminA, |i| {
                bill::GetPurchaseRequest {
                    purchase_id: i.purchase.clone(),
                }
                .encode_to_vec()
            }),
            ("GetInvoice", &[AdminA], READ, AdminA, |i| {
                bill::GetInvoiceRequest {
                    invoice_id: i.invoice.clone(),
                }
                .encode_to_vec()
            }),
            ("ListInvoices", &[AdminA], READ, AdminA, |i| {
                bill::ListInvoicesRequest {
                    account_id: i.account.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            (
                "RecordPayment",
                &[],
                PAYMENTS,
                Service("billing.payments"),
                |i| {
                    bill::RecordPaymentRequest {
                        invoice_id: i.invoice.clone(),
                        amount_minor: 100,
                        reference: format!("matrix-{}", i.request_id),
                        request_id: i.request_id.clone(),
                    }
                    .encode_to_vec()
                },
            ),
            (
                "VoidInvoice",
                &[],
                PAYMENTS,
                Service("billing.payments"),
                |i| {
                    bill::VoidInvoiceRequest {
                        invoice_id: i.voidable_invoice.clone(),
                        reason: "matrix".into(),
                    }
                    .encode_to_vec()
                },
            ),
            ("RenderInvoicePdf", &[AdminA], READ, AdminA, |i| {
                bill::RenderInvoicePdfRequest {
                    invoice_id: i.invoice.clone(),
                }
                .encode_to_vec()
            }),
            (
                "CreateRenewalInvoice",
                &[],
                READ,
                Service("billing.payments"),
                |i| {
                    bill::CreateRenewalInvoiceRequest {
                        account_id: i.account.clone(),
                        key_ids: vec![i.key.clone()],
                        renewal_date: in_days(300),
                        request_id: i.request_id.clone(),
                        items: vec![bill::PurchaseItem {
                            sku: "DESKTOP-PREP-TERM-1Y".into(),
                            quantity: 1,
                        }],
                        term_months: 12,
                    }
                    .encode_to_vec()
                },
            ),
            ("SetAutoRenew", &[AdminA], PAYMENTS, AdminA, |i| {
                bill::SetAutoRenewRequest {
                    renewal_id: i.renewal.clone(),
                    auto_renew: false,
                }
                .encode_to_vec()
            }),
            ("ListRenewals", &[AdminA], READ, AdminA, |i| {
                bill::ListRenewalsRequest {
                    account_id: i.account.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ],
    );
    mutating(
        rows,
        &[
            "UpdateSku",
            "CreatePurchase",
            "RecordPayment",
            "VoidInvoice",
            "CreateRenewalInvoice",
            "SetAutoRenew",
        ],
    )
}

fn notification() -> Vec<Row> {
    const PUBLISH: &[&str] = &["notification.publish"];
    const READ: &[&str] = &["notification.publish", "internal"];
    const PUBLISHER: Who = Service("notification.publish");
    let rows = rows_of(
        "portal.notification.v1.NotificationService",
        vec![
            ("PublishAdvisory", &[], PUBLISH, PUBLISHER, |i| {
                note::PublishAdvisoryRequest {
                    kind: note::AdvisoryKind::Technical as i32,
                    severity: note::Severity::Low as i32,
                    title: "Matrix".into(),
                    summary: "A technical note.".into(),
                    target: Some(note::publish_advisory_request::Target::AccountIds(
                        note::AccountList {
                            account_ids: vec![i.account.clone()],
                        },
                    )),
                    request_id: i.request_id.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            ("GetAdvisory", &[], READ, PUBLISHER, |i| {
                note::GetAdvisoryRequest {
                    advisory_id: i.advisory.clone(),
                }
                .encode_to_vec()
            }),
            ("WatchAdvisory", &[], READ, PUBLISHER, |i| {
                note::WatchAdvisoryRequest {
                    advisory_id: i.advisory.clone(),
                }
                .encode_to_vec()
            }),
            ("ListDeliveries", &[], READ, PUBLISHER, |i| {
                note::ListDeliveriesRequest {
                    advisory_id: i.advisory.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            ("RetryDeliveries", &[], PUBLISH, PUBLISHER, |i| {
                note::RetryDeliveriesRequest {
                    advisory_id: i.advisory.clone(),
                    delivery_ids: vec![],
                }
                .encode_to_vec()
            }),
            ("ListAdvisories", &[], READ, PUBLISHER, |_| {
                note::ListAdvisoriesRequest::default().encode_to_vec()
            }),
            ("SendNotice", &[], &["internal"], Service("internal"), |i| {
                note::SendNoticeRequest {
                    kind: note::NoticeKind::UserAdded as i32,
                    account_id: i.account.clone(),
                    email: i.admin_email.clone(),
                    display_name: "Admin".into(),
                    request_id: i.request_id.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            ("PublishCsafAdvisory", &[], PUBLISH, PUBLISHER, |i| {
                note::PublishCsafAdvisoryRequest {
                    document: std::fs::read(concat!(
                        env!("CARGO_MANIFEST_DIR"),
                        "/fixtures/csaf/example-sa-2026-0142.json"
                    ))
                    .unwrap(),
                    target: Some(note::publish_csaf_advisory_request::Target::AccountIds(
                        note::AccountList {
                            account_ids: vec![i.account.clone()],
                        },
                    )),
                    request_id: i.request_id.clone(),
                }
                .encode_to_vec()
            }),
            ("GetAdvisoryCsaf", &[], READ, PUBLISHER, |i| {
                note::GetAdvisoryCsafRequest {
                    advisory_id: i.advisory.clone(),
                }
                .encode_to_vec()
            }),
            ("GetAdvisoryReport", &[], READ, PUBLISHER, |i| {
                note::GetAdvisoryReportRequest {
                    advisory_id: i.advisory.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            ("ListUnacknowledgedAccounts", &[], READ, PUBLISHER, |i| {
                note::ListUnacknowledgedAccountsRequest {
                    advisory_id: i.advisory.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
            // Before AcknowledgeAdvisory: a reminder goes only to accounts nobody acknowledged.
            ("RemindAdvisory", &[], PUBLISH, PUBLISHER, |i| {
                note::RemindAdvisoryRequest {
                    advisory_id: i.advisory.clone(),
                    request_id: i.request_id.clone(),
                }
                .encode_to_vec()
            }),
            ("AcknowledgeAdvisory", &[], READ, PUBLISHER, |i| {
                note::AcknowledgeAdvisoryRequest {
                    token: i.ack_token.clone(),
                }
                .encode_to_vec()
            }),
        ],
    );
    mutating(
        rows,
        &[
            "PublishAdvisory",
            "RetryDeliveries",
            "SendNotice",
            "PublishCsafAdvisory",
            "RemindAdvisory",
            "AcknowledgeAdvisory",
        ],
    )
}
