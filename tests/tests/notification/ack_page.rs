//! The acknowledgement page (N9) on the public listener: the link in the mail opens a page that records nothing,
//! however often it is fetched (mail scanners fetch every link); its button's POST acknowledges once, audited as
//! the person the mail was for; bad links get a plain page with the right status and nothing that helps a
//! guesser; every answer carries the security headers; one address is rate limited.

use std::time::Duration;

use chrono::Utc;
use http::{Method, StatusCode};
use portal_notification::domain::acknowledgement::{n9_token, n9_token_expiry};
use portal_proto::{
    identity::{Permission, Role},
    notification::{self as pb, DeliveryState},
};
use portal_testkit::{
    Backend, ServiceKind, TestApp,
    smtp::{Received, SmtpSink},
    storage_test, web,
};

use super::{
    accounts, advisory, app_with_mail, deliveries, fast_mail, final_advisory_mail, settle,
};

/// The acknowledgement link in the mail to `to` (its text part; quoted-printable soft breaks undone).
pub(super) fn link_in(mail: &[Received], to: &str) -> String {
    let body = mail
        .iter()
        .find(|m| m.to == [to])
        .unwrap_or_else(|| panic!("no mail to {to}"))
        .data
        .replace("=\r\n", "");
    let start = body.find("http://").expect("the mail carries a link");
    let link: String = body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    assert!(link.contains("/ack/"), "{link}");
    link
}

/// An advisory to one account with one security contact, delivered; its id, the account, the contact's user id
/// and delivery, and the link in the contact's mail.
pub(super) struct Published {
    pub advisory_id: String,
    pub account_id: String,
    pub user_id: String,
    pub delivery_id: String,
    pub link: String,
}

pub(super) async fn publish_to_one_contact(app: &TestApp, sink: &SmtpSink) -> Published {
    let (account_id, _, _) = app.account_with_admin("Alpha").await;
    let contact = app
        .new_user(
            &account_id,
            "sec@alpha.example",
            Role::DownloadOnly,
            &[Permission::SecurityPointOfContact],
        )
        .await;
    let mut publisher = app
        .notification(&app.service_token("secops", "notification.publish"))
        .await;
    let advisory_id = publisher
        .publish_advisory(advisory(accounts(&[&account_id]), "ack-page"))
        .await
        .unwrap()
        .into_inner()
        .advisory_id;
    settle(&mut publisher, &advisory_id, Duration::from_secs(60)).await;
    let mail = final_advisory_mail(&mut publisher, sink, &advisory_id, 1).await;
    let sent = deliveries(&mut publisher, &advisory_id, DeliveryState::Sent).await;
    let delivery = sent
        .iter()
        .find(|d| d.email == "sec@alpha.example")
        .expect("the contact's delivery");
    Published {
        link: link_in(&mail, "sec@alpha.example"),
        delivery_id: delivery.delivery_id.clone(),
        advisory_id,
        account_id,
        user_id: contact.user_id,
    }
}

/// The accounts the advisory's stats count as acknowledged.
pub(super) async fn acknowledged_accounts(app: &TestApp, advisory_id: &str) -> Vec<String> {
    let mut publisher = app
        .notification(&app.service_token("secops", "notification.publish"))
        .await;
    publisher
        .get_advisory(pb::GetAdvisoryRequest {
            advisory_id: advisory_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap()
        .acknowledged_account_ids
}

/// Every answer of the listener: no framing, no referrer, no caching, nothing from elsewhere.
fn assert_security_headers(answer: &web::Answer) {
    let csp = answer.header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "CSP {csp:?} lacks {directive}");
    }
    assert_eq!(answer.header("referrer-policy"), "no-referrer");
    assert_eq!(answer.header("x-content-type-options"), "nosniff");
    assert_eq!(answer.header("cache-control"), "no-store");
}

storage_test!(
    n9_opening_the_link_records_nothing_and_only_the_button_acknowledges,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let p = publish_to_one_contact(&app, &sink).await;
        let public = app.public.expect("the public listener runs");
        assert!(
            p.link
                .starts_with(&format!("http://{public}/ack/{}.", p.delivery_id)),
            "{} on {public}",
            p.link
        );
        let audit = app.audit_log().await;
        let events_before = audit.count_on(&p.advisory_id).await;

        // A link scanner: GET and HEAD, again and again.
        for _ in 0..12 {
            let page = web::get(&p.link).await;
            assert_eq!(page.status, StatusCode::OK);
            assert_security_headers(&page);
            let head = web::request(Method::HEAD, &p.link, "").await;
            assert_eq!(head.status, StatusCode::OK);
            assert!(head.body.is_empty());
        }
        let page = web::get(&p.link).await;
        for shown in [
            p.advisory_id.as_str(),
            "CRITICAL",
            "Remote code execution in the server gateway",
            "Alpha",
            "sec@alpha.example",
            "<form method=\"post\">",
            "I have received this advisory",
        ] {
            assert!(
                page.body.contains(shown),
                "the page lacks {shown:?}:\n{}",
                page.body
            );
        }
        assert!(page.header("content-type").starts_with("text/html"));
        assert!(!page.body.contains("<script"), "no scripts");
        assert_eq!(
            acknowledged_accounts(&app, &p.advisory_id).await,
            Vec::<String>::new()
        );
        assert_eq!(
            audit.count_on(&p.advisory_id).await,
            events_before,
            "opening records nothing"
        );

        // The button.
        let done = web::post(&p.link).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        assert_security_headers(&done);
        assert!(done.body.contains("Thank you"), "{}", done.body);
        assert!(
            done.body
                .contains(&Utc::now().format("%Y-%m-%d").to_string()),
            "the time"
        );
        assert_eq!(
            acknowledged_accounts(&app, &p.advisory_id).await,
            vec![p.account_id.clone()]
        );
        assert_eq!(audit.count_on(&p.advisory_id).await, events_before + 1);
        let by_contact = audit.count_by(&format!("user:{}", p.user_id)).await;
        assert!(
            by_contact.contains(&("notification", 1)),
            "audited as the person the mail was for: {by_contact:?}"
        );

        // Visited again, and pressed again: the first acknowledgement stands.
        let again = web::get(&p.link).await;
        assert_eq!(again.status, StatusCode::OK);
        assert!(
            again.body.contains("already acknowledged"),
            "{}",
            again.body
        );
        assert!(
            again.body.contains("by sec@alpha.example"),
            "{}",
            again.body
        );
        assert!(!again.body.contains("<form"), "no second button");
        let twice = web::post(&p.link).await;
        assert_eq!(twice.status, StatusCode::OK);
        assert!(
            twice.body.contains("already acknowledged"),
            "{}",
            twice.body
        );
        assert_eq!(
            audit.count_on(&p.advisory_id).await,
            events_before + 1,
            "idempotent"
        );

        let mut publisher = app
            .notification(&app.service_token("secops", "notification.publish"))
            .await;
        let report = publisher
            .get_advisory_report(pb::GetAdvisoryReportRequest {
                advisory_id: p.advisory_id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            report
                .accounts
                .iter()
                .any(|l| l.account_id == p.account_id && l.acknowledged),
            "{report:?}"
        );
    }
);

storage_test!(
    n9_a_bad_link_gets_a_plain_page_with_its_status_and_nothing_more,
    |backend| async move {
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let p = publish_to_one_contact(&app, &sink).await;
        let base = p.link.split("/ack/").next().unwrap().to_string();
        let link = |token: &str| format!("{base}/ack/{token}");
        let token = p.link.rsplit('/').next().unwrap().to_string();

        let mut edited = token.clone();
        let last = edited.pop().unwrap();
        edited.push(if last == 'A' { 'B' } else { 'A' });
        let unknown = n9_token(
            "dlv-00000000000000000000000000",
            n9_token_expiry(Utc::now()),
        );
        let edited_page = web::get(&link(&edited)).await;
        let unknown_page = web::get(&link(&unknown)).await;
        for page in [&edited_page, &unknown_page] {
            assert_eq!(page.status, StatusCode::NOT_FOUND);
            assert_security_headers(page);
            assert!(
                page.body.contains("This link is not valid"),
                "{}",
                page.body
            );
        }
        assert_eq!(
            edited_page.body, unknown_page.body,
            "an edited token and an unknown row look alike"
        );
        assert!(
            !edited_page.body.contains(&p.delivery_id)
                && !edited_page.body.contains(&p.advisory_id)
        );
        assert_eq!(
            web::post(&link(&edited)).await.status,
            StatusCode::NOT_FOUND
        );

        let long_ago = Utc::now() - chrono::Duration::days(100);
        let expired = n9_token(&p.delivery_id, n9_token_expiry(long_ago));
        for answer in [
            web::get(&link(&expired)).await,
            web::post(&link(&expired)).await,
        ] {
            assert_eq!(answer.status, StatusCode::GONE);
            assert!(answer.body.contains("has expired"), "{}", answer.body);
            assert!(!answer.body.contains(&p.advisory_id));
        }
        assert_eq!(
            acknowledged_accounts(&app, &p.advisory_id).await,
            Vec::<String>::new()
        );

        for path in ["/ack/", "/ack/a/b", &format!("/ack/{}", "x".repeat(300))] {
            let answer = web::get(&format!("{base}{path}")).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        }
        assert_eq!(
            web::get(&format!("{base}/elsewhere")).await.status,
            StatusCode::NOT_FOUND
        );
        let put = web::request(Method::PUT, &p.link, "").await;
        assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(put.header("allow"), "GET, HEAD, POST");
        let css = web::get(&format!("{base}/static/portal.css")).await;
        assert_eq!(css.status, StatusCode::OK);
        assert!(css.header("content-type").starts_with("text/css"));
        let jwks = web::get(&format!("{base}/.well-known/jwks.json")).await;
        assert_eq!(jwks.status, StatusCode::OK);
        let keys: serde_json::Value = serde_json::from_str(&jwks.body).unwrap();
        let kids: Vec<&str> = keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert!(
            !kids.is_empty(),
            "the suite's keys, as the admin listener publishes them: {keys}"
        );
        assert!(jwks.header("cache-control").starts_with("public"));
        let big = web::request(Method::POST, &p.link, &"x".repeat(64 * 1024)).await;
        assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            acknowledged_accounts(&app, &p.advisory_id).await,
            Vec::<String>::new()
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n9_one_address_is_limited_and_told_when_to_come_back() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(Backend::Sqlite, &ServiceKind::ALL, |s| {
        fast_mail(s, &url);
        s.notification.public.per_address_per_minute = 5;
    })
    .await;
    let public = app.public.expect("the public listener runs");
    let token = n9_token("dlv-0", n9_token_expiry(Utc::now()));
    let url = format!("http://{public}/ack/{token}");
    for n in 0..5 {
        assert_eq!(
            web::get(&url).await.status,
            StatusCode::NOT_FOUND,
            "request {n}"
        );
    }
    let limited = web::get(&url).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.header("retry-after"), "60");
    assert!(
        limited.body.contains("Too many requests"),
        "{}",
        limited.body
    );
    let health = web::get(&format!("http://{public}/healthz")).await;
    assert_eq!(
        health.status,
        StatusCode::OK,
        "health checks are not limited"
    );
}
