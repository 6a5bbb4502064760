//! LicensingService end to end (L1–L12), over tonic against the real services, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use chrono::{Duration, Utc};
use portal_proto::{
    common::{KeyFamily, LicenseType, Product},
    identity::{self as id, Role},
    licensing::{self as pb, DeploymentKind, KeyState},
};
use portal_runtime::{
    error::{reason_of, violations_of},
    time::to_proto,
};
use portal_testkit::{TestApp, storage_test};
use tokio_stream::StreamExt;
use tonic::Code;

fn issue(account_id: &str, family: KeyFamily, seats: i32) -> pb::IssueKeysRequest {
    pb::IssueKeysRequest {
        account_id: account_id.into(),
        family: family as i32,
        seats,
        license_type: LicenseType::Term as i32,
        period_end: Some(to_proto(Utc::now() + Duration::days(365))),
        maintenance_end: Some(to_proto(Utc::now() + Duration::days(365))),
        count: 1,
        request_id: String::new(),
        lblm_enabled: false,
        purchase_id: String::new(),
    }
}

async fn one_key(app: &TestApp, account_id: &str, family: KeyFamily, seats: i32) -> pb::ProductKey {
    let mut issuer = app
        .licensing(&app.service_token("issuer", "licensing.issue"))
        .await;
    issuer
        .issue_keys(issue(account_id, family, seats))
        .await
        .unwrap()
        .into_inner()
        .keys
        .remove(0)
}

fn activate(key: &str, product: Product, machine: &str) -> pb::ActivateKeyRequest {
    pb::ActivateKeyRequest {
        key: key.into(),
        product: product as i32,
        machine_fingerprint: machine.into(),
        hostname: format!("{machine}.local"),
        version: "2026.3".into(),
        user_email: String::new(),
    }
}

fn reason(result: Result<impl std::fmt::Debug, tonic::Status>) -> (Code, String) {
    let status = result.expect_err("expected an error");
    (status.code(), reason_of(&status).unwrap_or_default())
}

storage_test!(
    l1_l3_issue_keys_in_the_family_format_idempotently,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, _) = app.account_with_admin("Acme").await;
        let mut issuer = app
            .licensing(&app.service_token("issuer", "licensing.issue"))
            .await;
        let request = pb::IssueKeysRequest {
            count: 3,
            request_id: "po-17".into(),
            ..issue(&a, KeyFamily::Tc, 5)
        };
        let first = issuer
            .issue_keys(request.clone())
            .await
            .unwrap()
            .into_inner()
            .keys;
        assert_eq!(first.len(), 3);
        for key in &first {
            assert!(key.key.starts_with("TC"), "{}", key.key);
            assert_eq!(
                key.key.split('-').map(str::len).collect::<Vec<_>>(),
                vec![4; 5]
            );
            assert_eq!((key.seats, key.state()), (5, KeyState::Active));
            assert_eq!(
                key.activations_limit,
                5 * 2 + 5,
                "Desktop seats x2 plus Prep Builder seats x1"
            );
        }
        let again = issuer
            .issue_keys(request.clone())
            .await
            .unwrap()
            .into_inner()
            .keys;
        let ids = |keys: &[pb::ProductKey]| {
            let mut v: Vec<String> = keys.iter().map(|k| k.key_id.clone()).collect();
            v.sort();
            v
        };
        assert_eq!(ids(&first), ids(&again), "same request id, same keys");
        let reused = issuer
            .issue_keys(pb::IssueKeysRequest {
                seats: 6,
                ..request
            })
            .await;
        assert_eq!(
            reason(reused),
            (Code::InvalidArgument, "REQUEST_ID_REUSED".into())
        );
        // Portal users and other scopes cannot issue (L3).
        let (_, _, admin) = app.account_with_admin("Other").await;
        let mut user = app.licensing(&admin).await;
        assert_eq!(
            reason(user.issue_keys(issue(&a, KeyFamily::Td, 1)).await).0,
            Code::PermissionDenied
        );
    }
);

storage_test!(
    issue_keys_refuses_bad_input_with_field_violations,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, _) = app.account_with_admin("Acme").await;
        let mut issuer = app
            .licensing(&app.service_token("issuer", "licensing.issue"))
            .await;
        let past = Some(to_proto(Utc::now() - Duration::days(1)));
        let cases = [
            (
                pb::IssueKeysRequest {
                    seats: 0,
                    ..issue(&a, KeyFamily::Tc, 1)
                },
                "seats",
            ),
            (
                pb::IssueKeysRequest {
                    seats: -4,
                    ..issue(&a, KeyFamily::Tc, 1)
                },
                "seats",
            ),
            (
                pb::IssueKeysRequest {
                    family: 0,
                    ..issue(&a, KeyFamily::Tc, 1)
                },
                "family",
            ),
            (
                pb::IssueKeysRequest {
                    family: 42,
                    ..issue(&a, KeyFamily::Tc, 1)
                },
                "family",
            ),
            (
                pb::IssueKeysRequest {
                    count: 1_000_000,
                    ..issue(&a, KeyFamily::Tc, 1)
                },
                "count",
            ),
            (
                pb::IssueKeysRequest {
                    period_end: past,
                    ..issue(&a, KeyFamily::Tc, 1)
                },
                "period_end",
            ),
            (
                pb::IssueKeysRequest {
                    license_type: LicenseType::Perpetual as i32,
                    ..issue(&a, KeyFamily::Tc, 1)
                },
                "period_end",
            ),
            (
                pb::IssueKeysRequest {
                    maintenance_end: None,
                    ..issue(&a, KeyFamily::Tc, 1)
                },
                "maintenance_end",
            ),
        ];
        for (request, field) in cases {
            let status = issuer.issue_keys(request).await.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{field}");
            assert!(
                violations_of(&status).iter().any(|v| v.field == field),
                "{field}: {:?}",
                violations_of(&status)
            );
        }
        assert_eq!(
            reason(issuer.issue_keys(issue("acc-nope", KeyFamily::Tc, 1)).await),
            (Code::NotFound, "ACCOUNT_NOT_FOUND".into())
        );
        let mut activator = app
            .licensing(&app.service_token("activation", "licensing.activate"))
            .await;
        for bad in [
            "TC12-3456",
            "ZZ12-3456-7890-ABCD-1234",
            "",
            "TC12-3456-7890-ABCD-12345",
        ] {
            assert_eq!(
                reason(
                    activator
                        .activate_key(activate(bad, Product::Desktop, "m1"))
                        .await
                )
                .0,
                Code::InvalidArgument,
                "{bad}"
            );
        }
    }
);

storage_test!(
    l4_l5_l12_owners_assignments_and_visibility,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let owner = app
            .new_user(&a, "owner@acme.example", Role::DownloadOnly, &[])
            .await;
        let member = app
            .new_user(&a, "member@acme.example", Role::DownloadOnly, &[])
            .await;
        let bystander = app
            .new_user(&a, "by@acme.example", Role::DownloadOnly, &[])
            .await;
        let (b, stranger, _) = app.account_with_admin("Beta").await;
        let key = one_key(&app, &a, KeyFamily::Tc, 1).await;
        let other_key = one_key(&app, &a, KeyFamily::Td, 1).await;

        let mut admin = app.licensing(&admin_token).await;
        let mut as_owner = app.licensing(&app.user_token(&owner.user_id)).await;
        // Only an Administrator sets owners, and the owner must be an active user of the account (L4).
        let set_owner = |user: &str| pb::SetKeyOwnerRequest {
            key_id: key.key_id.clone(),
            owner_user_id: user.into(),
        };
        assert_eq!(
            reason(as_owner.set_key_owner(set_owner(&owner.user_id)).await).0,
            Code::PermissionDenied
        );
        assert_eq!(
            reason(admin.set_key_owner(set_owner(&stranger.user_id)).await),
            (Code::FailedPrecondition, "USER_NOT_IN_ACCOUNT".into())
        );
        let owned = admin
            .set_key_owner(set_owner(&owner.user_id))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(owned.owner_user_id, owner.user_id);

        // Owners assign the keys they own, within seats; nobody else but Administrators (L5).
        let assign = |k: &str, email: &str| pb::AssignKeyRequest {
            key_id: k.into(),
            email: email.into(),
        };
        let assigned = as_owner
            .assign_key(assign(&key.key_id, "MEMBER@acme.example"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(assigned.assignee_emails, vec!["member@acme.example"]);
        assert_eq!(
            reason(
                as_owner
                    .assign_key(assign(&key.key_id, "by@acme.example"))
                    .await
            ),
            (Code::FailedPrecondition, "SEATS_EXHAUSTED".into())
        );
        assert_eq!(
            reason(
                as_owner
                    .assign_key(assign(&other_key.key_id, "by@acme.example"))
                    .await
            )
            .0,
            Code::PermissionDenied
        );
        assert_eq!(
            reason(
                admin
                    .assign_key(assign(&other_key.key_id, "nobody@acme.example"))
                    .await
            ),
            (Code::FailedPrecondition, "USER_NOT_IN_ACCOUNT".into())
        );
        assert_eq!(
            reason(
                admin
                    .assign_key(assign(&other_key.key_id, "not an email"))
                    .await
            )
            .0,
            Code::InvalidArgument
        );
        let mut as_bystander = app.licensing(&app.user_token(&bystander.user_id)).await;
        assert_eq!(
            reason(
                as_bystander
                    .assign_key(assign(&key.key_id, "by@acme.example"))
                    .await
            )
            .0,
            Code::PermissionDenied
        );

        // Visibility follows I9 (L12).
        let list = |client: &mut portal_testkit::clients::Licensing| {
            let mut client = client.clone();
            let a = a.clone();
            async move {
                let keys = client
                    .list_keys(pb::ListKeysRequest {
                        account_id: a,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .keys;
                let mut ids: Vec<String> = keys.into_iter().map(|k| k.key_id).collect();
                ids.sort();
                ids
            }
        };
        let mut all = vec![key.key_id.clone(), other_key.key_id.clone()];
        all.sort();
        assert_eq!(list(&mut admin).await, all);
        assert_eq!(list(&mut as_owner).await, vec![key.key_id.clone()]);
        let mut as_member = app.licensing(&app.user_token(&member.user_id)).await;
        assert_eq!(list(&mut as_member).await, vec![key.key_id.clone()]);
        assert!(
            list(&mut as_bystander).await.is_empty(),
            "Support Only sees no key"
        );
        assert_eq!(
            reason(
                as_bystander
                    .get_key(pb::GetKeyRequest {
                        key_id: key.key_id.clone()
                    })
                    .await
            )
            .0,
            Code::PermissionDenied
        );
        assert_eq!(
            as_member
                .get_key(pb::GetKeyRequest {
                    key_id: key.key_id.clone()
                })
                .await
                .unwrap()
                .into_inner()
                .key,
            key.key
        );
        let mut outsider = app.licensing(&app.user_token(&stranger.user_id)).await;
        assert_eq!(
            reason(
                outsider
                    .list_keys(pb::ListKeysRequest {
                        account_id: a.clone(),
                        ..Default::default()
                    })
                    .await
            )
            .0,
            Code::PermissionDenied
        );
        assert_eq!(
            reason(
                outsider
                    .get_key(pb::GetKeyRequest {
                        key_id: "key-nope".into()
                    })
                    .await
            )
            .0,
            Code::PermissionDenied
        );
        let _ = b;

        // Personas follow the key facts at once (I9).
        let mut identity = app.identity(&admin_token).await;
        let persona = |user_id: String| {
            let mut identity = identity.clone();
            async move {
                identity
                    .get_user(id::GetUserRequest {
                        user_id,
                        without_persona: false,
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .persona()
            }
        };
        assert_eq!(
            persona(owner.user_id.clone()).await,
            id::Persona::GroupManager
        );
        assert_eq!(
            persona(member.user_id.clone()).await,
            id::Persona::Individual
        );
        assert_eq!(
            persona(bystander.user_id.clone()).await,
            id::Persona::SupportOnly
        );
        as_owner
            .unassign_key(pb::UnassignKeyRequest {
                key_id: key.key_id.clone(),
                email: "member@acme.example".into(),
            })
            .await
            .unwrap();
        assert_eq!(
            persona(member.user_id.clone()).await,
            id::Persona::SupportOnly
        );

        // I8: removing the owner clears the ownership in licensing.
        identity
            .remove_user(id::RemoveUserRequest {
                user_id: owner.user_id.clone(),
            })
            .await
            .unwrap();
        let after = admin
            .get_key(pb::GetKeyRequest {
                key_id: key.key_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(after.owner_user_id, "");
    }
);

storage_test!(
    i8_removing_a_user_releases_assignments_and_activations,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let leaver = app
            .new_user(&a, "leaver@acme.example", Role::DownloadOnly, &[])
            .await;
        let key = one_key(&app, &a, KeyFamily::Td, 2).await;
        let mut admin = app.licensing(&admin_token).await;
        admin
            .assign_key(pb::AssignKeyRequest {
                key_id: key.key_id.clone(),
                email: leaver.email.clone(),
            })
            .await
            .unwrap();
        let mut activator = app
            .licensing(&app.service_token("activation", "licensing.activate"))
            .await;
        let mut request = activate(&key.key, Product::Desktop, "laptop-1");
        request.user_email = leaver.email.clone();
        activator.activate_key(request).await.unwrap();
        assert_eq!(
            admin
                .get_key(pb::GetKeyRequest {
                    key_id: key.key_id.clone()
                })
                .await
                .unwrap()
                .into_inner()
                .activations_used,
            1
        );

        let mut identity = app.identity(&admin_token).await;
        identity
            .remove_user(id::RemoveUserRequest {
                user_id: leaver.user_id.clone(),
            })
            .await
            .unwrap();
        let after = admin
            .get_key(pb::GetKeyRequest {
                key_id: key.key_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(after.assignee_emails.is_empty());
        assert_eq!(after.activations_used, 0);
        // The e-mail comes back as a new user with nothing attached.
        let back = app
            .new_user(&a, "leaver@acme.example", Role::DownloadOnly, &[])
            .await;
        assert_eq!(back.persona(), id::Persona::SupportOnly);
    }
);

storage_test!(
    l6_pools_take_once_per_machine_and_refuse_when_empty,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let tc = one_key(&app, &a, KeyFamily::Tc, 1).await;
        let ts = one_key(&app, &a, KeyFamily::Ts, 1).await;
        let mut activator = app
            .licensing(&app.service_token("activation", "licensing.activate"))
            .await;
        activator
            .activate_key(activate(&tc.key, Product::Desktop, "m1"))
            .await
            .unwrap();
        activator
            .activate_key(activate(&tc.key, Product::Desktop, "m1"))
            .await
            .unwrap();
        activator
            .activate_key(activate(&tc.key, Product::Desktop, "m2"))
            .await
            .unwrap();
        assert_eq!(
            reason(
                activator
                    .activate_key(activate(&tc.key, Product::Desktop, "m3"))
                    .await
            ),
            (Code::ResourceExhausted, "MAX_ACTIVATIONS".into())
        );
        // Prep Builder has its own pool of seats x 1.
        activator
            .activate_key(activate(&tc.key, Product::PrepBuilder, "m3"))
            .await
            .unwrap();
        assert_eq!(
            reason(
                activator
                    .activate_key(activate(&tc.key, Product::PrepBuilder, "m4"))
                    .await
            )
            .0,
            Code::ResourceExhausted
        );
        assert_eq!(
            reason(
                activator
                    .activate_key(activate(&ts.key, Product::Desktop, "m1"))
                    .await
            ),
            (Code::InvalidArgument, "PRODUCT_NOT_IN_FAMILY".into())
        );
        // Deactivating returns one.
        activator
            .deactivate_key(pb::DeactivateKeyRequest {
                key: tc.key.clone(),
                machine_fingerprint: "m2".into(),
                product: Product::Desktop as i32,
            })
            .await
            .unwrap();
        activator
            .activate_key(activate(&tc.key, Product::Desktop, "m3"))
            .await
            .unwrap();
        let missing = activator
            .deactivate_key(pb::DeactivateKeyRequest {
                key: tc.key.clone(),
                machine_fingerprint: "zz".into(),
                product: 0,
            })
            .await;
        assert_eq!(
            reason(missing),
            (Code::NotFound, "ACTIVATION_NOT_FOUND".into())
        );
        let unknown = activator
            .activate_key(activate("TC00-0000-0000-0000-0000", Product::Desktop, "m1"))
            .await;
        assert_eq!(reason(unknown), (Code::NotFound, "KEY_NOT_FOUND".into()));
        // Portal users do not activate.
        let mut admin = app.licensing(&admin_token).await;
        assert_eq!(
            reason(
                admin
                    .activate_key(activate(&tc.key, Product::Desktop, "m9"))
                    .await
            )
            .0,
            Code::PermissionDenied
        );
        let listed = admin
            .list_activations(pb::ListActivationsRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.activations.len(), 3);
        assert!(
            listed
                .activations
                .iter()
                .all(|x| x.key_last_group == tc.key[tc.key.len() - 4..])
        );
    }
);

storage_test!(
    l6_concurrent_activations_never_oversubscribe_the_pool,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let key = one_key(&app, &a, KeyFamily::Td, 3).await; // Desktop pool: 6
        let activator = app
            .licensing(&app.service_token("activation", "licensing.activate"))
            .await;
        let calls = (0..40).map(|i| {
            let mut client = activator.clone();
            let request = activate(&key.key, Product::Desktop, &format!("machine-{i}"));
            async move { client.activate_key(request).await }
        });
        let results = futures::future::join_all(calls).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let exhausted = results
            .iter()
            .filter(|r| matches!(r, Err(s) if reason_of(s).as_deref() == Some("MAX_ACTIVATIONS")))
            .count();
        assert_eq!(
            (ok, exhausted),
            (6, 34),
            "{:?}",
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .find(|s| reason_of(s).as_deref() != Some("MAX_ACTIVATIONS"))
        );
        let mut admin = app.licensing(&admin_token).await;
        let after = admin
            .get_key(pb::GetKeyRequest {
                key_id: key.key_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!((after.activations_used, after.activations_limit), (6, 6));
    }
);

storage_test!(
    l6_one_machine_activating_at_once_from_many_places_takes_one_fulfillment,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let key = one_key(&app, &a, KeyFamily::Td, 1).await; // Desktop pool: 2
        let activator = app
            .licensing(&app.service_token("activation", "licensing.activate"))
            .await;
        let calls = (0..12).map(|_| {
            let mut client = activator.clone();
            let request = activate(&key.key, Product::Desktop, "the-same-machine");
            async move { client.activate_key(request).await }
        });
        let results = futures::future::join_all(calls).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let mut admin = app.licensing(&admin_token).await;
        let used = |admin: &mut portal_testkit::clients::Licensing| {
            let mut admin = admin.clone();
            let key_id = key.key_id.clone();
            async move {
                admin
                    .get_key(pb::GetKeyRequest { key_id })
                    .await
                    .unwrap()
                    .into_inner()
                    .activations_used
            }
        };
        assert_eq!(used(&mut admin).await, 1);
        // Deactivating gives the one fulfillment back, and the pool takes two other machines.
        activator
            .clone()
            .deactivate_key(pb::DeactivateKeyRequest {
                key: key.key.clone(),
                machine_fingerprint: "the-same-machine".into(),
                product: Product::Desktop as i32,
            })
            .await
            .unwrap();
        assert_eq!(used(&mut admin).await, 0);
        for machine in ["m1", "m2"] {
            activator
                .clone()
                .activate_key(activate(&key.key, Product::Desktop, machine))
                .await
                .unwrap();
        }
        assert_eq!(
            reason(
                activator
                    .clone()
                    .activate_key(activate(&key.key, Product::Desktop, "m3"))
                    .await
            ),
            (Code::ResourceExhausted, "MAX_ACTIVATIONS".into())
        );
        assert_eq!(used(&mut admin).await, 2);
    }
);

storage_test!(l6_l7_expired_and_refreshed_keys, |backend| async move {
    let app = TestApp::spawn_with(backend, &portal_testkit::ServiceKind::ALL, |s| {
        s.licensing.expiry_sweep_secs = 1
    })
    .await;
    let (a, _, admin_token) = app.account_with_admin("Acme").await;
    let mut issuer = app
        .licensing(&app.service_token("issuer", "licensing.issue"))
        .await;
    let soon = pb::IssueKeysRequest {
        period_end: Some(to_proto(Utc::now() + Duration::milliseconds(3000))),
        ..issue(&a, KeyFamily::Td, 1)
    };
    let short = issuer
        .issue_keys(soon)
        .await
        .unwrap()
        .into_inner()
        .keys
        .remove(0);
    let mut activator = app
        .licensing(&app.service_token("activation", "licensing.activate"))
        .await;
    activator
        .activate_key(activate(&short.key, Product::Desktop, "m1"))
        .await
        .unwrap();
    // Refreshing before the period end keeps the key and moves the date (L7).
    let long = one_key(&app, &a, KeyFamily::Td, 1).await;
    let later = Utc::now() + Duration::days(800);
    let refreshed = issuer
        .refresh_key(pb::RefreshKeyRequest {
            key_id: long.key_id.clone(),
            period_end: Some(to_proto(later)),
            maintenance_end: Some(to_proto(later)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            refreshed.key.as_str(),
            refreshed.period_end.unwrap().seconds
        ),
        (long.key.as_str(), later.timestamp())
    );
    // The sweep marks the lapsed key EXPIRED; activation and refresh then fail.
    let mut admin = app.licensing(&admin_token).await;
    let mut state = KeyState::Active;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        state = admin
            .get_key(pb::GetKeyRequest {
                key_id: short.key_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .state();
        if state == KeyState::Expired {
            break;
        }
    }
    assert_eq!(state, KeyState::Expired);
    assert_eq!(
        reason(
            activator
                .activate_key(activate(&short.key, Product::Desktop, "m2"))
                .await
        ),
        (Code::FailedPrecondition, "KEY_EXPIRED".into())
    );
    let too_late = issuer
        .refresh_key(pb::RefreshKeyRequest {
            key_id: short.key_id.clone(),
            period_end: Some(to_proto(later)),
            maintenance_end: None,
        })
        .await;
    assert_eq!(
        reason(too_late),
        (Code::FailedPrecondition, "KEY_EXPIRED".into())
    );
    // A perpetual key moves only its maintenance end.
    let perpetual = issuer
        .issue_keys(pb::IssueKeysRequest {
            license_type: LicenseType::Perpetual as i32,
            period_end: None,
            ..issue(&a, KeyFamily::Ts, 1)
        })
        .await
        .unwrap()
        .into_inner()
        .keys
        .remove(0);
    let bad = issuer
        .refresh_key(pb::RefreshKeyRequest {
            key_id: perpetual.key_id.clone(),
            period_end: Some(to_proto(later)),
            maintenance_end: None,
        })
        .await;
    assert_eq!(reason(bad).0, Code::InvalidArgument);
    let moved = issuer
        .refresh_key(pb::RefreshKeyRequest {
            key_id: perpetual.key_id.clone(),
            period_end: None,
            maintenance_end: Some(to_proto(later)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (moved.key.as_str(), moved.maintenance_end.unwrap().seconds),
        (perpetual.key.as_str(), later.timestamp())
    );
});

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
        let fields: Vec<String> = violations_of(&bad).into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["kind", "name", "creator_seats"]);
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
        one_key(&app, &desktop, KeyFamily::Td, 1).await;
        one_key(&app, &server, KeyFamily::Ts, 1).await;
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

storage_test!(
    l10_activation_report_once_a_day_as_csv,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let key = one_key(&app, &a, KeyFamily::Td, 2).await;
        let mut activator = app
            .licensing(&app.service_token("activation", "licensing.activate"))
            .await;
        let mut request = activate(&key.key, Product::Desktop, "pc,with \"quotes\"");
        request.user_email = "admin@acme.example".into();
        activator.activate_key(request).await.unwrap();
        let mut admin = app.licensing(&admin_token).await;
        let ask = |request_id: &str| pb::RequestActivationReportRequest {
            account_id: a.clone(),
            request_id: request_id.into(),
        };
        let report = admin
            .request_activation_report(ask("r1"))
            .await
            .unwrap()
            .into_inner();
        let mut reader = csv::Reader::from_reader(report.csv.as_slice());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            [
                "key",
                "product",
                "user",
                "machine",
                "hostname",
                "version",
                "status",
                "last_activity"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (&rows[0][0], &rows[0][3]),
            (&key.key[key.key.len() - 4..], "pc,with \"quotes\"")
        );
        assert!(
            !String::from_utf8_lossy(&report.csv).contains(&key.key[..10]),
            "never the whole key"
        );
        // The same request replayed is the same report; a new one within 24 h is refused.
        assert_eq!(
            admin
                .request_activation_report(ask("r1"))
                .await
                .unwrap()
                .into_inner()
                .report_id,
            report.report_id
        );
        assert_eq!(
            reason(admin.request_activation_report(ask("r2")).await),
            (Code::ResourceExhausted, "REPORT_RATE_LIMITED".into())
        );
        let downloaded = admin
            .get_activation_report(pb::GetActivationReportRequest {
                report_id: report.report_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(downloaded.csv, report.csv);
        // Racing requests for another account: exactly one report.
        let (b, _, admin_b) = app.account_with_admin("Beta").await;
        let client = app.licensing(&admin_b).await;
        let calls = (0..6).map(|i| {
            let mut client = client.clone();
            let request = pb::RequestActivationReportRequest {
                account_id: b.clone(),
                request_id: format!("race-{i}"),
            };
            async move { client.request_activation_report(request).await }
        });
        let results = futures::future::join_all(calls).await;
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .all(|s| reason_of(s).as_deref() == Some("REPORT_RATE_LIMITED"))
        );
        let member = app
            .new_user(&a, "dl@acme.example", Role::DownloadOnly, &[])
            .await;
        let mut as_member = app.licensing(&app.user_token(&member.user_id)).await;
        assert_eq!(
            reason(as_member.request_activation_report(ask("r3")).await).0,
            Code::PermissionDenied
        );
    }
);

storage_test!(
    l11_elearning_codes_list_who_redeemed_them,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut issuer = app
            .licensing(&app.service_token("billing", "internal"))
            .await;
        let request = pb::IssueElearningCodesRequest {
            account_id: a.clone(),
            count: 3,
            request_id: "el-1".into(),
            purchase_id: "pur-1".into(),
        };
        let codes = issuer
            .issue_elearning_codes(request.clone())
            .await
            .unwrap()
            .into_inner()
            .codes;
        assert_eq!(codes.len(), 3);
        assert_eq!(
            issuer
                .issue_elearning_codes(request)
                .await
                .unwrap()
                .into_inner()
                .codes
                .len(),
            3,
            "idempotent"
        );
        let mut redeemer = app
            .licensing(&app.service_token("elearning", "licensing.activate"))
            .await;
        let redeemed = redeemer
            .redeem_elearning_code(pb::RedeemElearningCodeRequest {
                code: codes[0].code.to_lowercase(),
                email: "learner@acme.example".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(redeemed.redeemed_by_email, "learner@acme.example");
        let again = redeemer
            .redeem_elearning_code(pb::RedeemElearningCodeRequest {
                code: codes[0].code.clone(),
                email: "other@acme.example".into(),
            })
            .await;
        assert_eq!(
            reason(again),
            (Code::FailedPrecondition, "CODE_ALREADY_REDEEMED".into())
        );
        let unknown = redeemer
            .redeem_elearning_code(pb::RedeemElearningCodeRequest {
                code: "ELRN-0000-0000-0000".into(),
                email: "x@acme.example".into(),
            })
            .await;
        assert_eq!(reason(unknown).0, Code::NotFound);
        let mut admin = app.licensing(&admin_token).await;
        let listed = admin
            .list_elearning_codes(pb::ListElearningCodesRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .codes;
        assert_eq!(listed.len(), 3);
        assert_eq!(
            listed
                .iter()
                .filter(|c| !c.redeemed_by_email.is_empty())
                .count(),
            1
        );
        assert!(listed.iter().all(|c| c.purchase_id == "pur-1"));
    }
);
