//! The names people give things: an account's name (I1) and a user's display name, trimmed and bounded.

use portal_runtime::error::FieldViolation;

/// Longest name or display name accepted; longer input is a client bug, not a name.
const MAX_NAME_CHARS: usize = 200;

fn parse_name(field: &str, raw: &str) -> Result<String, FieldViolation> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldViolation::new(field, "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldViolation::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(name.to_string())
}

/// An account's name (I1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountName(String);

impl AccountName {
    pub fn parse(raw: &str) -> Result<Self, FieldViolation> {
        parse_name("name", raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        parse_name(field, raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_are_bounded_and_trimmed() {
        assert_eq!(AccountName::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert!(AccountName::parse("   ").is_err());
        assert!(AccountName::parse(&"n".repeat(10_000)).is_err());
        assert!(DisplayName::parse("display_name", "a\u{0}b").is_err());
        assert_eq!(
            DisplayName::parse("user.display_name", " ")
                .unwrap_err()
                .field,
            "user.display_name"
        );
    }
}
