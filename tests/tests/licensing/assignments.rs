//! Who holds a key (L4, L5, L12, I8, I9): owners set by Administrators, assignments within seats, who sees which
//! key, the personas that follow, and what removing a user releases.

use portal_proto::{
    common::{KeyFamily, Product},
    identity::{self as id, Role},
    licensing as pb,
};
use portal_testkit::{TestApp, assert::reason, storage_test};
use tonic::Code;

use super::activate;

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
        let key = app.issue_key(&a, KeyFamily::Tc, 1).await;
        let other_key = app.issue_key(&a, KeyFamily::Td, 1).await;

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
        let key = app.issue_key(&a, KeyFamily::Td, 2).await;
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
    i9_a_user_reads_only_their_own_holdings_in_their_own_account,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, _) = app.account_with_admin("Acme").await;
        let me = app
            .new_user(&a, "me@acme.example", Role::DownloadOnly, &[])
            .await;
        let (b, _, b_admin_token) = app.account_with_admin("Beta").await;
        let someone = app
            .new_user(&b, "someone@beta.example", Role::DownloadOnly, &[])
            .await;
        let key = app.issue_key(&b, KeyFamily::Tc, 1).await;
        app.licensing(&b_admin_token)
            .await
            .assign_key(pb::AssignKeyRequest {
                key_id: key.key_id.clone(),
                email: someone.email.clone(),
            })
            .await
            .unwrap();

        let mut as_me = app.licensing(&app.user_token(&me.user_id)).await;
        let ask = |account_id: &str, email: &str| pb::GetHoldingsRequest {
            account_id: account_id.into(),
            user_id: me.user_id.clone(),
            email: email.into(),
        };
        // What the probe asked: another account's holdings of an e-mail, authorized by the caller's own id.
        for (account, email) in [
            (&b, "someone@beta.example"),
            (&b, ""),
            (&a, "someone@beta.example"),
        ] {
            assert_eq!(
                reason(as_me.get_holdings(ask(account, email)).await),
                (Code::PermissionDenied, "ACCESS_DENIED".into()),
                "{account} {email}"
            );
        }
        let mine = as_me.get_holdings(ask(&a, "")).await.unwrap().into_inner();
        assert_eq!((mine.owned_key_count, mine.assigned_key_count), (0, 0));
        // The account's Administrator still reads anyone's in it.
        let theirs = app
            .licensing(&b_admin_token)
            .await
            .get_holdings(pb::GetHoldingsRequest {
                account_id: b.clone(),
                user_id: someone.user_id.clone(),
                email: someone.email.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(theirs.assigned_key_count, 1);
    }
);
