//! The coverage report (N10): per targeted account its coverage (N8) and mails sent and dead, paged, and the
//! same as CSV.

use std::{collections::BTreeMap, time::Duration};

use portal_proto::{
    identity::{Permission, Role},
    notification::{self as pb, Coverage},
};
use portal_testkit::{
    assert::{assert_invalid, assert_status},
    smtp::SmtpSink,
    storage_test,
};
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
        // N7: an account with nobody to tell is named too, in the message and in the CSV.
        assert_eq!(
            lines
                .iter()
                .find(|l| l.account_id == empty)
                .map(|l| l.account_name.as_str()),
            Some("Empty")
        );
        assert!(
            rows.contains(&format!("{empty},Empty,UNREACHABLE,0,0,0,false,0").as_str()),
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

storage_test!(
    n10_csv_account_names_cannot_run_as_formulas,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        // Names an account may be created with that a spreadsheet would run.
        let names = [
            "=HYPERLINK(\"http://evil.example\",\"Click\")",
            "+1+1",
            "@SUM(1)",
            "-2+3",
        ];
        let mut targets = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let account = app.new_account(name, false).await;
            app.new_user(
                &account,
                &format!("admin@formula{i}.example"),
                Role::Administrator,
                &[],
            )
            .await;
            targets.push(account);
        }
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        let id = publisher
            .publish_advisory(advisory(accounts(&targets), ""))
            .await
            .unwrap()
            .into_inner()
            .advisory_id;
        settle(&mut publisher, &id, Duration::from_secs(60)).await;
        let report = publisher
            .get_advisory_report(pb::GetAdvisoryReportRequest {
                advisory_id: id,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        // The message keeps the names as given; only the CSV, made for spreadsheets, neutralises them.
        let mut given: Vec<_> = report
            .accounts
            .iter()
            .map(|a| a.account_name.clone())
            .collect();
        given.sort();
        let mut expected = names.map(String::from).to_vec();
        expected.sort();
        assert_eq!(given, expected);
        let mut reader = csv::Reader::from_reader(report.csv.as_slice());
        let mut shown: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[1].to_string())
            .collect();
        shown.sort();
        let mut quoted: Vec<String> = names.iter().map(|n| format!("'{n}")).collect();
        quoted.sort();
        assert_eq!(shown, quoted);
    }
);

storage_test!(
    page_tokens_of_one_advisory_do_not_open_another,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let (account, _, _) = app.account_with_admin("Acme").await;
        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let mut ids = Vec::new();
        for request_id in ["first", "second"] {
            let id = publisher
                .publish_advisory(advisory(accounts(&[&account]), request_id))
                .await
                .unwrap()
                .into_inner()
                .advisory_id;
            settle(&mut publisher, &id, Duration::from_secs(60)).await;
            ids.push(id);
        }
        let report = |advisory_id: &str, page_token: String| pb::GetAdvisoryReportRequest {
            advisory_id: advisory_id.into(),
            page_size: 1,
            page_token,
        };
        let unacknowledged =
            |advisory_id: &str, page_token: String| pb::ListUnacknowledgedAccountsRequest {
                advisory_id: advisory_id.into(),
                page_size: 1,
                page_token,
            };
        // The one account on a page of one: each list of the first advisory hands out a token.
        let report_token = publisher
            .get_advisory_report(report(&ids[0], String::new()))
            .await
            .unwrap()
            .into_inner()
            .next_page_token;
        let unacknowledged_token = publisher
            .list_unacknowledged_accounts(unacknowledged(&ids[0], String::new()))
            .await
            .unwrap()
            .into_inner()
            .next_page_token;
        assert!(!report_token.is_empty() && !unacknowledged_token.is_empty());
        // Another advisory's list, or another list of the same advisory: refused.
        assert_invalid(
            publisher
                .get_advisory_report(report(&ids[1], report_token.clone()))
                .await,
            "INVALID_FIELD",
            "page_token",
        );
        assert_invalid(
            publisher
                .list_unacknowledged_accounts(unacknowledged(&ids[1], unacknowledged_token.clone()))
                .await,
            "INVALID_FIELD",
            "page_token",
        );
        assert_invalid(
            publisher
                .get_advisory_report(report(&ids[0], unacknowledged_token.clone()))
                .await,
            "INVALID_FIELD",
            "page_token",
        );
        // Each still opens the next page of its own list.
        publisher
            .get_advisory_report(report(&ids[0], report_token))
            .await
            .unwrap();
        publisher
            .list_unacknowledged_accounts(unacknowledged(&ids[0], unacknowledged_token))
            .await
            .unwrap();
    }
);
