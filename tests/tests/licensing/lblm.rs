//! Login-based license management, LBLM (L9): Creator seats and site roles on a cloud site, and run grants a desktop
//! app verifies offline with the public key alone; the usage report that follows.

use chrono::Utc;
use portal_proto::{
    common::Product,
    identity::Role,
    licensing::{self as pb, DeploymentKind},
};
use portal_testkit::{TestApp, assert::reason, storage_test};
use tonic::Code;

storage_test!(
    l9_creator_seats_and_grants_verifiable_offline,
    |backend| async move {
        use ed25519_dalek::{Signature, Verifier, VerifyingKey, pkcs8::DecodePublicKey};
        use prost::Message;
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let creator = app
            .new_user(&a, "creator@acme.example", Role::DownloadOnly, &[])
            .await;
        let viewer = app
            .new_user(&a, "viewer@acme.example", Role::DownloadOnly, &[])
            .await;
        let mut admin = app.licensing(&admin_token).await;
        let site = admin
            .register_deployment(pb::RegisterDeploymentRequest {
                account_id: a.clone(),
                kind: DeploymentKind::CloudSite as i32,
                name: "Cloud".into(),
                lblm_enabled: true,
                creator_seats: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let plain = admin
            .register_deployment(pb::RegisterDeploymentRequest {
                account_id: a.clone(),
                kind: DeploymentKind::OnPremise as i32,
                name: "Old".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let role = |deployment: &str, email: &str, role: pb::SiteRole| pb::SetSiteRoleRequest {
            deployment_id: deployment.into(),
            email: email.into(),
            site_role: role as i32,
        };
        admin
            .set_site_role(role(
                &site.deployment_id,
                &creator.email,
                pb::SiteRole::Creator,
            ))
            .await
            .unwrap();
        assert_eq!(
            reason(
                admin
                    .set_site_role(role(
                        &site.deployment_id,
                        &viewer.email,
                        pb::SiteRole::Creator
                    ))
                    .await
            ),
            (Code::FailedPrecondition, "SEATS_EXHAUSTED".into())
        );
        admin
            .set_site_role(role(
                &site.deployment_id,
                &viewer.email,
                pb::SiteRole::Viewer,
            ))
            .await
            .unwrap();
        assert_eq!(
            reason(
                admin
                    .set_site_role(role(
                        &plain.deployment_id,
                        &viewer.email,
                        pb::SiteRole::Viewer
                    ))
                    .await
            ),
            (Code::FailedPrecondition, "LBLM_NOT_ENABLED".into())
        );
        assert_eq!(
            reason(
                admin
                    .set_site_role(role(
                        &site.deployment_id,
                        "ghost@acme.example",
                        pb::SiteRole::Viewer
                    ))
                    .await
            ),
            (Code::FailedPrecondition, "USER_NOT_IN_ACCOUNT".into())
        );

        let run = |email: &str, product: Product| pb::AuthorizeToRunRequest {
            deployment_id: site.deployment_id.clone(),
            email: email.into(),
            product: product as i32,
            machine_fingerprint: "mac-1".into(),
            hostname: "studio".into(),
            version: "2026.3".into(),
        };
        let mut as_viewer = app.licensing(&app.user_token(&viewer.user_id)).await;
        assert_eq!(
            reason(
                as_viewer
                    .authorize_to_run(run(&viewer.email, Product::Desktop))
                    .await
            ),
            (Code::FailedPrecondition, "NOT_A_CREATOR".into())
        );
        assert_eq!(
            reason(
                as_viewer
                    .authorize_to_run(run(&creator.email, Product::Desktop))
                    .await
            )
            .0,
            Code::PermissionDenied,
            "only for oneself"
        );
        let mut as_creator = app.licensing(&app.user_token(&creator.user_id)).await;
        let granted = as_creator
            .authorize_to_run(run(&creator.email, Product::PrepBuilder))
            .await
            .unwrap()
            .into_inner();

        // Verify with the public key alone, as the desktop app does offline.
        let public_pem =
            std::fs::read_to_string(app.settings.data_dir.join("grant-signing-key.pub.pem"))
                .unwrap();
        let public = VerifyingKey::from_public_key_pem(&public_pem).unwrap();
        let signature = Signature::from_slice(&granted.signature).unwrap();
        assert!(public.verify(&granted.grant, &signature).is_ok());
        let grant = pb::RunGrant::decode(granted.grant.as_slice()).unwrap();
        assert_eq!(
            (
                grant.user_id.as_str(),
                grant.product(),
                grant.machine_fingerprint.as_str()
            ),
            (creator.user_id.as_str(), Product::PrepBuilder, "mac-1")
        );
        assert!(grant.expire_time.unwrap().seconds > Utc::now().timestamp());
        let mut tampered = granted.grant.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(public.verify(&tampered, &signature).is_err());

        let usage = admin
            .get_license_usage(pb::GetLicenseUsageRequest {
                account_id: a.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let seats = usage
            .seat_usage
            .iter()
            .find(|s| s.deployment_id == site.deployment_id)
            .unwrap();
        assert_eq!(
            (
                seats.creator_seats,
                seats.creator_seats_used,
                seats.creator_seats_unused
            ),
            (1, 1, 0)
        );
        let used = usage
            .rows
            .iter()
            .find(|r| r.email == creator.email)
            .unwrap();
        assert_eq!(
            (
                used.machine_fingerprint.as_str(),
                used.version.as_str(),
                used.product()
            ),
            ("mac-1", "2026.3", Product::PrepBuilder)
        );
        assert!(used.last_use_time.is_some());
        assert!(
            usage
                .rows
                .iter()
                .any(|r| r.email == viewer.email && r.last_use_time.is_none())
        );
        assert_eq!(
            reason(
                as_creator
                    .get_license_usage(pb::GetLicenseUsageRequest {
                        account_id: a.clone()
                    })
                    .await
            )
            .0,
            Code::PermissionDenied
        );
    }
);
