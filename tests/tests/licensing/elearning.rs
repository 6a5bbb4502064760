//! E-learning codes (L11): issued idempotently for a purchase, redeemed once, listed with who redeemed them.

use portal_proto::{common::KeyFamily, licensing as pb};
use portal_testkit::{
    TestApp,
    assert::{assert_invalid, reason},
    storage_test,
};
use tonic::Code;

storage_test!(
    l11_elearning_codes_list_who_redeemed_them,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let mut issuer = app
            .licensing(&app.service_token("billing", "internal"))
            .await;
        let request = pb::IssueElearningCodesRequest {
            account_id: a.clone(),
            count: 3,
            request_id: "el-1".into(),
            purchase_id: "pur-1".into(),
        };
        let codes = issuer
            .issue_elearning_codes(request.clone())
            .await
            .unwrap()
            .into_inner()
            .codes;
        assert_eq!(codes.len(), 3);
        assert_eq!(
            issuer
                .issue_elearning_codes(request)
                .await
                .unwrap()
                .into_inner()
                .codes
                .len(),
            3,
            "idempotent"
        );
        let mut redeemer = app
            .licensing(&app.service_token("elearning", "licensing.activate"))
            .await;
        let redeemed = redeemer
            .redeem_elearning_code(pb::RedeemElearningCodeRequest {
                code: codes[0].code.to_lowercase(),
                email: "learner@acme.example".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(redeemed.redeemed_by_email, "learner@acme.example");
        let again = redeemer
            .redeem_elearning_code(pb::RedeemElearningCodeRequest {
                code: codes[0].code.clone(),
                email: "other@acme.example".into(),
            })
            .await;
        assert_eq!(
            reason(again),
            (Code::FailedPrecondition, "CODE_ALREADY_REDEEMED".into())
        );
        let unknown = redeemer
            .redeem_elearning_code(pb::RedeemElearningCodeRequest {
                code: "ELRN-0000-0000-0000".into(),
                email: "x@acme.example".into(),
            })
            .await;
        assert_eq!(reason(unknown).0, Code::NotFound);
        // A portal user redeems a code for their own e-mail, as the contract allows; not for someone else's.
        let learner = app
            .new_user(
                &a,
                "me@acme.example",
                portal_proto::identity::Role::DownloadOnly,
                &[],
            )
            .await;
        let mut as_learner = app.licensing(&app.user_token(&learner.user_id)).await;
        let for_someone_else = as_learner
            .redeem_elearning_code(pb::RedeemElearningCodeRequest {
                code: codes[1].code.clone(),
                email: "other@acme.example".into(),
            })
            .await;
        assert_eq!(reason(for_someone_else).0, Code::PermissionDenied);
        let own = as_learner
            .redeem_elearning_code(pb::RedeemElearningCodeRequest {
                code: codes[1].code.clone(),
                email: "Me@acme.example".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(own.redeemed_by_email.to_lowercase(), "me@acme.example");
        let mut admin = app.licensing(&admin_token).await;
        let listed = admin
            .list_elearning_codes(pb::ListElearningCodesRequest {
                account_id: a.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .codes;
        assert_eq!(listed.len(), 3);
        assert_eq!(
            listed
                .iter()
                .filter(|c| !c.redeemed_by_email.is_empty())
                .count(),
            2
        );
        assert!(listed.iter().all(|c| c.purchase_id == "pur-1"));
    }
);

storage_test!(
    page_tokens_of_keys_and_elearning_codes_do_not_open_each_other,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        app.issue_key(&a, KeyFamily::Tc, 1).await;
        app.licensing(&app.service_token("billing", "internal"))
            .await
            .issue_elearning_codes(pb::IssueElearningCodesRequest {
                account_id: a.clone(),
                count: 1,
                request_id: "el-1".into(),
                purchase_id: String::new(),
            })
            .await
            .unwrap();
        let mut admin = app.licensing(&admin_token).await;
        let keys = |page_token: String| pb::ListKeysRequest {
            account_id: a.clone(),
            page_size: 1,
            page_token,
        };
        let codes = |page_token: String| pb::ListElearningCodesRequest {
            account_id: a.clone(),
            page_size: 1,
            page_token,
        };
        // One of each on a page of one: each list hands out a token for its next page.
        let key_token = admin
            .list_keys(keys(String::new()))
            .await
            .unwrap()
            .into_inner()
            .next_page_token;
        let code_token = admin
            .list_elearning_codes(codes(String::new()))
            .await
            .unwrap()
            .into_inner()
            .next_page_token;
        assert!(!key_token.is_empty() && !code_token.is_empty());
        // Same account, another list: refused, both ways.
        assert_invalid(
            admin.list_elearning_codes(codes(key_token.clone())).await,
            "INVALID_FIELD",
            "page_token",
        );
        assert_invalid(
            admin.list_keys(keys(code_token.clone())).await,
            "INVALID_FIELD",
            "page_token",
        );
        // In its own list each still opens the next page.
        admin.list_keys(keys(key_token)).await.unwrap();
        admin.list_elearning_codes(codes(code_token)).await.unwrap();
    }
);
