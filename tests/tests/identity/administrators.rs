//! The last Administrator (I7): never removed or demoted, not even by two concurrent changes.

use portal_proto::identity::{self as pb, ListUsersRequest, Role, UpdateUserRequest};
use portal_runtime::error::reason_of;
use portal_testkit::{TestApp, assert::assert_status, storage_test};
use tonic::Code;

use super::mask;

storage_test!(
    i7_the_last_administrator_is_never_lost,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, admin, token) = app.account_with_admin("Acme").await;
        let mut identity = app.identity(&token).await;
        assert_status(
            identity
                .remove_user(pb::RemoveUserRequest {
                    user_id: admin.user_id.clone(),
                })
                .await,
            Code::FailedPrecondition,
            "LAST_ADMINISTRATOR",
        );
        let demote = pb::User {
            user_id: admin.user_id.clone(),
            role: Role::DownloadOnly as i32,
            ..Default::default()
        };
        assert_status(
            identity
                .update_user(UpdateUserRequest {
                    user: Some(demote.clone()),
                    update_mask: mask(&["role"]),
                })
                .await,
            Code::FailedPrecondition,
            "LAST_ADMINISTRATOR",
        );
        // The vendor's account team appoints a new one; then the old one may go.
        let second = app
            .new_user(&a, "second@acme.example", Role::Administrator, &[])
            .await;
        identity
            .update_user(UpdateUserRequest {
                user: Some(demote),
                update_mask: mask(&["role"]),
            })
            .await
            .unwrap();
        let mut ops = app.identity(&app.operator_token()).await;
        assert_status(
            ops.remove_user(pb::RemoveUserRequest {
                user_id: second.user_id.clone(),
            })
            .await,
            Code::FailedPrecondition,
            "LAST_ADMINISTRATOR",
        );
    }
);

storage_test!(
    i7_concurrent_demotions_of_the_last_two_administrators_leave_one,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        for round in 0..5 {
            let (a, first, _) = app.account_with_admin(&format!("Race{round}")).await;
            let second = app
                .new_user(&a, "second@race.example", Role::Administrator, &[])
                .await;
            let mut one = app.identity(&app.operator_token()).await;
            let mut two = one.clone();
            let demote = |id: &str| UpdateUserRequest {
                user: Some(pb::User {
                    user_id: id.into(),
                    role: Role::DownloadOnly as i32,
                    ..Default::default()
                }),
                update_mask: mask(&["role"]),
            };
            let remove = pb::RemoveUserRequest {
                user_id: second.user_id.clone(),
            };
            let (r1, r2) = tokio::join!(
                one.update_user(demote(&first.user_id)),
                two.remove_user(remove)
            );
            let failures: Vec<tonic::Status> = [r1.err(), r2.err()].into_iter().flatten().collect();
            assert_eq!(
                failures.len(),
                1,
                "round {round}: exactly one of the two must fail: {failures:?}"
            );
            assert_eq!(
                reason_of(&failures[0]).as_deref(),
                Some("LAST_ADMINISTRATOR")
            );
            let users = one
                .list_users(ListUsersRequest {
                    account_id: a.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .users;
            assert_eq!(
                users
                    .iter()
                    .filter(|u| u.role() == Role::Administrator)
                    .count(),
                1,
                "round {round}"
            );
        }
    }
);
