//! The matrix's world: account A with an Administrator and one user of each persona (I9) and real resources of
//! every kind the rows name, account B with its Administrator; and the same ids made up.

use std::time::Duration;

use chrono::Utc;
use portal_proto::{
    billing as bill,
    common::{KeyFamily, Product},
    identity::{Permission, Role},
    licensing as lic, notification as note,
};
use portal_runtime::{new_id, time::to_proto};
use portal_testkit::{TestApp, fixtures::term_key, wait};

/// The ids a row's request is built from: A's real ones, or made up in the same shapes.
#[derive(Debug, Clone, Default)]
pub struct Ids {
    pub account: String,
    pub admin: String,
    pub admin_email: String,
    /// The Individual: the user GetUser, GetHoldings and CheckAccess ask about.
    pub individual: String,
    pub individual_email: String,
    pub support_email: String,
    /// A Download Only user UpdateUser renames.
    pub editable: String,
    /// A Download Only user RemoveUser removes.
    pub victim: String,
    /// A Download Only user holding an assignment, whose holdings ReleaseHoldings releases.
    pub holder: String,
    pub holder_email: String,
    /// The Group Manager's e-mail: a Creator on `deployment`.
    pub creator_email: String,
    /// The TC key the Group Manager owns and the Individual is assigned.
    pub key: String,
    pub key_string: String,
    /// A TC key nobody owns, which SetKeyOwner, AssignKey and UnassignKey change.
    pub spare_key: String,
    pub revocable_key: String,
    /// A TC key with login-based licensing, for ProvisionSiteSeats.
    pub lblm_key: String,
    /// An LBLM cloud site with Creator seats.
    pub deployment: String,
    pub report: String,
    pub code: String,
    pub purchase: String,
    pub invoice: String,
    /// An invoice with no payments, for VoidInvoice.
    pub voidable_invoice: String,
    pub renewal: String,
    pub sku: String,
    /// A settled security advisory to A.
    pub advisory: String,
    pub ack_token: String,
    /// A fresh idempotency key for each call.
    pub request_id: String,
}

/// The world and the callers' tokens.
pub struct Fixture {
    pub real: Ids,
    /// Account B's real ids, where it has them (its account and Administrator).
    pub b: Ids,
    pub made_up: Ids,
    pub admin_a: String,
    pub group_manager: String,
    pub individual: String,
    pub support_only: String,
    pub case_admin: String,
    pub admin_b: String,
    /// Each user caller's id, by the name of its `Who`.
    pub user_ids: std::collections::HashMap<String, String>,
}

fn made_up(real: &Ids) -> Ids {
    let hex = uuid_hex();
    let key_string = format!(
        "TC{}-{}-{}-{}-{}",
        &hex[0..2],
        &hex[2..6],
        &hex[6..10],
        &hex[10..14],
        &hex[14..18]
    );
    Ids {
        account: new_id("acc"),
        admin: new_id("usr"),
        admin_email: "nobody1@made-up.example".into(),
        individual: new_id("usr"),
        individual_email: "nobody2@made-up.example".into(),
        support_email: "nobody3@made-up.example".into(),
        editable: new_id("usr"),
        victim: new_id("usr"),
        holder: new_id("usr"),
        holder_email: "nobody4@made-up.example".into(),
        creator_email: "nobody5@made-up.example".into(),
        key: new_id("key"),
        key_string,
        spare_key: new_id("key"),
        revocable_key: new_id("key"),
        lblm_key: new_id("key"),
        deployment: new_id("dep"),
        report: new_id("rpt"),
        code: real.code.chars().rev().collect(),
        purchase: new_id("pur"),
        invoice: new_id("inv"),
        voidable_invoice: new_id("inv"),
        renewal: new_id("ren"),
        sku: "MADE-UP-SKU".into(),
        advisory: "ADV-2026-999".into(),
        // The real token's shape (delivery id, expiry, tag) naming a delivery that does not exist.
        ack_token: {
            let mut parts = real.ack_token.splitn(2, '.');
            let _delivery = parts.next();
            format!("{}.{}", new_id("dlv"), parts.next().unwrap_or_default())
        },
        request_id: String::new(),
    }
}

fn uuid_hex() -> String {
    new_id("x")[2..].to_uppercase()
}

impl Fixture {
    pub async fn build(app: &TestApp) -> Self {
        let (account, admin, admin_a) = app.account_with_admin("A").await;
        let (_, admin_b_user, admin_b) = app.account_with_admin("B").await;
        let download = |email: &'static str, permissions: &'static [Permission]| {
            let account = account.clone();
            async move {
                app.new_user(&account, email, Role::DownloadOnly, permissions)
                    .await
            }
        };
        let group_manager = download("gm@a.example", &[]).await;
        let individual = download("individual@a.example", &[]).await;
        let support = download("support@a.example", &[]).await;
        let case_admin = download("cases@a.example", &[Permission::CaseAdministrator]).await;
        let editable = download("editable@a.example", &[]).await;
        let victim = download("victim@a.example", &[]).await;
        let holder = download("holder@a.example", &[]).await;

        let internal = app.service_token("fixture", "internal licensing.issue");
        let mut licensing = app.licensing(&internal).await;
        let key = app.issue_key(&account, KeyFamily::Tc, 5).await;
        let spare = app.issue_key(&account, KeyFamily::Tc, 5).await;
        let held = app.issue_key(&account, KeyFamily::Tc, 5).await;
        let revocable = app.issue_key(&account, KeyFamily::Tc, 1).await;
        let lblm = licensing
            .issue_keys(lic::IssueKeysRequest {
                lblm_enabled: true,
                ..term_key(&account, KeyFamily::Tc, 2)
            })
            .await
            .unwrap()
            .into_inner()
            .keys
            .remove(0);
        licensing
            .set_key_owner(lic::SetKeyOwnerRequest {
                key_id: key.key_id.clone(),
                owner_user_id: group_manager.user_id.clone(),
            })
            .await
            .unwrap();
        for (key_id, email) in [
            (&key.key_id, &individual.email),
            (&held.key_id, &holder.email),
        ] {
            licensing
                .assign_key(lic::AssignKeyRequest {
                    key_id: key_id.clone(),
                    email: email.clone(),
                })
                .await
                .unwrap();
        }
        let deployment = licensing
            .register_deployment(lic::RegisterDeploymentRequest {
                account_id: account.clone(),
                kind: lic::DeploymentKind::CloudSite as i32,
                name: "A's site".into(),
                lblm_enabled: true,
                creator_seats: 3,
                request_id: "fixture-site".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        licensing
            .set_site_role(lic::SetSiteRoleRequest {
                deployment_id: deployment.deployment_id.clone(),
                email: group_manager.email.clone(),
                site_role: lic::SiteRole::Creator as i32,
            })
            .await
            .unwrap();
        let code = licensing
            .issue_elearning_codes(lic::IssueElearningCodesRequest {
                account_id: account.clone(),
                count: 1,
                request_id: "fixture-codes".into(),
                purchase_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .codes
            .remove(0);
        let report = app
            .licensing(&admin_a)
            .await
            .request_activation_report(lic::RequestActivationReportRequest {
                account_id: account.clone(),
                request_id: "fixture-report".into(),
            })
            .await
            .unwrap()
            .into_inner();

        let mut billing = app.billing(&admin_a).await;
        let mut purchase = async |request_id: &str| {
            billing
                .create_purchase(bill::CreatePurchaseRequest {
                    account_id: account.clone(),
                    items: vec![bill::PurchaseItem {
                        sku: "DESKTOP-TERM-1Y".into(),
                        quantity: 1,
                    }],
                    request_id: request_id.into(),
                })
                .await
                .unwrap()
                .into_inner()
        };
        let paid = purchase("fixture-purchase").await;
        let voidable = purchase("fixture-voidable").await;
        let renewal = app
            .billing(&app.service_token("fixture", "billing.payments"))
            .await
            .create_renewal_invoice(bill::CreateRenewalInvoiceRequest {
                account_id: account.clone(),
                key_ids: vec![key.key_id.clone()],
                renewal_date: Some(to_proto(Utc::now() + chrono::Duration::days(200))),
                request_id: "fixture-renewal".into(),
                items: vec![bill::PurchaseItem {
                    sku: "DESKTOP-PREP-TERM-1Y".into(),
                    quantity: 1,
                }],
                term_months: 12,
            })
            .await
            .unwrap()
            .into_inner();

        let (advisory, ack_token) = advisory_to(app, &account).await;
        let real = Ids {
            account,
            admin: admin.user_id,
            admin_email: admin.email,
            individual: individual.user_id.clone(),
            individual_email: individual.email.clone(),
            support_email: support.email.clone(),
            editable: editable.user_id,
            victim: victim.user_id,
            holder: holder.user_id,
            holder_email: holder.email,
            creator_email: group_manager.email.clone(),
            key: key.key_id,
            key_string: key.key,
            spare_key: spare.key_id,
            revocable_key: revocable.key_id,
            lblm_key: lblm.key_id,
            deployment: deployment.deployment_id,
            report: report.report_id,
            code: code.code,
            purchase: paid.purchase_id,
            invoice: paid.invoice_id,
            voidable_invoice: voidable.invoice_id,
            renewal: renewal.renewal_id,
            sku: "DESKTOP-TERM-1Y-EUR".into(),
            advisory,
            ack_token,
            request_id: String::new(),
        };
        Self {
            made_up: made_up(&real),
            b: Ids {
                account: admin_b_user.account_id.clone(),
                admin: admin_b_user.user_id.clone(),
                admin_email: admin_b_user.email.clone(),
                ..Ids::default()
            },
            admin_a,
            group_manager: app.user_token(&group_manager.user_id),
            individual: app.user_token(&individual.user_id),
            support_only: app.user_token(&support.user_id),
            case_admin: app.user_token(&case_admin.user_id),
            admin_b,
            user_ids: [
                ("AdminA", &real.admin),
                ("GroupManager", &group_manager.user_id),
                ("Individual", &individual.user_id),
                ("SupportOnly", &support.user_id),
                ("CaseAdmin", &case_admin.user_id),
                ("AdminB", &admin_b_user.user_id),
            ]
            .into_iter()
            .map(|(who, id)| (who.to_string(), id.clone()))
            .collect(),
            real,
        }
    }
}

/// A security advisory to `account` (whose Administrator stands in for its missing contacts), settled, and the
/// acknowledgement token its mail carries (mail goes to `.eml` files without an SMTP server).
async fn advisory_to(app: &TestApp, account: &str) -> (String, String) {
    let mut publisher = app
        .notification(&app.service_token("fixture", "notification.publish"))
        .await;
    let advisory = publisher
        .publish_advisory(note::PublishAdvisoryRequest {
            kind: note::AdvisoryKind::Security as i32,
            severity: note::Severity::High as i32,
            title: "Matrix advisory".into(),
            summary: "For the authorization matrix.".into(),
            affected_products: vec![note::AffectedProduct {
                product: Product::Desktop as i32,
                versions: vec!["2026.1".into()],
                fixed_versions: vec!["2026.1.1".into()],
            }],
            target: Some(note::publish_advisory_request::Target::AccountIds(
                note::AccountList {
                    account_ids: vec![account.into()],
                },
            )),
            request_id: "fixture-advisory".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .advisory_id;
    let mail_dir = app.settings.data_dir.join("mail");
    let token = wait::until("the advisory's mail", Duration::from_secs(60), async || {
        let stats = publisher
            .get_advisory(note::GetAdvisoryRequest {
                advisory_id: advisory.clone(),
            })
            .await
            .map_err(|e| e.to_string())?
            .into_inner()
            .stats
            .unwrap_or_default();
        if !stats.settled {
            return Err(format!("{stats:?}"));
        }
        ack_token_in(&mail_dir).ok_or_else(|| "no token in the mail yet".to_string())
    })
    .await;
    (advisory, token)
}

/// The first acknowledgement token (`dlv-….<expiry>.<tag>`) in the `.eml` files of `dir`.
fn ack_token_in(dir: &std::path::Path) -> Option<String> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let text = text.replace("=\r\n", "").replace("=\n", "");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("dlv-") {
            let token: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                .collect();
            let token = token.trim_end_matches('.');
            if token.matches('.').count() == 2 {
                return Some(token.to_string());
            }
            rest = &rest[at + 4..];
        }
    }
    None
}
