//! Accounts (I1): academic accounts refuse users; accounts and users are created once per request id, also when
//! the requests race.

use portal_proto::identity::{
    CreateAccountRequest, CreateUserRequest, GetAccountRequest, ListUsersRequest, Role,
};
use portal_testkit::{TestApp, assert::assert_status, storage_test};
use tonic::Code;

use super::new_user;

storage_test!(i1_academic_accounts_refuse_users, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let academic = app.new_account("University", true).await;
    let mut ops = app.identity(&app.operator_token()).await;
    assert_status(
        ops.create_user(new_user(&academic, "prof@uni.example", Role::Administrator))
            .await,
        Code::FailedPrecondition,
        "ACADEMIC_ACCOUNT",
    );
    let account = ops
        .get_account(GetAccountRequest {
            account_id: academic.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(account.academic);
});

storage_test!(
    create_is_idempotent_on_request_id_also_when_racing,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let mut ops = app.identity(&app.operator_token()).await;
        let request = CreateAccountRequest {
            name: "Once".into(),
            academic: false,
            request_id: "req-1".into(),
        };
        let calls = (0..8).map(|_| {
            let mut client = ops.clone();
            let request = request.clone();
            async move {
                client
                    .create_account(request)
                    .await
                    .map(|r| r.into_inner().account_id)
            }
        });
        let ids: Vec<String> = futures::future::join_all(calls)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        let reused = ops
            .create_account(CreateAccountRequest {
                name: "Other".into(),
                ..request.clone()
            })
            .await;
        assert_status(reused, Code::InvalidArgument, "REQUEST_ID_REUSED");

        let user = CreateUserRequest {
            request_id: "req-u".into(),
            ..new_user(&ids[0], "u@once.example", Role::Administrator)
        };
        let calls = (0..8).map(|_| {
            let mut client = ops.clone();
            let request = user.clone();
            async move {
                client
                    .create_user(request)
                    .await
                    .map(|r| r.into_inner().user_id)
            }
        });
        let users: Vec<String> = futures::future::join_all(calls)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert!(users.iter().all(|id| *id == users[0]), "{users:?}");
        let listed = ops
            .list_users(ListUsersRequest {
                account_id: ids[0].clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .users;
        assert_eq!(listed.len(), 1);
    }
);
