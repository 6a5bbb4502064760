//! The acknowledgement page (N9) in a real browser: headless Chromium through ChromeDriver. The person's path
//! from the mail: open the link, see the advisory (nothing recorded yet), reach the button with the keyboard,
//! press it, see the confirmation; stats, report and audit log then show it. axe-core checks each state's
//! accessibility, and a screenshot of each is kept (`target/artifacts/screenshots`, CI's artifacts).

use chrono::Utc;
use fantoccini::{Locator, key::Key};
use portal_notification::domain::acknowledgement::{n9_token, n9_token_expiry};
use portal_proto::notification as pb;
use portal_testkit::{TestApp, browser, smtp::SmtpSink, storage_test, wait};
use std::time::Duration;

use super::{
    ack_page::{acknowledged_accounts, publish_to_one_contact},
    app_with_mail,
};

/// axe-core's serious and critical findings on the current page must be none; lesser ones are printed.
async fn assert_accessible(browser: &browser::Browser, state: &str) {
    let violations = browser
        .accessibility_violations()
        .await
        .unwrap_or_else(|e| panic!("{state}: {e}"));
    for v in &violations {
        eprintln!(
            "axe ({state}): {} [{}] {} ({} nodes)",
            v.id, v.impact, v.help, v.nodes
        );
    }
    let grave: Vec<_> = violations
        .iter()
        .filter(|v| matches!(v.impact.as_str(), "serious" | "critical"))
        .collect();
    assert!(grave.is_empty(), "{state}: {grave:?}");
}

/// The text of the page's `main`. While the browser is between pages the element it found may already be gone
/// (a stale element reference): that is an `Err`, for the callers that wait for the next page.
async fn try_text(browser: &browser::Browser) -> Result<String, String> {
    let main = browser
        .client
        .find(Locator::Css("main"))
        .await
        .map_err(|e| e.to_string())?;
    main.text().await.map_err(|e| e.to_string())
}

async fn text(browser: &browser::Browser) -> String {
    try_text(browser).await.unwrap()
}

async fn report_acknowledged(app: &TestApp, advisory_id: &str, account_id: &str) -> bool {
    let mut publisher = app
        .notification(&app.service_token("secops", "notification.publish"))
        .await;
    let report = publisher
        .get_advisory_report(pb::GetAdvisoryReportRequest {
            advisory_id: advisory_id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    report
        .accounts
        .iter()
        .any(|l| l.account_id == account_id && l.acknowledged)
}

storage_test!(
    n9_a_person_acknowledges_in_a_real_browser,
    |backend| async move {
        let name = format!("{backend:?}").to_lowercase();
        let Some(browser) = browser::required("n9_a_person_acknowledges_in_a_real_browser").await
        else {
            return;
        };
        let sink = SmtpSink::start().await;
        let app = app_with_mail(backend, &sink).await;
        let p = publish_to_one_contact(&app, &sink).await;
        let audit = app.audit_log().await;
        let events_before = audit.count_on(&p.advisory_id).await;

        browser.client.goto(&p.link).await.unwrap();
        let shown = text(&browser).await;
        for expected in [
            p.advisory_id.as_str(),
            "CRITICAL",
            "Alpha",
            "sec@alpha.example",
        ] {
            assert!(shown.contains(expected), "{expected:?} in {shown}");
        }
        assert_eq!(
            browser.client.title().await.unwrap(),
            format!("Acknowledge advisory {}", p.advisory_id)
        );
        assert_accessible(&browser, "to acknowledge").await;
        browser
            .screenshot(&format!("ack-{name}-1-to-acknowledge"))
            .await
            .unwrap();
        assert_eq!(
            acknowledged_accounts(&app, &p.advisory_id).await,
            Vec::<String>::new()
        );
        assert_eq!(audit.count_on(&p.advisory_id).await, events_before);

        // The keyboard reaches the button: the first Tab from the top of the page focuses it.
        let body = browser.client.find(Locator::Css("body")).await.unwrap();
        body.send_keys(&Key::Tab.to_string()).await.unwrap();
        let focused = browser
            .client
            .execute("return document.activeElement.textContent.trim()", vec![])
            .await
            .unwrap();
        assert_eq!(focused, "I have received this advisory");

        browser
            .client
            .find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let confirmation = wait::until(
            "the confirmation page",
            Duration::from_secs(10),
            async || {
                let shown = try_text(&browser).await?;
                if shown.contains("Thank you") {
                    Ok(shown)
                } else {
                    Err(shown)
                }
            },
        )
        .await;
        assert!(
            confirmation.contains(&Utc::now().format("%Y-%m-%d").to_string()),
            "{confirmation}"
        );
        assert_accessible(&browser, "acknowledged").await;
        browser
            .screenshot(&format!("ack-{name}-2-acknowledged"))
            .await
            .unwrap();
        assert_eq!(
            acknowledged_accounts(&app, &p.advisory_id).await,
            vec![p.account_id.clone()]
        );
        assert!(report_acknowledged(&app, &p.advisory_id, &p.account_id).await);
        assert_eq!(audit.count_on(&p.advisory_id).await, events_before + 1);
        assert!(
            audit
                .count_by(&format!("user:{}", p.user_id))
                .await
                .contains(&("notification", 1))
        );

        // Back to the link later: when, and by whom.
        browser.client.goto(&p.link).await.unwrap();
        let later = text(&browser).await;
        assert!(
            later.contains("already acknowledged") && later.contains("by sec@alpha.example"),
            "{later}"
        );

        // An expired link.
        let base = p.link.split("/ack/").next().unwrap();
        let long_ago = Utc::now() - chrono::Duration::days(100);
        let expired = format!(
            "{base}/ack/{}",
            n9_token(&p.delivery_id, n9_token_expiry(long_ago))
        );
        browser.client.goto(&expired).await.unwrap();
        assert!(text(&browser).await.contains("has expired"));
        assert_accessible(&browser, "expired").await;
        browser
            .screenshot(&format!("ack-{name}-3-expired"))
            .await
            .unwrap();

        // On a phone's screen.
        browser.client.set_window_size(390, 844).await.unwrap();
        browser.client.goto(&p.link).await.unwrap();
        let overflow = browser
            .client
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(overflow, false, "no sideways scrolling at 390 px");
        assert_accessible(&browser, "phone").await;
        browser
            .screenshot(&format!("ack-{name}-4-phone"))
            .await
            .unwrap();
        browser.close().await;
    }
);
