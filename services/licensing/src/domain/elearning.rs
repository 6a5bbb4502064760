//! eLearning (L11): a purchase of eLearning yields access codes, listed under the account's licenses with who
//! redeemed each.

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::{
    domain::Email,
    error::{Error, Result},
};

/// The most codes one issue creates.
pub const MAX_CODES: u32 = 10_000;

/// L11: an access code and who redeemed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElearningCode {
    pub code: String,
    pub account_id: String,
    pub purchase_id: Option<String>,
    pub redeemed_by_email: Option<String>,
    pub redeem_time: Option<DateTime<Utc>>,
    pub create_time: DateTime<Utc>,
}

impl ElearningCode {
    /// The code's last group, which is all the audit log names.
    pub fn last_group(&self) -> &str {
        self.code.rsplit('-').next().unwrap_or_default()
    }
}

/// L11: an issue of `count` codes for an account, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewElearningCodes {
    pub account_id: String,
    pub count: u32,
    pub purchase_id: Option<String>,
}

/// L11: an eLearning access code, `ELRN-XXXX-XXXX-XXXX`, from the OS CSPRNG.
pub fn generate_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rngs::OsRng;
    let mut code = String::from("ELRN");
    for _ in 0..3 {
        code.push('-');
        for _ in 0..4 {
            code.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
        }
    }
    code
}

/// L11: codes are compared in their canonical (upper case) form.
pub fn normalize_code(raw: &str) -> String {
    raw.trim().to_ascii_uppercase()
}

/// L11: a code is redeemed once; the same person redeeming it again is a replay, anyone else is refused.
/// `redeemed_now` tells whether this call redeemed it.
pub fn ensure_redeemed_by(code: &ElearningCode, email: &Email, redeemed_now: bool) -> Result<()> {
    let same_person = code
        .redeemed_by_email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(email.as_str()));
    if redeemed_now || same_person {
        Ok(())
    } else {
        Err(Error::CodeAlreadyRedeemed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn l11_codes_are_random_and_well_formed() {
        let (a, b) = (generate_code(), generate_code());
        assert_ne!(a, b);
        assert_eq!(a.len(), 19);
        assert!(a.starts_with("ELRN-"));
        assert_eq!(normalize_code(&format!(" {} ", a.to_lowercase())), a);
    }

    #[test]
    fn l11_a_code_is_redeemed_by_one_person_only() {
        let email = Email::parse("ann@example.com").unwrap();
        let code = ElearningCode {
            code: "ELRN-AAAA-BBBB-CCCC".into(),
            account_id: "acc".into(),
            purchase_id: None,
            redeemed_by_email: Some("Ann@Example.com".into()),
            redeem_time: Some(Utc::now()),
            create_time: Utc::now(),
        };
        assert_eq!(code.last_group(), "CCCC");
        assert!(ensure_redeemed_by(&code, &email, false).is_ok());
        let other = Email::parse("bob@example.com").unwrap();
        assert!(matches!(
            ensure_redeemed_by(&code, &other, false),
            Err(Error::CodeAlreadyRedeemed)
        ));
    }
}
