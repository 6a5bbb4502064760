//! Bad input gets INVALID_ARGUMENT with field violations, or NOT_FOUND with a reason — never INTERNAL.

use portal_proto::identity::{
    self as pb, CreateAccountRequest, CreateUserRequest, GetAccountRequest, GetUserRequest,
    ListUsersRequest, Role, UpdateUserRequest,
};
use portal_testkit::{
    TestApp,
    assert::{assert_status, assert_violation, violated_fields},
    storage_test,
};
use tonic::Code;

use super::{mask, new_user};

storage_test!(
    invalid_input_gets_field_violations_never_internal,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, admin, token) = app.account_with_admin("Acme").await;
        let mut identity = app.identity(&token).await;
        let huge = "x".repeat(10 * 1024);
        let cases = [
            (
                CreateUserRequest {
                    email: "not-an-email".into(),
                    ..new_user(&a, "", Role::DownloadOnly)
                },
                "email",
            ),
            (
                CreateUserRequest {
                    email: format!("{huge}@example.com"),
                    ..new_user(&a, "", Role::DownloadOnly)
                },
                "email",
            ),
            (
                CreateUserRequest {
                    role: 0,
                    ..new_user(&a, "r@example.com", Role::DownloadOnly)
                },
                "role",
            ),
            (
                CreateUserRequest {
                    role: 99,
                    ..new_user(&a, "r@example.com", Role::DownloadOnly)
                },
                "role",
            ),
            (
                CreateUserRequest {
                    additional_permissions: vec![0],
                    ..new_user(&a, "r@example.com", Role::DownloadOnly)
                },
                "additional_permissions",
            ),
            (
                CreateUserRequest {
                    display_name: huge.clone(),
                    ..new_user(&a, "r@example.com", Role::DownloadOnly)
                },
                "display_name",
            ),
        ];
        for (request, field) in cases {
            assert_violation(identity.create_user(request).await, field);
        }
        let mut ops = app.identity(&app.operator_token()).await;
        let status = ops
            .create_account(CreateAccountRequest {
                name: "   ".into(),
                academic: false,
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            (status.code(), violated_fields(&status)[0].as_str()),
            (Code::InvalidArgument, "name")
        );
        let status = ops
            .create_account(CreateAccountRequest {
                name: huge.clone(),
                academic: false,
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_status(
            ops.get_account(GetAccountRequest {
                account_id: "acc-missing".into(),
            })
            .await,
            Code::NotFound,
            "ACCOUNT_NOT_FOUND",
        );
        assert_status(
            ops.get_user(GetUserRequest {
                user_id: "usr-missing".into(),
                without_persona: false,
            })
            .await,
            Code::NotFound,
            "USER_NOT_FOUND",
        );
        assert_status(
            ops.create_user(new_user("acc-missing", "x@example.com", Role::DownloadOnly))
                .await,
            Code::NotFound,
            "ACCOUNT_NOT_FOUND",
        );
        let status = ops
            .list_users(ListUsersRequest {
                account_id: a.clone(),
                page_size: -1,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let status = ops
            .list_users(ListUsersRequest {
                account_id: a.clone(),
                page_token: "bogus".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let status = identity
            .update_user(UpdateUserRequest {
                user: Some(pb::User {
                    user_id: admin.user_id.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["state"]),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
);
