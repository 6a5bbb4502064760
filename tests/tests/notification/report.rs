//! The coverage report (N10): per targeted account its coverage (N8) and mails sent and dead, paged, and the
//! same as CSV.

use std::{collections::BTreeMap, time::Duration};

use portal_proto::{
    identity::{Permission, Role},
    notification::{self as pb, Coverage},
};
use portal_testkit::{assert::assert_status, smtp::SmtpSink, storage_test};
use tonic::Code;

use super::{accounts, advisory, app_with_mail, settle};

storage_test!(
    n10_the_report_gives_each_targeted_account_its_coverage_also_as_csv,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let security = [Permission::SecurityPointOfContact];
        // Reached: its Security contact gets the mail.
        let (reached, _, _) = app.account_with_admin("Reached").await;
        app.new_user(
            &reached,
            "sec@reached.example",
            Role::DownloadOnly,
            &security,
        )
        .await;
        // Fallback: no Security contact, its Administrator stands in.
        let (fallback, _, _) = app.account_with_admin("Fallback").await;
        // Escalated: its Security contact bounces, its Administrator gets it.
        let (escalated, _, _) = app.account_with_admin("Escalated").await;
        app.new_user(
            &escalated,
            "sec@escalated.example",
            Role::DownloadOnly,
            &security,
        )
        .await;
        sink.reject("sec@escalated.example", true);
        // Unreachable: everyone bounces.
        let (bounced, _, _) = app.account_with_admin("Bounced").await;
        app.new_user(
            &bounced,
            "sec@bounced.example",
            Role::DownloadOnly,
            &security,
        )
        .await;
        sink.reject("sec@bounced.example", true);
        sink.reject("admin@bounced.example", true);
        // Unreachable: nobody to tell at all (N7).
        let empty = app.new_account("Empty", false).await;
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let targets = [&reached, &fallback, &escalated, &bounced, &empty];
        let published = publisher
            .publish_advisory(advisory(accounts(&targets.map(String::as_str)), ""))
            .await
            .unwrap()
            .into_inner();
        let id = published.advisory_id.clone();
        settle(&mut publisher, &id, Duration::from_secs(60)).await;

        let (mut lines, mut csv, mut token, mut pages) = (Vec::new(), Vec::new(), String::new(), 0);
        loop {
            let page = publisher
                .get_advisory_report(pb::GetAdvisoryReportRequest {
                    advisory_id: id.clone(),
                    page_size: 2,
                    page_token: token,
                })
                .await
                .unwrap()
                .into_inner();
            pages += 1;
            assert!(page.accounts.len() <= 2);
            lines.extend(page.accounts);
            csv.extend(page.csv);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }

        assert_eq!(pages, 3);
        let ids: Vec<_> = lines.iter().map(|l| l.account_id.clone()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "ordered by account id");
        let by_id: BTreeMap<_, _> = lines
            .iter()
            .map(|l| {
                (
                    l.account_id.as_str(),
                    (l.coverage(), l.sent, l.dead, l.pending),
                )
            })
            .collect();
        let expected: BTreeMap<_, _> = [
            (reached.as_str(), (Coverage::Reached, 1, 0, 0)),
            (fallback.as_str(), (Coverage::Fallback, 1, 0, 0)),
            (escalated.as_str(), (Coverage::Escalated, 1, 1, 0)),
            (bounced.as_str(), (Coverage::Unreachable, 0, 2, 0)),
            (empty.as_str(), (Coverage::Unreachable, 0, 0, 0)),
        ]
        .into();
        assert_eq!(by_id, expected);
        let csv = String::from_utf8(csv).unwrap();
        let mut rows = csv.lines();
        assert_eq!(
            rows.next(),
            Some("account_id,account_name,coverage,sent,dead,pending,acknowledged,complaints"),
            "one header"
        );
        let rows: Vec<_> = rows.collect();
        assert_eq!(rows.len(), 5, "{csv}");
        assert!(
            rows.contains(&format!("{escalated},Escalated,ESCALATED,1,1,0,false,0").as_str()),
            "{csv}"
        );
        assert!(
            rows.contains(&format!("{empty},,UNREACHABLE,0,0,0,false,0").as_str()),
            "{csv}"
        );

        let mut stranger = app
            .notification(&app.service_token("billing", "billing.payments"))
            .await;
        assert_status(
            stranger
                .get_advisory_report(pb::GetAdvisoryReportRequest {
                    advisory_id: id.clone(),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
            "ACCESS_DENIED",
        );
        assert_status(
            publisher
                .get_advisory_report(pb::GetAdvisoryReportRequest {
                    advisory_id: "ADV-1999-001".into(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
            "ADVISORY_NOT_FOUND",
        );
    }
);
