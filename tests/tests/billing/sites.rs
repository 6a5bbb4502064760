//! Cloud sites from Creator purchases (B11): buying Creator seats provisions them on the account's one cloud site
//! (created LBLM-enabled, then grown), exactly once per purchase line — also across a replay and a licensing
//! outage — and tells each Administrator once; a Creator there gets an authorization to run (L9), anyone is
//! eligible for support through it (I11), and the seats leave the site when their key expires or is revoked (L13).

use std::time::Duration;

use chrono::Utc;
use portal_proto::{
    billing::PurchaseState,
    common::{KeyFamily, Product},
    identity::{self as id, Role},
    licensing::{self as lic, DeploymentKind, DeploymentState, SiteRole},
};
use portal_runtime::time::to_proto;
use portal_testkit::{
    ServiceKind, TestApp,
    assert::{assert_status, reason},
    clients::Licensing,
    fixtures::term_key,
    smtp::{Received, SmtpSink},
    storage_test, wait,
};
use tonic::Code;

use super::{item, order, settled};

const CREATOR: &str = "CREATOR-TERM-1Y";

/// The account's deployments, as licensing lists them.
async fn deployments(licensing: &mut Licensing, account_id: &str) -> Vec<lic::Deployment> {
    licensing
        .list_deployments(lic::ListDeploymentsRequest {
            account_id: account_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .deployments
}

/// The account's one deployment, which must be an active LBLM-enabled cloud site.
async fn the_site(licensing: &mut Licensing, account_id: &str) -> lic::Deployment {
    let mut all = deployments(licensing, account_id).await;
    assert_eq!(all.len(), 1, "one cloud site: {all:?}");
    let site = all.remove(0);
    assert_eq!(
        (site.kind(), site.state(), site.lblm_enabled),
        (DeploymentKind::CloudSite, DeploymentState::Active, true)
    );
    site
}

fn subject(mail: &Received) -> String {
    mail.header("Subject").unwrap_or_default()
}

/// The "cloud site ready" mails received so far, by recipient.
fn site_mails(sink: &SmtpSink) -> Vec<(String, String)> {
    sink.received()
        .iter()
        .filter(|m| subject(m).contains("cloud site"))
        .map(|m| (m.to.join(","), subject(m)))
        .collect()
}

/// Waits until `n` "cloud site ready" mails arrived, and returns them.
async fn wait_site_mails(sink: &SmtpSink, n: usize) -> Vec<(String, String)> {
    wait::until(
        &format!("{n} cloud site mails"),
        Duration::from_secs(30),
        async || {
            let mails = site_mails(sink);
            if mails.len() >= n {
                Ok(mails)
            } else {
                Err(mails)
            }
        },
    )
    .await
}

storage_test!(
    b11_creator_purchases_seat_one_cloud_site_announced_to_each_administrator,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let url = sink.url();
        let app = TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
            s.smtp.url = Some(url.into());
            s.smtp.retry_first_ms = 100;
            s.smtp.retry_max_ms = 400;
            s.smtp.poll_ms = 50;
        })
        .await;
        let (a, first_admin, admin_token) = app.account_with_admin("Acme").await;
        let second_admin = app
            .new_user(&a, "second@acme.example", Role::Administrator, &[])
            .await;
        let creator = app
            .new_user(&a, "maker@acme.example", Role::DownloadOnly, &[])
            .await;
        let mut buyer = app.billing(&admin_token).await;
        let mut admin = app.licensing(&admin_token).await;

        // 3 Creator seats for an account without a site: one new, active, LBLM-enabled cloud site with 3.
        let first = buyer
            .create_purchase(order(&a, vec![item(CREATOR, 3)], "creators-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.state(), PurchaseState::Fulfilled, "{first:?}");
        let site = the_site(&mut admin, &a).await;
        assert_eq!(site.creator_seats, 3);
        assert_eq!(first.site_ids, std::slice::from_ref(&site.deployment_id));
        assert!(!first.no_administrator_notified);
        // Each Administrator is told once, with the site and its seats; nobody else is.
        let mails = wait_site_mails(&sink, 2).await;
        let mut to: Vec<&str> = mails.iter().map(|(t, _)| t.as_str()).collect();
        to.sort();
        assert_eq!(
            to,
            [first_admin.email.as_str(), second_admin.email.as_str()]
        );
        assert!(
            mails.iter().all(|(_, s)| s.contains("3 Creator seats")),
            "{mails:?}"
        );
        let body = sink
            .received()
            .into_iter()
            .find(|m| subject(m).contains("cloud site"))
            .unwrap()
            .data;
        assert!(body.contains(&site.deployment_id) && body.contains("Creator site role"));

        // 2 more: the same site, now 5; the same request again adds nothing.
        let more = order(&a, vec![item(CREATOR, 2)], "creators-2");
        let second = buyer
            .create_purchase(more.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(second.state(), PurchaseState::Fulfilled);
        assert_eq!(second.site_ids, std::slice::from_ref(&site.deployment_id));
        assert_eq!(the_site(&mut admin, &a).await.creator_seats, 5);
        let replay = buyer.create_purchase(more).await.unwrap().into_inner();
        assert_eq!(
            (replay.purchase_id.as_str(), replay.key_ids.as_slice()),
            (second.purchase_id.as_str(), second.key_ids.as_slice())
        );
        assert_eq!(the_site(&mut admin, &a).await.creator_seats, 5);
        let mails = wait_site_mails(&sink, 4).await;
        for who in [&first_admin.email, &second_admin.email] {
            assert_eq!(
                mails.iter().filter(|(t, _)| t == who).count(),
                2,
                "{mails:?}"
            );
        }
        assert!(mails.iter().any(|(_, s)| s.contains("5 Creator seats")));

        // A Creator on the site runs Desktop (L9).
        admin
            .set_site_role(lic::SetSiteRoleRequest {
                deployment_id: site.deployment_id.clone(),
                email: creator.email.clone(),
                site_role: SiteRole::Creator as i32,
            })
            .await
            .unwrap();
        let mut as_creator = app.licensing(&app.user_token(&creator.user_id)).await;
        let granted = as_creator
            .authorize_to_run(lic::AuthorizeToRunRequest {
                deployment_id: site.deployment_id.clone(),
                email: creator.email.clone(),
                product: Product::Desktop as i32,
                machine_fingerprint: "mac-1".into(),
                hostname: "studio".into(),
                version: "2026.3".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!granted.grant.is_empty() && !granted.signature.is_empty());

        // Someone who is not a portal user of the account is eligible for support through the site (I11).
        let mut support = app
            .identity(&app.service_token("support", "internal"))
            .await;
        let outsider = support
            .check_support_eligibility(id::CheckSupportEligibilityRequest {
                account_id: a.clone(),
                email: "contractor@elsewhere.example".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(outsider.eligible, "{}", outsider.reason);
    }
);

storage_test!(
    b11_creator_seats_bought_while_licensing_is_down_are_added_once_when_it_returns,
    |backend| async move {
        // As in B3's fulfilment tests: licensing in a process of its own, on a fixed port, so it can stop and
        // come back at the same address.
        let reserved = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let licensing_url = format!("http://{reserved}");
        let core = TestApp::spawn_with(
            backend,
            &[ServiceKind::Identity, ServiceKind::Notification],
            |s| s.peers.licensing = Some(licensing_url.clone()),
        )
        .await;
        let core_url = format!("http://{}", core.address);
        let licensing_process = |s: &mut portal_runtime::Settings| {
            s.listen = reserved;
            s.peers.identity = Some(core_url.clone());
            s.peers.notification = Some(core_url.clone());
        };
        let mut licensing = core
            .spawn_sharing(&[ServiceKind::Licensing], licensing_process)
            .await;
        let billing = core
            .spawn_sharing(&[ServiceKind::Billing], |s| {
                s.peers.identity = Some(core_url.clone());
                s.peers.licensing = Some(licensing_url.clone());
                s.server.client_timeout_ms = 2_000;
            })
            .await;
        let (a, _, admin_token) = core.account_with_admin("Acme").await;
        let mut buyer = billing.billing(&admin_token).await;
        let first = buyer
            .create_purchase(order(&a, vec![item(CREATOR, 3)], "creators-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.state(), PurchaseState::Fulfilled);

        licensing.shutdown().await;
        let more = order(&a, vec![item(CREATOR, 2)], "creators-2");
        let pending = buyer
            .create_purchase(more.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(pending.state(), PurchaseState::Pending);
        assert!(pending.key_ids.is_empty() && pending.site_ids.is_empty());
        let replay = buyer
            .create_purchase(more.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(replay.purchase_id, pending.purchase_id);

        let back = core
            .spawn_sharing(&[ServiceKind::Licensing], licensing_process)
            .await;
        let done = settled(&mut buyer, &pending.purchase_id).await;
        assert_eq!(done.state(), PurchaseState::Fulfilled, "{done:?}");
        assert_eq!(done.site_ids, first.site_ids);
        let mut admin = back.licensing(&admin_token).await;
        let site = the_site(&mut admin, &a).await;
        assert_eq!(site.creator_seats, 5, "exactly the 3 and the 2");
        // Asking again after it settled changes nothing.
        let again = buyer.create_purchase(more).await.unwrap().into_inner();
        assert_eq!(again.key_ids, done.key_ids);
        assert_eq!(the_site(&mut admin, &a).await.creator_seats, 5);
    }
);

storage_test!(
    b11_an_account_without_an_administrator_is_reported_on_the_purchase,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let a = app.new_account("Orphan", false).await;
        let mut back_office = app
            .billing(&app.service_token("sales", "billing.payments"))
            .await;
        let purchase = back_office
            .create_purchase(order(&a, vec![item(CREATOR, 1)], "orphan"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(purchase.state(), PurchaseState::Fulfilled, "{purchase:?}");
        assert_eq!(purchase.site_ids.len(), 1);
        assert!(purchase.no_administrator_notified);
        // A Desktop purchase grants no site seats: no site, nothing to report.
        let desktop = back_office
            .create_purchase(order(&a, vec![item("DESKTOP-TERM-1Y", 1)], "desktop"))
            .await
            .unwrap()
            .into_inner();
        assert!(desktop.site_ids.is_empty() && !desktop.no_administrator_notified);
    }
);

storage_test!(
    b11_a_keys_seats_leave_the_site_when_it_expires,
    |backend| async move {
        let app = TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
            s.licensing.expiry_sweep_secs = 1
        })
        .await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut issuer = app
            .licensing(&app.service_token("issuer", "licensing.issue"))
            .await;
        let creator_key = |period_end| lic::IssueKeysRequest {
            lblm_enabled: true,
            period_end: Some(to_proto(period_end)),
            ..term_key(&a, KeyFamily::Tc, 1)
        };
        let mut issue = async |request: lic::IssueKeysRequest| {
            issuer
                .issue_keys(request)
                .await
                .unwrap()
                .into_inner()
                .keys
                .remove(0)
        };
        let lasting = issue(creator_key(Utc::now() + chrono::Duration::days(365))).await;
        let short = issue(lic::IssueKeysRequest {
            request_id: "short".into(),
            ..creator_key(Utc::now() + chrono::Duration::seconds(4))
        })
        .await;
        let provision =
            |key_id: &str, seats: i32, request_id: &str| lic::ProvisionSiteSeatsRequest {
                account_id: a.clone(),
                key_id: key_id.into(),
                creator_seats: seats,
                purchase_id: String::new(),
                request_id: request_id.into(),
            };
        // Only a service provisions seats.
        let mut admin = app.licensing(&admin_token).await;
        assert_status(
            admin
                .provision_site_seats(provision(&lasting.key_id, 1, "by-admin"))
                .await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );
        issuer
            .provision_site_seats(provision(&lasting.key_id, 1, "lasting"))
            .await
            .unwrap();
        let seated = issuer
            .provision_site_seats(provision(&short.key_id, 2, "short"))
            .await
            .unwrap()
            .into_inner();
        assert!(!seated.replayed);
        assert_eq!(seated.site.as_ref().unwrap().creator_seats, 3);
        // A key's seats are added once, whatever the request id.
        let again = issuer
            .provision_site_seats(provision(&short.key_id, 2, "short-again"))
            .await
            .unwrap()
            .into_inner();
        assert!(again.replayed);
        let site = the_site(&mut admin, &a).await;
        assert_eq!(site.creator_seats, 3);
        let mut creators = Vec::new();
        for name in ["c1", "c2", "c3", "c4"] {
            creators.push(
                app.new_user(&a, &format!("{name}@acme.example"), Role::DownloadOnly, &[])
                    .await,
            );
        }
        let make_creator = |email: &str| lic::SetSiteRoleRequest {
            deployment_id: site.deployment_id.clone(),
            email: email.into(),
            site_role: SiteRole::Creator as i32,
        };
        for c in &creators[..3] {
            admin.set_site_role(make_creator(&c.email)).await.unwrap();
        }

        // The short key expires: its 2 seats leave the site.
        let site = wait::until(
            "the expired key's seats to leave the site",
            Duration::from_secs(20),
            async || {
                let site = the_site(&mut admin, &a).await;
                if site.creator_seats == 1 {
                    Ok(site)
                } else {
                    Err(site.creator_seats)
                }
            },
        )
        .await;
        assert_eq!(site.state(), DeploymentState::Active);
        // No Creator role beyond the remaining seat. The Creators there keep their role; the first one still
        // runs, the later ones get no new authorization (what they hold runs until it expires).
        assert_eq!(
            reason(admin.set_site_role(make_creator(&creators[3].email)).await),
            (Code::FailedPrecondition, "SEATS_EXHAUSTED".into())
        );
        let run = |email: &str| lic::AuthorizeToRunRequest {
            deployment_id: site.deployment_id.clone(),
            email: email.into(),
            product: Product::PrepBuilder as i32,
            machine_fingerprint: "mac-1".into(),
            hostname: String::new(),
            version: String::new(),
        };
        let mut runs = app
            .licensing(&app.service_token("desktop", "licensing.activate"))
            .await;
        runs.authorize_to_run(run(&creators[0].email))
            .await
            .unwrap();
        assert_eq!(
            reason(runs.authorize_to_run(run(&creators[2].email)).await),
            (Code::FailedPrecondition, "SEATS_EXHAUSTED".into())
        );
        // The expired key's request replayed adds nothing back; a new request for it is refused.
        let replayed = issuer
            .provision_site_seats(provision(&short.key_id, 2, "short"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(replayed.site.unwrap().creator_seats, 1);
        assert_status(
            issuer
                .provision_site_seats(provision(&short.key_id, 2, "short-late"))
                .await,
            Code::FailedPrecondition,
            "KEY_EXPIRED",
        );
        assert_eq!(the_site(&mut admin, &a).await.creator_seats, 1);
    }
);

storage_test!(
    b11_l13_a_revoked_keys_seats_leave_the_site_with_the_revocation,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut issuer = app
            .licensing(&app.service_token("issuer", "licensing.issue"))
            .await;
        let key = issuer
            .issue_keys(lic::IssueKeysRequest {
                lblm_enabled: true,
                ..term_key(&a, KeyFamily::Tc, 3)
            })
            .await
            .unwrap()
            .into_inner()
            .keys
            .remove(0);
        let seated = issuer
            .provision_site_seats(lic::ProvisionSiteSeatsRequest {
                account_id: a.clone(),
                key_id: key.key_id.clone(),
                creator_seats: 3,
                purchase_id: String::new(),
                request_id: "seats".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(seated.site.unwrap().creator_seats, 3);
        issuer
            .revoke_key(lic::RevokeKeyRequest {
                key_id: key.key_id.clone(),
                reason: "refunded".into(),
                request_id: "revoke".into(),
            })
            .await
            .unwrap();
        // In the revocation's own transaction: no sweep has to run first.
        let mut admin = app.licensing(&admin_token).await;
        let sites = deployments(&mut admin, &a).await;
        assert_eq!(sites.len(), 1, "{sites:?}");
        assert_eq!(sites[0].creator_seats, 0, "{sites:?}");
    }
);
