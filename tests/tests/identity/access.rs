//! Who may do what (I6, I10): every RPC denies other accounts and Download Only users, CheckAccess answers for
//! users and refuses strangers, and a demotion or removal is seen by the very next call — also on another replica.

use portal_proto::identity::{
    self as pb, Action, CheckAccessRequest, ContactKind, CreateAccountRequest, GetUserRequest,
    ListAuditEventsRequest, ListPointsOfContactRequest, ListUsersRequest, Persona, Role,
    UpdateUserRequest,
};
use portal_testkit::{Backend, ServiceKind, TestApp, assert::assert_status, storage_test};
use tokio_stream::StreamExt;
use tonic::Code;

use super::{mask, new_user};

storage_test!(
    i6_every_rpc_denies_other_accounts_and_download_only_users,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, admin_a, _) = app.account_with_admin("Acme").await;
        let (b, _, token_b) = app.account_with_admin("Beta").await;
        let member = app
            .new_user(&a, "dl@acme.example", Role::DownloadOnly, &[])
            .await;
        let token_member = app.user_token(&member.user_id);
        let no_scope = app.service_token("random", "billing.catalog");
        for token in [&token_b, &token_member, &no_scope] {
            let mut identity = app.identity(token).await;
            let denied = |r: Result<tonic::Response<()>, tonic::Status>| {
                assert_status(r, Code::PermissionDenied, "ACCESS_DENIED")
            };
            denied(
                identity
                    .create_user(new_user(&a, "x@acme.example", Role::DownloadOnly))
                    .await
                    .map(|r| r.map(|_| ())),
            );
            denied(
                identity
                    .list_users(ListUsersRequest {
                        account_id: a.clone(),
                        ..Default::default()
                    })
                    .await
                    .map(|r| r.map(|_| ())),
            );
            denied(
                identity
                    .get_user(GetUserRequest {
                        user_id: admin_a.user_id.clone(),
                        without_persona: false,
                    })
                    .await
                    .map(|r| r.map(|_| ())),
            );
            let patch = pb::User {
                user_id: admin_a.user_id.clone(),
                display_name: "Pwned".into(),
                ..Default::default()
            };
            denied(
                identity
                    .update_user(UpdateUserRequest {
                        user: Some(patch),
                        update_mask: mask(&["display_name"]),
                    })
                    .await
                    .map(|r| r.map(|_| ())),
            );
            denied(
                identity
                    .remove_user(pb::RemoveUserRequest {
                        user_id: admin_a.user_id.clone(),
                    })
                    .await
                    .map(|r| r.map(|_| ())),
            );
            denied(
                identity
                    .list_audit_events(ListAuditEventsRequest {
                        account_id: a.clone(),
                        ..Default::default()
                    })
                    .await
                    .map(|r| r.map(|_| ())),
            );
            denied(
                identity
                    .create_account(CreateAccountRequest {
                        name: "X".into(),
                        ..Default::default()
                    })
                    .await
                    .map(|r| r.map(|_| ())),
            );
            let check = CheckAccessRequest {
                user_id: admin_a.user_id.clone(),
                account_id: a.clone(),
                action: Action::ManageUsers as i32,
            };
            denied(identity.check_access(check).await.map(|r| r.map(|_| ())));
            let poc = ListPointsOfContactRequest {
                kind: ContactKind::Security as i32,
                account_ids: vec![],
                include_fallback: true,
                include_unreachable: false,
            };
            match identity.list_points_of_contact(poc).await {
                Err(s) => assert_eq!(s.code(), Code::PermissionDenied),
                Ok(stream) => {
                    let first = stream.into_inner().next().await.unwrap();
                    assert_eq!(first.unwrap_err().code(), Code::PermissionDenied);
                }
            }
        }
        // The other account's admin is not denied access to non-existent users of account A with NOT_FOUND either.
        let mut identity = app.identity(&token_b).await;
        assert_status(
            identity
                .get_user(GetUserRequest {
                    user_id: "usr-nope".into(),
                    without_persona: false,
                })
                .await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );
        // A Download Only user reads themself, and nobody else.
        let mut own = app.identity(&token_member).await;
        let me = own
            .get_user(GetUserRequest {
                user_id: member.user_id.clone(),
                without_persona: false,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(me.email, "dl@acme.example");
        assert_eq!(me.persona(), Persona::SupportOnly);
        // Service principals with identity.admin manage any account.
        let mut ops = app.identity(&app.operator_token()).await;
        assert!(
            ops.list_users(ListUsersRequest {
                account_id: b.clone(),
                ..Default::default()
            })
            .await
            .is_ok()
        );
    }
);

storage_test!(
    i10_check_access_answers_for_users_and_refuses_strangers,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, admin, token) = app.account_with_admin("Acme").await;
        let support = app
            .new_user(&a, "s@acme.example", Role::DownloadOnly, &[])
            .await;
        let internal = app.service_token("billing", "internal");
        let mut identity = app.identity(&internal).await;
        let check = |user_id: &str, action: Action| CheckAccessRequest {
            user_id: user_id.into(),
            account_id: a.clone(),
            action: action as i32,
        };
        let yes = identity
            .check_access(check(&admin.user_id, Action::ViewInvoices))
            .await
            .unwrap()
            .into_inner();
        assert!(yes.allowed);
        assert_eq!(yes.persona(), Persona::PortalAdministrator);
        let no = identity
            .check_access(check(&support.user_id, Action::ViewInvoices))
            .await
            .unwrap()
            .into_inner();
        assert!(!no.allowed);
        assert_eq!(no.persona(), Persona::SupportOnly);
        assert!(
            no.reason.contains("only Portal Administrators"),
            "{}",
            no.reason
        );
        let (b, _, _) = app.account_with_admin("Beta").await;
        let stranger = identity
            .check_access(CheckAccessRequest {
                user_id: admin.user_id.clone(),
                account_id: b,
                action: Action::ViewInvoices as i32,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!stranger.allowed);
        let status = identity
            .check_access(check(&admin.user_id, Action::Unspecified))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        // A portal user may ask about themself only.
        let mut own = app.identity(&token).await;
        assert!(
            own.check_access(check(&admin.user_id, Action::ManageUsers))
                .await
                .unwrap()
                .into_inner()
                .allowed
        );
        assert_status(
            own.check_access(check(&support.user_id, Action::ManageUsers))
                .await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );
    }
);

/// What a caller may do follows a change at once: the caller's row is remembered between calls (on SQLite),
/// and every write of identity forgets it before answering.
async fn check_as(
    app: &TestApp,
    token: &str,
    user_id: &str,
    account_id: &str,
) -> pb::CheckAccessResponse {
    app.identity(token)
        .await
        .check_access(CheckAccessRequest {
            user_id: user_id.into(),
            account_id: account_id.into(),
            action: Action::ViewInvoices as i32,
        })
        .await
        .unwrap()
        .into_inner()
}

storage_test!(
    i10_a_demotion_or_removal_is_seen_by_the_next_call,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let second = app
            .new_user(&a, "second@acme.example", Role::Administrator, &[])
            .await;
        let second_token = app.user_token(&second.user_id);
        // Warm whatever the suite remembers about the caller.
        for _ in 0..3 {
            let before = check_as(&app, &second_token, &second.user_id, &a).await;
            assert!(before.allowed);
            assert_eq!(before.persona(), Persona::PortalAdministrator);
        }

        let mut admin = app.identity(&admin_token).await;
        admin
            .update_user(UpdateUserRequest {
                user: Some(pb::User {
                    user_id: second.user_id.clone(),
                    role: Role::DownloadOnly as i32,
                    ..Default::default()
                }),
                update_mask: mask(&["role"]),
            })
            .await
            .unwrap();
        let after = check_as(&app, &second_token, &second.user_id, &a).await;
        assert!(!after.allowed);
        assert_eq!(after.persona(), Persona::SupportOnly);
        let listing = app
            .identity(&second_token)
            .await
            .list_users(ListUsersRequest {
                account_id: a.clone(),
                page_size: 10,
                ..Default::default()
            })
            .await;
        assert_eq!(listing.unwrap_err().code(), Code::PermissionDenied);

        admin
            .remove_user(pb::RemoveUserRequest {
                user_id: second.user_id.clone(),
            })
            .await
            .unwrap();
        let removed = app
            .identity(&second_token)
            .await
            .get_user(GetUserRequest {
                user_id: second.user_id.clone(),
                without_persona: true,
            })
            .await;
        assert_eq!(removed.unwrap_err().code(), Code::PermissionDenied);
    }
);

/// Two identity replicas on one PostgreSQL database: a demotion made through one is seen by the next call to
/// the other (no replica keeps user rows between calls on PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i10_a_demotion_through_one_replica_is_seen_by_the_other() {
    let first = TestApp::spawn(Backend::Postgres).await;
    let second = first
        .spawn_sharing(&[ServiceKind::Identity], |s| {
            s.peers.licensing = Some(format!("http://{}", first.address));
        })
        .await;
    let (a, _, admin_token) = first.account_with_admin("Acme").await;
    let user = first
        .new_user(&a, "second@acme.example", Role::Administrator, &[])
        .await;
    let token = first.user_token(&user.user_id);
    assert!(check_as(&second, &token, &user.user_id, &a).await.allowed);

    first
        .identity(&admin_token)
        .await
        .update_user(UpdateUserRequest {
            user: Some(pb::User {
                user_id: user.user_id.clone(),
                role: Role::DownloadOnly as i32,
                ..Default::default()
            }),
            update_mask: mask(&["role"]),
        })
        .await
        .unwrap();
    let after = check_as(&second, &token, &user.user_id, &a).await;
    assert!(!after.allowed);
    assert_eq!(after.persona(), Persona::SupportOnly);
}
