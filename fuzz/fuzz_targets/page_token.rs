//! Page tokens (AIP-158, `portal_runtime::paging`) and advisory acknowledgement tokens (N9), both opened with
//! `portal_runtime::seal`: any bytes are a clean refusal, never a panic; a token we issued opens in its own list
//! (or for its own delivery) and nowhere else.
#![no_main]

use chrono::{Duration, Utc};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portal_notification::domain::acknowledgement::{n9_read_token, n9_token};
use portal_runtime::paging::{self, MAX_TOKEN_CHARS, Scope};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    page_size: i32,
    token: &'a str,
    scope: &'a str,
    other_scope: &'a str,
    key: &'a str,
}

/// Two lists of the same resources (an account's invoices and renewals): a token opens in neither's place.
const LISTS: [&str; 2] = ["ListInvoices", "ListRenewals"];

fuzz_target!(|input: Input<'_>| {
    // Arbitrary text as a page token.
    let scope = Scope::new(LISTS[0], input.scope);
    match paging::parse(input.page_size, input.token, &scope) {
        Ok(page) => assert!((1..=paging::MAX_PAGE_SIZE).contains(&page.size)),
        Err(violation) => assert!(["page_size", "page_token"].contains(&violation.field.as_str())),
    }
    // A token we issued: opens in its list only.
    let size = 10;
    let issued = paging::next_token(&scope, Some(input.key), 10, size);
    if !input.key.is_empty() && issued.len() <= MAX_TOKEN_CHARS {
        let page = paging::parse(10, &issued, &scope).expect("our own token opens");
        assert_eq!(page.after.as_deref(), Some(input.key));
        if input.other_scope != input.scope {
            assert!(paging::parse(10, &issued, &Scope::new(LISTS[0], input.other_scope)).is_err());
        }
        assert!(paging::parse(10, &issued, &Scope::new(LISTS[1], input.scope)).is_err());
    }
    // Arbitrary text as an acknowledgement token, and one we issued.
    let now = Utc::now();
    let _ = n9_read_token(input.token, now);
    let delivery = input.key;
    if !delivery.is_empty() && delivery.trim() == delivery {
        let token = n9_token(delivery, now + Duration::days(1));
        assert_eq!(n9_read_token(&token, now).as_deref(), Ok(delivery));
        assert!(n9_read_token(&token, now + Duration::days(2)).is_err());
    }
});
