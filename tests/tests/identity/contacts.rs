//! Points of contact (N2 upstream): streamed per account, with an Administrator standing in where none is left.

use portal_proto::identity::{
    self as pb, ContactKind, ListPointsOfContactRequest, Permission, Role,
};
use portal_testkit::{TestApp, storage_test};
use tokio_stream::StreamExt;

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
                    include_unreachable: false,
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
