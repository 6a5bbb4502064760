//! Activations against a key's fulfillment pools (L6): once per machine and product, refused when a pool is empty,
//! never oversubscribed by concurrent calls, and given back by deactivating.

use portal_proto::{
    common::{KeyFamily, Product},
    licensing as pb,
};
use portal_runtime::error::reason_of;
use portal_testkit::{TestApp, assert::reason, storage_test};
use tonic::Code;

use super::activate;

storage_test!(
    l6_pools_take_once_per_machine_and_refuse_when_empty,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let tc = app.issue_key(&a, KeyFamily::Tc, 1).await;
        let ts = app.issue_key(&a, KeyFamily::Ts, 1).await;
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
        let key = app.issue_key(&a, KeyFamily::Td, 3).await; // Desktop pool: 6
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
        let key = app.issue_key(&a, KeyFamily::Td, 1).await; // Desktop pool: 2
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
