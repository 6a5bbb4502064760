//! AIP-158 paging: `page_size` (0 → default, capped) and opaque `page_token`s bound to the list they came from.
//!
//! A token is the position after which the next page starts, sealed ([`crate::seal`]) for the list it pages (a
//! [`Scope`]: which list, of which resource): a token edited by hand, taken from another list of the same resource
//! (ListInvoices and ListRenewals of one account), or from the same list of another resource (the report of
//! another advisory), is refused; every replica accepts what any replica issued.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{error::FieldViolation, seal};

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 1000;
/// Longer tokens are refused before any decoding: no position of ours comes near it.
pub const MAX_TOKEN_CHARS: usize = 1024;

/// The one list a page token is good for: the list (the RPC that pages it, e.g. `"ListKeys"`) and the resource
/// it lists within, with any filter that changes what is listed (e.g. `acc-1`, or `acc-1|DEAD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    list: &'static str,
    resource: String,
}

impl Scope {
    pub fn new(list: &'static str, resource: impl Into<String>) -> Self {
        Self {
            list,
            resource: resource.into(),
        }
    }

    /// What a page token's seal is for: a position in this list. A list name never holds a NUL, so the first
    /// one ends it and no other list and resource seal the same purpose.
    fn purpose(&self) -> String {
        format!("page\0{}\0{}", self.list, self.resource)
    }
}

/// A validated page request: how many, and after which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub size: u64,
    pub after: Option<String>,
}

/// Parses `page_size` and `page_token`; a token [`next_token`] issued for another [`Scope`] is refused.
pub fn parse(page_size: i32, page_token: &str, scope: &Scope) -> Result<Page, FieldViolation> {
    let size = match page_size {
        n if n < 0 => return Err(FieldViolation::new("page_size", "must not be negative")),
        0 => DEFAULT_PAGE_SIZE,
        n => (n as u64).min(MAX_PAGE_SIZE),
    };
    if page_token.is_empty() {
        return Ok(Page { size, after: None });
    }
    let invalid = || {
        FieldViolation::new(
            "page_token",
            "not a token from this list; start again without one",
        )
    };
    if page_token.len() > MAX_TOKEN_CHARS {
        return Err(invalid());
    }
    let (position, sealed) = page_token.split_once('.').ok_or_else(invalid)?;
    let after = URL_SAFE_NO_PAD
        .decode(position)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|after| !after.is_empty())
        .ok_or_else(invalid)?;
    if !seal::verify(&scope.purpose(), &after, sealed) {
        return Err(invalid());
    }
    Ok(Page {
        size,
        after: Some(after),
    })
}

/// The token for the page of `scope` after `last_key`, or empty when the page was not full (no more results).
pub fn next_token(scope: &Scope, last_key: Option<&str>, returned: usize, size: u64) -> String {
    match last_key {
        Some(key) if returned as u64 >= size => format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(key),
            seal::tag(&scope.purpose(), key)
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn keys_of(account: &str) -> Scope {
        Scope::new("ListKeys", account)
    }

    #[test]
    fn tokens_round_trip_within_their_list_only() {
        let token = next_token(&keys_of("acc-1"), Some("k9"), 10, 10);
        assert_eq!(
            parse(10, &token, &keys_of("acc-1")).unwrap(),
            Page {
                size: 10,
                after: Some("k9".into())
            }
        );
        assert!(parse(10, &token, &keys_of("acc-2")).is_err());
        assert!(parse(10, "garbage!", &keys_of("acc-1")).is_err());
    }

    #[test]
    fn a_token_of_another_list_of_the_same_resource_is_refused() {
        let invoices = Scope::new("ListInvoices", "acc-1");
        let renewals = Scope::new("ListRenewals", "acc-1");
        let token = next_token(&invoices, Some("inv-9"), 10, 10);
        assert!(parse(10, &token, &invoices).is_ok());
        assert!(parse(10, &token, &renewals).is_err());
    }

    #[test]
    fn sizes_default_and_cap() {
        assert_eq!(parse(0, "", &keys_of("x")).unwrap().size, DEFAULT_PAGE_SIZE);
        assert_eq!(
            parse(1_000_000, "", &keys_of("x")).unwrap().size,
            MAX_PAGE_SIZE
        );
        assert!(parse(-1, "", &keys_of("x")).is_err());
    }

    #[test]
    fn an_edited_or_forged_token_is_refused() {
        let scope = keys_of("acc-1");
        let token = next_token(&scope, Some("k9"), 10, 10);
        let (_, tag) = token.split_once('.').unwrap();
        let moved = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("k1"));
        assert!(
            parse(10, &moved, &scope).is_err(),
            "another position, the same seal"
        );
        let unsealed = URL_SAFE_NO_PAD.encode("k9");
        assert!(parse(10, &unsealed, &scope).is_err(), "no seal");
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert!(parse(10, &String::from_utf8(flipped).unwrap(), &scope).is_err());
        assert!(parse(10, &"A".repeat(MAX_TOKEN_CHARS + 1), &scope).is_err());
        assert!(parse(10, &token, &scope).is_ok());
    }

    #[test]
    fn a_short_page_has_no_next_token() {
        assert_eq!(next_token(&keys_of("x"), Some("k"), 3, 10), "");
    }
}
