//! What a refused token is told. The verifier's errors carry parser internals ("JSON error: missing field `iat`
//! at line 1 column 100", base64 and UTF-8 positions): they help whoever probes the parser, not the caller with a
//! broken token, so each kind of refusal reads as one fixed sentence; the detail goes to the debug log.

use jsonwebtoken::errors::{Error, ErrorKind};

/// The one message for a token the verifier refused with `error`.
pub(super) fn describe(error: &Error) -> &'static str {
    tracing::debug!(%error, "token refused");
    match error.kind() {
        ErrorKind::ExpiredSignature => "invalid token: it has expired (exp)",
        ErrorKind::ImmatureSignature => "invalid token: it is not valid yet (nbf)",
        ErrorKind::InvalidIssuer => "invalid token: it was issued by another issuer (iss)",
        ErrorKind::InvalidAudience => "invalid token: it is meant for another audience (aud)",
        ErrorKind::InvalidSubject => "invalid token: its subject (sub) is not accepted",
        ErrorKind::InvalidSignature => "invalid token: its signature does not verify",
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => "invalid token: its algorithm (alg) is not accepted",
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
            "invalid token: it must carry sub, iss, aud, iat and exp, each of its type"
        }
        // Not a JWT at all, undecodable base64 or JSON, claims of the wrong shape, or a key that cannot verify.
        _ => "invalid token: it is not a well-formed JWT with the claims this suite needs",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_refusal_shows_the_parser_at_work() {
        let json = serde_json::from_str::<serde_json::Value>("{\"sub\": ").unwrap_err();
        let base64 = base64::DecodeError::InvalidByte(3, b'!');
        for error in [
            Error::from(ErrorKind::Json(std::sync::Arc::new(json))),
            Error::from(ErrorKind::Base64(base64)),
            Error::from(ErrorKind::InvalidToken),
            Error::from(ErrorKind::MissingRequiredClaim("exp".into())),
        ] {
            let shown = describe(&error);
            for internal in ["JSON", "line", "column", "byte", "offset", "`"] {
                assert!(!shown.contains(internal), "{shown:?} shows {internal:?}");
            }
        }
    }
}
