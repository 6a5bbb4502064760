//! Revocation (L13): a revoked key refuses activation and assignment and shows as revoked; its activations and
//! assignments are released; its owner and assignee are told once each; revoking again changes nothing; only
//! issuers revoke.

use std::time::Duration;

use portal_proto::{
    common::{KeyFamily, Product},
    identity::Role,
    licensing::{self as pb, KeyState},
};
use portal_testkit::{
    TestApp,
    assert::{assert_violation, reason},
    smtp::{Received, SmtpSink},
    storage_test, wait,
};
use tonic::Code;

use super::activate;

fn revoke(key_id: &str, request_id: &str) -> pb::RevokeKeyRequest {
    pb::RevokeKeyRequest {
        key_id: key_id.into(),
        reason: "Refunded: chargeback on order 4411".into(),
        request_id: request_id.into(),
    }
}

storage_test!(
    l13_a_revoked_key_refuses_activation_and_its_people_are_told_once,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let mut app = TestApp::spawn_with_mail(backend, &sink).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let owner = app
            .new_user(&a, "owner@acme.example", Role::DownloadOnly, &[])
            .await;
        let assignee = app
            .new_user(&a, "assignee@acme.example", Role::DownloadOnly, &[])
            .await;
        let key = app.issue_key(&a, KeyFamily::Td, 2).await;
        let mut admin = app.licensing(&admin_token).await;
        admin
            .set_key_owner(pb::SetKeyOwnerRequest {
                key_id: key.key_id.clone(),
                owner_user_id: owner.user_id.clone(),
            })
            .await
            .unwrap();
        let assign = |key_id: &str| pb::AssignKeyRequest {
            key_id: key_id.into(),
            email: assignee.email.clone(),
        };
        admin.assign_key(assign(&key.key_id)).await.unwrap();
        let mut activator = app
            .licensing(&app.service_token("activation", "licensing.activate"))
            .await;
        activator
            .activate_key(activate(&key.key, Product::Desktop, "m1"))
            .await
            .unwrap();

        let mut issuer = app
            .licensing(&app.service_token("issuer", "licensing.issue"))
            .await;
        let revoked = issuer
            .revoke_key(revoke(&key.key_id, "rv-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(revoked.state(), KeyState::Revoked);
        assert_eq!(revoked.revoke_reason, "Refunded: chargeback on order 4411");
        assert!(revoked.revoke_time.is_some());
        assert!(revoked.assignee_emails.is_empty(), "assignments released");
        assert_eq!(revoked.activations_used, 0, "activations released");
        assert_eq!(
            revoked.owner_user_id, owner.user_id,
            "the owner stays on record"
        );

        // A revoked key refuses activation (L6) and assignment, and shows as revoked.
        assert_eq!(
            reason(
                activator
                    .activate_key(activate(&key.key, Product::Desktop, "m2"))
                    .await
            ),
            (Code::FailedPrecondition, "KEY_REVOKED".into())
        );
        assert_eq!(
            reason(admin.assign_key(assign(&key.key_id)).await),
            (Code::FailedPrecondition, "KEY_REVOKED".into())
        );
        let listed = admin
            .list_keys(pb::ListKeysRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .keys;
        let shown = listed.iter().find(|k| k.key_id == key.key_id).unwrap();
        assert_eq!(shown.state(), KeyState::Revoked);
        let released = admin
            .list_activations(pb::ListActivationsRequest {
                account_id: a.clone(),
                key_id: key.key_id.clone(),
                show_deactivated: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .activations;
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].state(), pb::ActivationState::Deactivated);

        // Revoking again, by a replay or by a new request, changes nothing and answers the same.
        for request_id in ["rv-1", "rv-2", ""] {
            let again = issuer
                .revoke_key(pb::RevokeKeyRequest {
                    reason: "another reason".into(),
                    ..revoke(&key.key_id, request_id)
                })
                .await;
            let again = match request_id {
                // The replay's content differs from the first call's: the id is refused, nothing happens.
                "rv-1" => {
                    assert_eq!(
                        reason(again),
                        (Code::InvalidArgument, "REQUEST_ID_REUSED".into())
                    );
                    issuer
                        .revoke_key(revoke(&key.key_id, "rv-1"))
                        .await
                        .unwrap()
                        .into_inner()
                }
                _ => again.unwrap().into_inner(),
            };
            assert_eq!(
                (&again.revoke_reason, again.revoke_time, again.update_time),
                (
                    &revoked.revoke_reason,
                    revoked.revoke_time,
                    revoked.update_time
                ),
                "{request_id:?}"
            );
        }

        // A later notice, queued after anything the repeats could have queued, marks the end: once it is in,
        // stopping the app lets the workers finish every send they hold, so the mail counted is all there is.
        let later = app.issue_key(&a, KeyFamily::Td, 1).await;
        admin.assign_key(assign(&later.key_id)).await.unwrap();
        let last_group = |k: &pb::ProductKey| k.key[k.key.len() - 4..].to_string();
        let subject = |m: &Received| m.header("Subject").unwrap_or_default();
        wait::until(
            "the later key's notice",
            Duration::from_secs(20),
            async || {
                let mail = sink.received();
                if mail
                    .iter()
                    .any(|m| subject(m).contains(&last_group(&later)))
                {
                    Ok(())
                } else {
                    Err(mail.iter().map(subject).collect::<Vec<_>>())
                }
            },
        )
        .await;
        app.shutdown().await;
        let mail = sink.received();
        let revocations: Vec<(String, String)> = mail
            .iter()
            .filter(|m| subject(m).contains("revoked"))
            .map(|m| (m.to[0].clone(), subject(m)))
            .collect();
        assert_eq!(revocations.len(), 2, "{revocations:?}");
        for person in [&owner.email, &assignee.email] {
            assert!(
                revocations
                    .iter()
                    .any(|(to, s)| to == person && s.contains(&last_group(&key))),
                "{person}: {revocations:?}"
            );
        }
        let to_owner = mail
            .iter()
            .find(|m| m.to[0] == owner.email && subject(m).contains("revoked"))
            .unwrap();
        // The body is quoted-printable: long lines are folded with soft breaks.
        let body = to_owner.data.replace("=\r\n", "");
        assert!(body.contains("chargeback on order 4411"), "{body}");
        assert!(
            !to_owner.data.contains(&key.key),
            "the whole key is never mailed"
        );
    }
);

storage_test!(
    l13_only_issuers_revoke_and_a_reason_is_required,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let key = app.issue_key(&a, KeyFamily::Ts, 1).await;
        for token in [
            admin_token,
            app.service_token("activation", "licensing.activate"),
        ] {
            let mut caller = app.licensing(&token).await;
            assert_eq!(
                reason(caller.revoke_key(revoke(&key.key_id, "")).await).0,
                Code::PermissionDenied
            );
        }
        let mut issuer = app
            .licensing(&app.service_token("issuer", "licensing.issue"))
            .await;
        assert_violation(
            issuer
                .revoke_key(pb::RevokeKeyRequest {
                    reason: "  ".into(),
                    ..revoke(&key.key_id, "")
                })
                .await,
            "reason",
        );
        assert_eq!(
            reason(issuer.revoke_key(revoke("key_nope", "")).await),
            (Code::NotFound, "KEY_NOT_FOUND".into())
        );
        let untouched = issuer
            .get_key(pb::GetKeyRequest {
                key_id: key.key_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(untouched.state(), KeyState::Active);
    }
);
