//! The one e-mail address type every service parses with (I2): syntax-checked by the `email_address` crate,
//! a bare address the mailer can send to, compared case-insensitively.

use std::fmt;

/// RFC 5321 caps a forward path at 256 octets, so an address has at most 254.
pub const MAX_EMAIL_CHARS: usize = 254;

/// An e-mail address, syntax-checked (RFC 5321/5322) and compared case-insensitively (I2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    address: String,
    key: String,
}

/// Why a string is not an [`Email`]; its text is the field violation's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEmail(String);

impl fmt::Display for InvalidEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidEmail {}

fn invalid(why: impl Into<String>) -> InvalidEmail {
    InvalidEmail(why.into())
}

impl Email {
    /// Trims surrounding white space; refuses anything but a bare `local@domain` address.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let address = raw.trim();
        if address.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if address.len() > MAX_EMAIL_CHARS {
            return Err(invalid(format!(
                "must be at most {MAX_EMAIL_CHARS} characters"
            )));
        }
        let parsed: email_address::EmailAddress = address
            .parse()
            .map_err(|e| invalid(format!("not a valid e-mail address: {e}")))?;
        // Display-name forms ("Ann <ann@x>") parse too; the portal wants the bare address.
        if parsed.email() != address || parsed.domain().is_empty() {
            return Err(invalid("must be a bare address like name@example.com"));
        }
        // A quoted local part ("a@b"@c) is valid RFC 5322 but the mailer refuses it, so such a contact could
        // never be reached: the address a user is created with must be one the suite can send to.
        if parsed.local_part().starts_with('"') {
            return Err(invalid("must not have a quoted local part"));
        }
        Ok(Self {
            address: address.to_string(),
            key: address.to_lowercase(),
        })
    }

    /// As entered (trimmed).
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The case-insensitive comparison key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i2_email_is_validated_and_compared_case_insensitively() {
        let a = Email::parse("Ann.Lee@Example.COM").unwrap();
        let b = Email::parse(" ann.lee@example.com ").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "Ann.Lee@Example.COM");
        assert_eq!(b.domain(), "example.com");
    }

    #[test]
    fn i2_anything_but_a_bare_sendable_address_is_refused() {
        for bad in [
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "ann@",
            "Ann <ann@example.com>",
            "ann lee@example.com",
            "\"attacker@evil.example\"@inj.example",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
