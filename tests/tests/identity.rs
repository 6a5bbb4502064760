//! IdentityService end to end (I1–I12), over tonic against the real services, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

use portal_proto::identity::{
    self as pb, Action, CheckAccessRequest, ContactKind, CreateAccountRequest, CreateUserRequest,
    GetAccountRequest, GetUserRequest, ListAuditEventsRequest, ListPointsOfContactRequest,
    ListUsersRequest, Permission, Persona, Role, UpdateUserRequest, UserState,
};
use portal_runtime::error::{reason_of, violations_of};
use portal_testkit::{Backend, ServiceKind, TestApp, storage_test};
use prost_types::FieldMask;
use tokio_stream::StreamExt;
use tonic::Code;

fn new_user(account_id: &str, email: &str, role: Role) -> CreateUserRequest {
    CreateUserRequest {
        account_id: account_id.into(),
        email: email.into(),
        display_name: "Someone".into(),
        role: role as i32,
        additional_permissions: vec![],
        request_id: String::new(),
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

fn assert_status(result: Result<impl std::fmt::Debug, tonic::Status>, code: Code, reason: &str) {
    let status = result.expect_err("expected an error");
    assert_eq!(
        (status.code(), reason_of(&status).as_deref()),
        (code, Some(reason)),
        "{status:?}"
    );
}

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
    i2_email_is_unique_per_account_case_insensitively_but_not_across_accounts,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_a) = app.account_with_admin("Acme").await;
        let (b, _, _) = app.account_with_admin("Beta").await;
        let mut identity = app.identity(&admin_a).await;
        let first = identity
            .create_user(new_user(&a, "Dana@Example.com", Role::DownloadOnly))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.email, "Dana@Example.com");
        assert_status(
            identity
                .create_user(new_user(&a, "dana@example.COM", Role::Administrator))
                .await,
            Code::AlreadyExists,
            "USER_EXISTS",
        );
        // The same person in another account, with another role.
        let other = app
            .new_user(&b, "dana@example.com", Role::Administrator, &[])
            .await;
        assert_eq!(other.role(), Role::Administrator);
        assert_ne!(other.user_id, first.user_id);
    }
);

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
            let status = identity.create_user(request).await.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
            assert!(
                violations_of(&status).iter().any(|v| v.field == field),
                "{field}: {:?}",
                violations_of(&status)
            );
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
            (status.code(), violations_of(&status)[0].field.as_str()),
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

storage_test!(i5_email_can_never_be_edited, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let (a, _, token) = app.account_with_admin("Acme").await;
    let user = app
        .new_user(&a, "erin@example.com", Role::DownloadOnly, &[])
        .await;
    let mut identity = app.identity(&token).await;
    let patch = pb::User {
        user_id: user.user_id.clone(),
        email: "new@example.com".into(),
        ..Default::default()
    };
    let status = identity
        .update_user(UpdateUserRequest {
            user: Some(patch.clone()),
            update_mask: mask(&["email"]),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&status).as_deref(), Some("EMAIL_IMMUTABLE"));
    assert!(
        status
            .message()
            .contains("remove the user and add them again"),
        "{}",
        status.message()
    );
    let status = identity
        .update_user(UpdateUserRequest {
            user: Some(patch),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&status).as_deref(), Some("EMAIL_IMMUTABLE"));
    // Role, display name and permissions do change.
    let patch = pb::User {
        user_id: user.user_id.clone(),
        display_name: "Erin E.".into(),
        role: Role::Administrator as i32,
        additional_permissions: vec![Permission::SecurityPointOfContact as i32],
        ..Default::default()
    };
    let updated = identity
        .update_user(UpdateUserRequest {
            user: Some(patch),
            update_mask: mask(&["display_name", "role", "additional_permissions"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            updated.display_name.as_str(),
            updated.role(),
            updated.email.as_str()
        ),
        ("Erin E.", Role::Administrator, "erin@example.com")
    );
    assert_eq!(
        updated.additional_permissions,
        vec![Permission::SecurityPointOfContact as i32]
    );
    assert_eq!(updated.persona(), Persona::PortalAdministrator);
});

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
            let denied = |r: Result<tonic::Response<_>, tonic::Status>| {
                let s = r.map(|_: tonic::Response<_>| ()).unwrap_err();
                assert_eq!(
                    (s.code(), reason_of(&s).as_deref()),
                    (Code::PermissionDenied, Some("ACCESS_DENIED")),
                    "{s:?}"
                );
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

storage_test!(
    i8_removed_users_stay_for_the_audit_trail_and_can_be_added_again,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, token) = app.account_with_admin("Acme").await;
        let mut identity = app.identity(&token).await;
        let gone = identity
            .create_user(new_user(&a, "gone@acme.example", Role::DownloadOnly))
            .await
            .unwrap()
            .into_inner();
        identity
            .remove_user(pb::RemoveUserRequest {
                user_id: gone.user_id.clone(),
            })
            .await
            .unwrap();
        identity
            .remove_user(pb::RemoveUserRequest {
                user_id: gone.user_id.clone(),
            })
            .await
            .unwrap();
        let kept = identity
            .get_user(GetUserRequest {
                user_id: gone.user_id.clone(),
                without_persona: false,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(kept.state(), UserState::Removed);
        assert!(kept.remove_time.is_some());
        let again = identity
            .create_user(new_user(&a, "GONE@acme.example", Role::DownloadOnly))
            .await
            .unwrap()
            .into_inner();
        assert_ne!(again.user_id, gone.user_id);
        let active = identity
            .list_users(ListUsersRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .users;
        assert_eq!(active.len(), 2);
        let all = identity
            .list_users(ListUsersRequest {
                account_id: a.clone(),
                show_removed: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .users;
        assert_eq!(all.len(), 3);
    }
);

storage_test!(
    i12_every_mutation_is_audited_with_paging,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, admin, token) = app.account_with_admin("Acme").await;
        let mut identity = app.identity(&token).await;
        let user = identity
            .create_user(new_user(&a, "audit@acme.example", Role::DownloadOnly))
            .await
            .unwrap()
            .into_inner();
        let patch = pb::User {
            user_id: user.user_id.clone(),
            display_name: "Renamed".into(),
            ..Default::default()
        };
        identity
            .update_user(UpdateUserRequest {
                user: Some(patch),
                update_mask: mask(&["display_name"]),
            })
            .await
            .unwrap();
        identity
            .remove_user(pb::RemoveUserRequest {
                user_id: user.user_id.clone(),
            })
            .await
            .unwrap();

        let mut events = Vec::new();
        let mut token = String::new();
        loop {
            let page = identity
                .list_audit_events(ListAuditEventsRequest {
                    account_id: a.clone(),
                    page_size: 2,
                    page_token: token,
                })
                .await
                .unwrap()
                .into_inner();
            assert!(page.events.len() <= 2);
            events.extend(page.events);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "CreateAccount",
                "CreateUser",
                "CreateUser",
                "UpdateUser",
                "RemoveUser"
            ]
        );
        let update = &events[3];
        assert_eq!(update.actor, format!("user:{}", admin.user_id));
        assert_eq!(update.resource_id, user.user_id);
        let name = |s: &Option<prost_types::Struct>| match s
            .as_ref()
            .unwrap()
            .fields
            .get("display_name")
            .unwrap()
            .kind
            .as_ref()
            .unwrap()
        {
            prost_types::value::Kind::StringValue(v) => v.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (name(&update.before).as_str(), name(&update.after).as_str()),
            ("Someone", "Renamed")
        );
        assert!(events[0].actor.starts_with("svc:ops"));
    }
);

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

storage_test!(list_users_pages_in_a_stable_order, |backend| async move {
    let app = TestApp::spawn(backend).await;
    let (a, _, token) = app.account_with_admin("Acme").await;
    for i in 0..11 {
        app.new_user(&a, &format!("u{i}@acme.example"), Role::Administrator, &[])
            .await;
    }
    let mut identity = app.identity(&token).await;
    let (mut seen, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = identity
            .list_users(ListUsersRequest {
                account_id: a.clone(),
                page_size: 5,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        seen.extend(page.users.into_iter().map(|u| u.user_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!((seen.len(), pages), (12, 3));
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 12, "no duplicates across pages");
});

storage_test!(
    points_of_contact_stream_with_administrator_fallback,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (with_contact, _, _) = app.account_with_admin("Alpha").await;
        let sec = app
            .new_user(
                &with_contact,
                "sec@alpha.example",
                Role::DownloadOnly,
                &[Permission::SecurityPointOfContact],
            )
            .await;
        app.new_user(
            &with_contact,
            "tech@alpha.example",
            Role::DownloadOnly,
            &[Permission::TechnicalPointOfContact],
        )
        .await;
        let (without, fallback_admin, _) = app.account_with_admin("Bravo").await;
        let removed = app
            .new_user(
                &without,
                "old-sec@bravo.example",
                Role::DownloadOnly,
                &[Permission::SecurityPointOfContact],
            )
            .await;
        let mut ops = app.identity(&app.operator_token()).await;
        ops.remove_user(pb::RemoveUserRequest {
            user_id: removed.user_id,
        })
        .await
        .unwrap();

        let notifier = app
            .identity(&app.service_token("notification", "internal"))
            .await;
        let collect = |include_fallback: bool, ids: Vec<String>| {
            let mut client = notifier.clone();
            async move {
                let request = ListPointsOfContactRequest {
                    kind: ContactKind::Security as i32,
                    account_ids: ids,
                    include_fallback,
                };
                let stream = client
                    .list_points_of_contact(request)
                    .await
                    .unwrap()
                    .into_inner();
                stream.map(Result::unwrap).collect::<Vec<_>>().await
            }
        };
        let all = collect(true, vec![]).await;
        let summary: Vec<(&str, &str, bool)> = all
            .iter()
            .map(|c| (c.account_id.as_str(), c.email.as_str(), c.fallback))
            .collect();
        let mut expected = vec![
            (with_contact.as_str(), "sec@alpha.example", false),
            (without.as_str(), fallback_admin.email.as_str(), true),
        ];
        expected.sort();
        let mut got = summary.clone();
        got.sort();
        assert_eq!(got, expected);
        assert_eq!(
            all.iter().find(|c| !c.fallback).unwrap().user_id,
            sec.user_id
        );
        assert_eq!(
            all.iter().find(|c| c.fallback).unwrap().account_name,
            "Bravo"
        );
        let no_fallback = collect(false, vec![]).await;
        assert_eq!(no_fallback.len(), 1);
        let listed = collect(true, vec![without.clone(), "acc-unknown".into()]).await;
        assert_eq!(listed.len(), 1);
        assert!(listed[0].fallback);
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

#[tokio::test]
async fn persona_needs_licensing_and_says_so_when_it_is_down() {
    // Identity alone, with licensing pointed at a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, &[ServiceKind::Identity], |s| {
        s.peers.licensing = Some(format!("http://{closed}"));
        s.server.client_timeout_ms = 500;
    })
    .await;
    let (a, admin, token) = app.account_with_admin("Acme").await;
    let member = app
        .new_user(&a, "dl@acme.example", Role::DownloadOnly, &[])
        .await;
    let mut identity = app.identity(&token).await;
    // An Administrator's persona needs no key facts.
    assert_eq!(
        identity
            .get_user(GetUserRequest {
                user_id: admin.user_id,
                without_persona: false
            })
            .await
            .unwrap()
            .into_inner()
            .persona(),
        Persona::PortalAdministrator
    );
    assert_status(
        identity
            .get_user(GetUserRequest {
                user_id: member.user_id.clone(),
                without_persona: false,
            })
            .await,
        Code::Unavailable,
        "DEPENDENCY_UNAVAILABLE",
    );
    // RemoveUser cannot release holdings, so nothing is removed.
    assert_status(
        identity
            .remove_user(pb::RemoveUserRequest {
                user_id: member.user_id.clone(),
            })
            .await,
        Code::Unavailable,
        "DEPENDENCY_UNAVAILABLE",
    );
    let mut ops = app.identity(&app.operator_token()).await;
    let users = ops
        .list_users(ListUsersRequest {
            account_id: a,
            show_removed: true,
            ..Default::default()
        })
        .await;
    assert_status(users, Code::Unavailable, "DEPENDENCY_UNAVAILABLE");
}

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
