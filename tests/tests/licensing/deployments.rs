//! Deployments (L8, I11) and the products an account holds: support eligibility follows the registered
//! deployments, and notification finds the accounts holding a product through keys and deployments alike.

use portal_proto::{
    common::{KeyFamily, Product},
    identity as id,
    licensing::{self as pb, DeploymentEnvironment, DeploymentKind},
};
use portal_testkit::{
    TestApp,
    assert::{reason, violated_fields},
    storage_test,
};
use tokio_stream::StreamExt;
use tonic::Code;

storage_test!(
    l8_i11_deployments_decide_support_eligibility,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut admin = app.licensing(&admin_token).await;
        let mut identity = app
            .identity(&app.service_token("support", "internal"))
            .await;
        let eligible = |email: &str| {
            let mut identity = identity.clone();
            let request = id::CheckSupportEligibilityRequest {
                account_id: a.clone(),
                email: email.into(),
            };
            async move {
                identity
                    .check_support_eligibility(request)
                    .await
                    .unwrap()
                    .into_inner()
            }
        };
        assert!(!eligible("admin@acme.example").await.eligible);
        let register = |kind: DeploymentKind| pb::RegisterDeploymentRequest {
            account_id: a.clone(),
            kind: kind as i32,
            name: "Prod".into(),
            lblm_enabled: false,
            creator_seats: 0,
            key_id: String::new(),
            request_id: String::new(),
            environment: 0,
        };
        let on_prem = admin
            .register_deployment(register(DeploymentKind::OnPremise))
            .await
            .unwrap()
            .into_inner();
        let user = eligible("admin@acme.example").await;
        assert!(user.eligible, "{}", user.reason);
        let outsider = eligible("someone@elsewhere.example").await;
        assert!(!outsider.eligible, "{}", outsider.reason);
        admin
            .register_deployment(register(DeploymentKind::CloudSite))
            .await
            .unwrap();
        assert!(eligible("someone@elsewhere.example").await.eligible);
        let listed = admin
            .list_deployments(pb::ListDeploymentsRequest {
                account_id: a.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.deployments.len(), 2);
        let inactive = pb::Deployment {
            deployment_id: on_prem.deployment_id.clone(),
            state: pb::DeploymentState::Inactive as i32,
            ..Default::default()
        };
        let updated = admin
            .update_deployment(pb::UpdateDeploymentRequest {
                deployment: Some(inactive),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["state".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(updated.state(), pb::DeploymentState::Inactive);
        let bad = admin
            .register_deployment(pb::RegisterDeploymentRequest {
                kind: 0,
                name: String::new(),
                creator_seats: -1,
                ..register(DeploymentKind::CloudSite)
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&bad), ["kind", "name", "creator_seats"]);
        let academic = app.new_account("Uni", true).await;
        let answer = identity
            .check_support_eligibility(id::CheckSupportEligibilityRequest {
                account_id: academic,
                email: "x@uni.example".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!answer.eligible);
    }
);

storage_test!(
    accounts_with_products_stream_for_advisory_targeting,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let desktop = app.new_account("Desk", false).await;
        let server = app.new_account("Serv", false).await;
        let site_only = app.new_account("Site", false).await;
        let _nothing = app.new_account("Empty", false).await;
        app.issue_key(&desktop, KeyFamily::Td, 1).await;
        app.issue_key(&server, KeyFamily::Ts, 1).await;
        let mut ops = app
            .licensing(&app.service_token("ops", "licensing.issue"))
            .await;
        ops.register_deployment(pb::RegisterDeploymentRequest {
            account_id: site_only.clone(),
            kind: DeploymentKind::CloudSite as i32,
            name: "Cloud".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let notifier = app
            .licensing(&app.service_token("notification", "internal"))
            .await;
        let accounts = |products: Vec<Product>| {
            let mut client = notifier.clone();
            async move {
                let request = pb::ListAccountsWithProductsRequest {
                    products: products.into_iter().map(|p| p as i32).collect(),
                };
                let mut ids: Vec<String> = client
                    .list_accounts_with_products(request)
                    .await
                    .unwrap()
                    .into_inner()
                    .map(|r| r.unwrap().account_id)
                    .collect()
                    .await;
                ids.sort();
                ids
            }
        };
        assert_eq!(
            accounts(vec![Product::Desktop]).await,
            vec![desktop.clone()]
        );
        let mut expected = vec![server.clone(), site_only.clone()];
        expected.sort();
        assert_eq!(accounts(vec![Product::Server]).await, expected);
        assert_eq!(
            accounts(vec![Product::Desktop, Product::Server])
                .await
                .len(),
            3
        );
        let mut user = app.licensing(&app.user_token("usr-x")).await;
        assert_eq!(
            reason(
                user.list_accounts_with_products(pb::ListAccountsWithProductsRequest {
                    products: vec![1]
                })
                .await
                .map(|_| ())
            )
            .0,
            Code::PermissionDenied
        );
    }
);

storage_test!(
    i11_a_user_learns_nothing_about_another_account,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, _) = app.account_with_admin("Acme").await;
        let me = app
            .new_user(&a, "me@acme.example", id::Role::DownloadOnly, &[])
            .await;
        let other = app.new_account("Beta", false).await;
        app.licensing(&app.service_token("ops", "licensing.issue"))
            .await
            .register_deployment(pb::RegisterDeploymentRequest {
                account_id: other.clone(),
                kind: DeploymentKind::CloudSite as i32,
                name: "Beta cloud".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut identity = app.identity(&app.user_token(&me.user_id)).await;
        let ask = |account_id: &str| id::CheckSupportEligibilityRequest {
            account_id: account_id.into(),
            email: me.email.clone(),
        };
        // Another account, real or made up: the same refusal, so neither its cloud site nor its existence shows.
        for account in [other.as_str(), "acc-made-up"] {
            assert_eq!(
                reason(identity.check_support_eligibility(ask(account)).await),
                (Code::PermissionDenied, "ACCESS_DENIED".into()),
                "{account}"
            );
        }
        let own = identity
            .check_support_eligibility(ask(&a))
            .await
            .unwrap()
            .into_inner();
        assert!(!own.eligible);
    }
);

storage_test!(
    l14_a_fourth_environment_on_a_server_key_is_refused,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let key = app.issue_key(&a, KeyFamily::Ts, 1).await;
        let desktop_key = app.issue_key(&a, KeyFamily::Td, 1).await;
        let mut admin = app.licensing(&admin_token).await;
        let register =
            |name: &str, environment: DeploymentEnvironment| pb::RegisterDeploymentRequest {
                account_id: a.clone(),
                kind: DeploymentKind::OnPremise as i32,
                name: name.into(),
                key_id: key.key_id.clone(),
                environment: environment as i32,
                ..Default::default()
            };
        let prod = admin
            .register_deployment(register("prod", DeploymentEnvironment::Production))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(prod.environment(), DeploymentEnvironment::Production);
        assert_eq!(
            reason(
                admin
                    .register_deployment(register("prod-2", DeploymentEnvironment::Production))
                    .await
            ),
            (Code::FailedPrecondition, "ENVIRONMENT_LIMIT_REACHED".into())
        );
        // Not saying which takes the first free one: production is taken, so non-production.
        let staging = admin
            .register_deployment(register("staging", DeploymentEnvironment::Unspecified))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(staging.environment(), DeploymentEnvironment::NonProduction);
        admin
            .register_deployment(register("test", DeploymentEnvironment::NonProduction))
            .await
            .unwrap();
        for environment in [
            DeploymentEnvironment::NonProduction,
            DeploymentEnvironment::Production,
            DeploymentEnvironment::Unspecified,
        ] {
            assert_eq!(
                reason(
                    admin
                        .register_deployment(register("fourth", environment))
                        .await
                ),
                (Code::FailedPrecondition, "ENVIRONMENT_LIMIT_REACHED".into()),
                "{environment:?}"
            );
        }
        let listed = admin
            .list_deployments(pb::ListDeploymentsRequest {
                account_id: a.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .deployments;
        let mut environments: Vec<_> = listed.iter().map(|d| d.environment()).collect();
        environments.sort_by_key(|e| *e as i32);
        assert_eq!(
            environments,
            [
                DeploymentEnvironment::Production,
                DeploymentEnvironment::NonProduction,
                DeploymentEnvironment::NonProduction
            ]
        );

        // An inactive deployment frees its place, and takes it back only while it is free.
        let state = |d: &pb::Deployment, state: pb::DeploymentState| pb::UpdateDeploymentRequest {
            deployment: Some(pb::Deployment {
                deployment_id: d.deployment_id.clone(),
                state: state as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["state".into()],
            }),
        };
        admin
            .update_deployment(state(&staging, pb::DeploymentState::Inactive))
            .await
            .unwrap();
        let replacement = admin
            .register_deployment(register("staging-2", DeploymentEnvironment::NonProduction))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            reason(
                admin
                    .update_deployment(state(&staging, pb::DeploymentState::Active))
                    .await
            ),
            (Code::FailedPrecondition, "ENVIRONMENT_LIMIT_REACHED".into())
        );
        admin
            .update_deployment(state(&replacement, pb::DeploymentState::Inactive))
            .await
            .unwrap();
        admin
            .update_deployment(state(&staging, pb::DeploymentState::Active))
            .await
            .unwrap();

        // Only a server key licenses a deployment.
        let not_server = admin
            .register_deployment(pb::RegisterDeploymentRequest {
                key_id: desktop_key.key_id.clone(),
                ..register("desk", DeploymentEnvironment::Production)
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&not_server), ["key_id"]);
    }
);
