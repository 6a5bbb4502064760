//! Accounts and users: parsing what may be stored, and the rules on changing it (I1–I8).

use portal_runtime::error::FieldViolation;

use crate::error::{Error, Result};

/// Longest name or display name accepted; longer input is a client bug, not a name.
const MAX_NAME_CHARS: usize = 200;
/// RFC 5321 caps a forward path at 256 octets, so an address has at most 254.
const MAX_EMAIL_CHARS: usize = 254;

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

/// An e-mail address, syntax-checked (RFC 5321/5322) and compared case-insensitively (I2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    address: String,
    key: String,
}

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let address = raw.trim();
        if address.is_empty() {
            return Err(FieldViolation::new(field, "must not be empty"));
        }
        if address.len() > MAX_EMAIL_CHARS {
            return Err(FieldViolation::new(
                field,
                format!("must be at most {MAX_EMAIL_CHARS} characters"),
            ));
        }
        let parsed: email_address::EmailAddress = address
            .parse()
            .map_err(|e| FieldViolation::new(field, format!("not a valid e-mail address: {e}")))?;
        // Display-name forms ("Ann <ann@x>") parse too; the portal wants the bare address.
        if parsed.email() != address || parsed.domain().is_empty() {
            return Err(FieldViolation::new(
                field,
                "must be a bare address like name@example.com",
            ));
        }
        Ok(Self {
            address: address.to_string(),
            key: address.to_lowercase(),
        })
    }

    /// As entered.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The case-insensitive comparison key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// I3: exactly one of two roles.
pub use portal_policy::Role;

/// I4: additional permissions, any subset, on either role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissions {
    pub security_contact: bool,
    pub technical_contact: bool,
    pub case_administrator: bool,
}

/// Whether a user is active or kept as removed for the audit trail (I8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserState {
    Active,
    Removed,
}

impl UserState {
    pub fn as_str(self) -> &'static str {
        match self {
            UserState::Active => "ACTIVE",
            UserState::Removed => "REMOVED",
        }
    }
    pub fn parse(s: &str) -> Self {
        if s == "REMOVED" {
            UserState::Removed
        } else {
            UserState::Active
        }
    }
}

/// I1: academic accounts have no portal access.
pub fn ensure_portal_access(academic: bool) -> Result<()> {
    if academic {
        Err(Error::AcademicAccount)
    } else {
        Ok(())
    }
}

/// I7: a change that takes an active Administrator away (demotion or removal) needs another one left.
/// `active_admins` counts the account's active Administrators before the change.
pub fn ensure_keeps_an_administrator(active_admins: u64, loses_an_admin: bool) -> Result<()> {
    if loses_an_admin && active_admins <= 1 {
        Err(Error::LastAdministrator)
    } else {
        Ok(())
    }
}

/// What an update may change (I5: role, display name, additional permissions — never the e-mail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateField {
    DisplayName,
    Role,
    AdditionalPermissions,
}

/// I5: parses an update mask. An empty mask means "the fields that are set" (AIP-134); any mention of the
/// e-mail, or a change of it in an empty-mask update, is `EMAIL_IMMUTABLE`.
pub fn parse_update_mask(
    paths: &[String],
    email_given: Option<&str>,
    current_email: &str,
) -> Result<Vec<UpdateField>> {
    if paths.is_empty() {
        if email_given.is_some_and(|e| !e.is_empty() && !e.eq_ignore_ascii_case(current_email)) {
            return Err(Error::EmailImmutable);
        }
        return Ok(vec![
            UpdateField::DisplayName,
            UpdateField::Role,
            UpdateField::AdditionalPermissions,
        ]);
    }
    let mut fields = Vec::new();
    let mut violations = Vec::new();
    for path in paths {
        match path.as_str() {
            "email" => return Err(Error::EmailImmutable),
            "display_name" => fields.push(UpdateField::DisplayName),
            "role" => fields.push(UpdateField::Role),
            "additional_permissions" => fields.push(UpdateField::AdditionalPermissions),
            other => violations.push(FieldViolation::new(
                "update_mask",
                format!("`{other}` cannot be updated"),
            )),
        }
    }
    if violations.is_empty() {
        Ok(fields)
    } else {
        Err(Error::invalid_fields(violations))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn i1_academic_accounts_have_no_portal_access() {
        assert!(matches!(
            ensure_portal_access(true),
            Err(Error::AcademicAccount)
        ));
        assert!(ensure_portal_access(false).is_ok());
    }

    #[test]
    fn i2_email_is_validated_and_compared_case_insensitively() {
        let a = Email::parse("email", "Ann.Lee@Example.COM").unwrap();
        let b = Email::parse("email", "ann.lee@example.com").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "Ann.Lee@Example.COM");
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "Ann <ann@example.com>",
            "a b@example.com",
            &"x".repeat(300),
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn i5_email_can_never_be_updated() {
        assert!(matches!(
            parse_update_mask(&["email".into()], None, "a@x.io"),
            Err(Error::EmailImmutable)
        ));
        assert!(matches!(
            parse_update_mask(&["role".into(), "email".into()], None, "a@x.io"),
            Err(Error::EmailImmutable)
        ));
        assert!(matches!(
            parse_update_mask(&[], Some("b@x.io"), "a@x.io"),
            Err(Error::EmailImmutable)
        ));
        assert_eq!(
            parse_update_mask(&[], Some("A@X.io"), "a@x.io")
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            parse_update_mask(&["role".into()], None, "a@x.io").unwrap(),
            vec![UpdateField::Role]
        );
        assert!(matches!(
            parse_update_mask(&["state".into()], None, "a@x.io"),
            Err(Error::Common(portal_runtime::error::Common::Invalid(_)))
        ));
    }

    #[test]
    fn i7_the_last_administrator_cannot_be_lost() {
        assert!(matches!(
            ensure_keeps_an_administrator(1, true),
            Err(Error::LastAdministrator)
        ));
        assert!(ensure_keeps_an_administrator(2, true).is_ok());
        assert!(ensure_keeps_an_administrator(1, false).is_ok());
    }

    #[test]
    fn names_are_bounded_and_trimmed() {
        assert_eq!(AccountName::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert!(AccountName::parse("   ").is_err());
        assert!(AccountName::parse(&"n".repeat(10_000)).is_err());
        assert!(DisplayName::parse("display_name", "a\u{0}b").is_err());
    }
}
