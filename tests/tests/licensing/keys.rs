//! Product keys (L1–L3, L6–L7): issued in the family's format, idempotently and only by issuers; bad input refused
//! field by field; refreshed before the period end (a perpetual key's maintenance only); expired by the sweep,
//! after which activation and refresh are refused.

use chrono::{Duration, Utc};
use portal_proto::{
    common::{KeyFamily, LicenseType, Product},
    licensing::{self as pb, KeyState},
};
use portal_runtime::time::to_proto;
use portal_testkit::{
    TestApp,
    assert::{assert_violation, reason},
    fixtures::term_key,
    storage_test, wait,
};
use tonic::Code;

use super::activate;

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
            ..term_key(&a, KeyFamily::Tc, 5)
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
            reason(user.issue_keys(term_key(&a, KeyFamily::Td, 1)).await).0,
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
                    ..term_key(&a, KeyFamily::Tc, 1)
                },
                "seats",
            ),
            (
                pb::IssueKeysRequest {
                    seats: -4,
                    ..term_key(&a, KeyFamily::Tc, 1)
                },
                "seats",
            ),
            (
                pb::IssueKeysRequest {
                    family: 0,
                    ..term_key(&a, KeyFamily::Tc, 1)
                },
                "family",
            ),
            (
                pb::IssueKeysRequest {
                    family: 42,
                    ..term_key(&a, KeyFamily::Tc, 1)
                },
                "family",
            ),
            (
                pb::IssueKeysRequest {
                    count: 1_000_000,
                    ..term_key(&a, KeyFamily::Tc, 1)
                },
                "count",
            ),
            (
                // The contract's bound is 100 keys a call.
                pb::IssueKeysRequest {
                    count: 101,
                    ..term_key(&a, KeyFamily::Tc, 1)
                },
                "count",
            ),
            (
                pb::IssueKeysRequest {
                    period_end: past,
                    ..term_key(&a, KeyFamily::Tc, 1)
                },
                "period_end",
            ),
            (
                pb::IssueKeysRequest {
                    license_type: LicenseType::Perpetual as i32,
                    ..term_key(&a, KeyFamily::Tc, 1)
                },
                "period_end",
            ),
            (
                pb::IssueKeysRequest {
                    maintenance_end: None,
                    ..term_key(&a, KeyFamily::Tc, 1)
                },
                "maintenance_end",
            ),
        ];
        for (request, field) in cases {
            assert_violation(issuer.issue_keys(request).await, field);
        }
        assert_eq!(
            reason(
                issuer
                    .issue_keys(term_key("acc-nope", KeyFamily::Tc, 1))
                    .await
            ),
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
        ..term_key(&a, KeyFamily::Td, 1)
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
    let long = app.issue_key(&a, KeyFamily::Td, 1).await;
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
    let state = wait::until(
        "the sweep to mark the lapsed key EXPIRED",
        std::time::Duration::from_secs(10),
        async || {
            let state = admin
                .get_key(pb::GetKeyRequest {
                    key_id: short.key_id.clone(),
                })
                .await
                .unwrap()
                .into_inner()
                .state();
            if state == KeyState::Expired {
                Ok(state)
            } else {
                Err(state)
            }
        },
    )
    .await;
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
            ..term_key(&a, KeyFamily::Ts, 1)
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
