//! Users (I2, I5, I8): e-mail unique per account and never edited, removal that keeps the record, stable paging,
//! and personas that need licensing and say so when it is down.

use portal_proto::identity::{
    self as pb, GetUserRequest, ListUsersRequest, Permission, Persona, Role, UpdateUserRequest,
    UserState,
};
use portal_runtime::error::reason_of;
use portal_testkit::{Backend, ServiceKind, TestApp, assert::assert_status, storage_test};
use tonic::Code;

use super::{mask, new_user};

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

storage_test!(
    i9_a_full_page_of_personas_stays_within_the_concurrency_limit,
    |backend| async move {
        // A small limit stands in for a page of a thousand against the default 512: 40 Download Only users
        // asked about all at once went past it, and the page failed UNAVAILABLE.
        let app = TestApp::spawn_with(backend, &ServiceKind::ALL, |s| {
            s.server.concurrency_limit = 16;
        })
        .await;
        let (a, _, admin) = app.account_with_admin("Acme").await;
        for i in 0..40 {
            app.new_user(
                &a,
                &format!("user{i}@acme.example"),
                Role::DownloadOnly,
                &[],
            )
            .await;
        }
        let page = app
            .identity(&admin)
            .await
            .list_users(ListUsersRequest {
                account_id: a,
                page_size: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.users.len(), 41);
        assert!(
            page.users
                .iter()
                .filter(|u| u.role() == Role::DownloadOnly)
                .all(|u| u.persona() == Persona::SupportOnly)
        );
    }
);
