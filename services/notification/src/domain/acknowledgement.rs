//! Acknowledgement (N9): each advisory mail carries a token naming its ledger row, sealed for this one purpose
//! and expiring, so whoever got the mail — and nobody else — can say they read it.

use chrono::{DateTime, Duration, TimeZone, Utc};

/// What acknowledgement tokens are sealed for: a tag made for anything else does not pass.
const PURPOSE: &str = "advisory acknowledgement";
/// How long after a delivery is written its token acknowledges.
pub const TOKEN_LIFETIME_DAYS: i64 = 90;

/// N9: a recorded acknowledgement: which delivery, whose, and when (the first time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    pub delivery_id: String,
    pub advisory_id: String,
    pub account_id: String,
    pub user_id: String,
    pub email: String,
    pub time: DateTime<Utc>,
}

/// Why a token does not acknowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of ours: malformed, edited, or sealed for something else.
    Invalid,
    Expired,
}

/// N9: when the token of a delivery written at `created` stops acknowledging.
pub fn n9_token_expiry(created: DateTime<Utc>) -> DateTime<Utc> {
    created + Duration::days(TOKEN_LIFETIME_DAYS)
}

/// N9: the acknowledgement token of delivery `delivery_id`: `<delivery id>.<expiry, unix seconds>.<tag>`. The
/// same row always gets the same token, so a resend (N3) carries the same one.
pub fn n9_token(delivery_id: &str, expires: DateTime<Utc>) -> String {
    let message = format!("{delivery_id}.{}", expires.timestamp());
    let tag = portal_runtime::seal::tag(PURPOSE, &message);
    format!("{message}.{tag}")
}

/// N9: the acknowledgement link of `token` on the public listener reached at `base`. Tokens are URL-safe
/// (letters, digits, `-`, `_` and `.`), so the link needs no escaping and survives being copied whole.
pub fn n9_link(base: &str, token: &str) -> String {
    format!("{}/ack/{token}", base.trim_end_matches('/'))
}

/// N9: the delivery a token acknowledges, if it is ours and has not expired at `now`.
pub fn n9_read_token(token: &str, now: DateTime<Utc>) -> Result<String, TokenError> {
    let mut parts = token.trim().rsplitn(3, '.');
    let (Some(tag), Some(expiry), Some(delivery_id)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid);
    };
    if !portal_runtime::seal::verify(PURPOSE, &format!("{delivery_id}.{expiry}"), tag) {
        return Err(TokenError::Invalid);
    }
    let expires = expiry
        .parse::<i64>()
        .ok()
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
        .ok_or(TokenError::Invalid)?;
    if now >= expires {
        return Err(TokenError::Expired);
    }
    Ok(delivery_id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n9_a_token_names_its_delivery_until_it_expires() {
        let now = Utc::now();
        let token = n9_token("dlv-1", n9_token_expiry(now));
        assert_eq!(n9_read_token(&token, now), Ok("dlv-1".to_string()));
        assert_eq!(
            n9_read_token(&token, now + Duration::days(TOKEN_LIFETIME_DAYS)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn n9_tokens_cannot_be_forged_or_edited() {
        let now = Utc::now();
        let token = n9_token("dlv-1", n9_token_expiry(now));
        let other = token.replacen("dlv-1", "dlv-2", 1);
        assert_eq!(n9_read_token(&other, now), Err(TokenError::Invalid));
        let later = n9_token("dlv-1", now + Duration::days(1000));
        let (_, tag) = later.rsplit_once('.').unwrap();
        let (head, _) = token.rsplit_once('.').unwrap();
        assert_eq!(
            n9_read_token(&format!("{head}.{tag}"), now),
            Err(TokenError::Invalid),
            "a tag belongs to its own expiry"
        );
        assert_eq!(n9_read_token("garbage", now), Err(TokenError::Invalid));
        let page_tag = portal_runtime::seal::tag("page", head);
        assert_eq!(
            n9_read_token(&format!("{head}.{page_tag}"), now),
            Err(TokenError::Invalid),
            "single-purpose"
        );
    }

    #[test]
    fn n9_the_link_is_the_public_page_of_the_token_and_needs_no_escaping() {
        let token = n9_token("dlv-0f3c2a", n9_token_expiry(Utc::now()));
        let link = n9_link("https://portal.example.com/", &token);
        assert_eq!(link, format!("https://portal.example.com/ack/{token}"));
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "{token}"
        );
    }

    #[test]
    fn n9_the_same_row_always_gets_the_same_token() {
        let at = Utc::now();
        assert_eq!(n9_token("dlv-1", at), n9_token("dlv-1", at));
        assert_ne!(n9_token("dlv-1", at), n9_token("dlv-2", at));
    }
}
