//! The audit trail (I12): every mutation recorded with its actor and before/after, paged in order.

use portal_proto::identity::{self as pb, ListAuditEventsRequest, Role, UpdateUserRequest};
use portal_testkit::{TestApp, storage_test};

use super::{mask, new_user};

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
