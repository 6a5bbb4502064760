//! Activation reports (L10): at most one a day per account, as CSV that never shows a whole key, replayable by
//! request id and exactly one under racing requests.

use portal_proto::{
    common::{KeyFamily, Product},
    identity::Role,
    licensing as pb,
};
use portal_runtime::error::reason_of;
use portal_testkit::{TestApp, assert::reason, storage_test};
use tonic::Code;

use super::activate;

storage_test!(
    l10_activation_report_once_a_day_as_csv,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let key = app.issue_key(&a, KeyFamily::Td, 2).await;
        let mut activator = app
            .licensing(&app.service_token("activation", "licensing.activate"))
            .await;
        let mut request = activate(&key.key, Product::Desktop, "pc,with \"quotes\"");
        request.user_email = "admin@acme.example".into();
        activator.activate_key(request).await.unwrap();
        let mut admin = app.licensing(&admin_token).await;
        let ask = |request_id: &str| pb::RequestActivationReportRequest {
            account_id: a.clone(),
            request_id: request_id.into(),
        };
        let report = admin
            .request_activation_report(ask("r1"))
            .await
            .unwrap()
            .into_inner();
        let mut reader = csv::Reader::from_reader(report.csv.as_slice());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            [
                "key_last_group",
                "product",
                "user_email",
                "machine_fingerprint",
                "hostname",
                "version",
                "status",
                "last_activity_time"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (&rows[0][0], &rows[0][3]),
            (&key.key[key.key.len() - 4..], "pc,with \"quotes\"")
        );
        assert!(
            !String::from_utf8_lossy(&report.csv).contains(&key.key[..10]),
            "never the whole key"
        );
        // The same request replayed is the same report; a new one within 24 h is refused.
        assert_eq!(
            admin
                .request_activation_report(ask("r1"))
                .await
                .unwrap()
                .into_inner()
                .report_id,
            report.report_id
        );
        assert_eq!(
            reason(admin.request_activation_report(ask("r2")).await),
            (Code::ResourceExhausted, "REPORT_RATE_LIMITED".into())
        );
        let downloaded = admin
            .get_activation_report(pb::GetActivationReportRequest {
                report_id: report.report_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(downloaded.csv, report.csv);
        // Racing requests for another account: exactly one report.
        let (b, _, admin_b) = app.account_with_admin("Beta").await;
        let client = app.licensing(&admin_b).await;
        let calls = (0..6).map(|i| {
            let mut client = client.clone();
            let request = pb::RequestActivationReportRequest {
                account_id: b.clone(),
                request_id: format!("race-{i}"),
            };
            async move { client.request_activation_report(request).await }
        });
        let results = futures::future::join_all(calls).await;
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .all(|s| reason_of(s).as_deref() == Some("REPORT_RATE_LIMITED"))
        );
        let member = app
            .new_user(&a, "dl@acme.example", Role::DownloadOnly, &[])
            .await;
        let mut as_member = app.licensing(&app.user_token(&member.user_id)).await;
        assert_eq!(
            reason(as_member.request_activation_report(ask("r3")).await).0,
            Code::PermissionDenied
        );
    }
);

storage_test!(
    l10_report_cells_cannot_run_as_formulas_or_carry_control_characters,
    |backend| async move {
        let app = TestApp::spawn(backend).await;
        let (a, _, admin_token) = app.account_with_admin("Acme").await;
        let key = app.issue_key(&a, KeyFamily::Td, 2).await;
        let mut activator = app
            .licensing(&app.service_token("activation", "licensing.activate"))
            .await;
        // What a hostile machine may report about itself: a formula, and bytes a terminal or spreadsheet acts on
        // (BEL, ESC, DEL; a NUL is refused by PostgreSQL before it could reach a report).
        let mut request = activate(&key.key, Product::Desktop, "-2+3\u{7}\u{1b}[2J\u{7f}");
        request.hostname = "=cmd|' /C calc'!A1".into();
        request.version = "+1+1".into();
        request.user_email = "admin@acme.example".into();
        activator.activate_key(request).await.unwrap();
        let report = app
            .licensing(&admin_token)
            .await
            .request_activation_report(pb::RequestActivationReportRequest {
                account_id: a.clone(),
                request_id: "r1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            !report.csv.iter().any(|b| matches!(b, 0x07 | 0x1b | 0x7f)),
            "no control characters: {:?}",
            String::from_utf8_lossy(&report.csv)
        );
        let mut reader = csv::Reader::from_reader(report.csv.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        let (machine, hostname, version) = (&rows[0][3], &rows[0][4], &rows[0][5]);
        assert_eq!(machine, "'-2+3[2J");
        assert_eq!(hostname, "'=cmd|' /C calc'!A1");
        assert_eq!(version, "'+1+1");
    }
);
