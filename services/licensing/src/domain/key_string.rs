//! L1: the product key string: a family prefix and 18 characters from a CSPRNG in five groups of four, never
//! printed whole.

use std::fmt;

use portal_runtime::error::FieldViolation;
use rand::Rng;

use crate::domain::Family;

/// `TC12-3456-7890-ABCD-1234`: a family prefix and 18 characters in five groups of four (L1).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyString {
    text: String,
    family: Family,
}

const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

impl KeyString {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate(family: Family) -> Self {
        let mut rng = rand::rngs::OsRng;
        let mut body: String = family.as_str().to_string();
        for i in 0..18 {
            if (i + 2) % 4 == 0 {
                body.push('-');
            }
            body.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
        }
        Self { text: body, family }
    }

    /// Accepts the canonical form, case-insensitively and without the dashes.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        let bad = || {
            FieldViolation::new(
                field,
                "must look like TC12-3456-7890-ABCD-1234 (TC, TD or TS and 18 letters or digits)",
            )
        };
        if compact.len() != 20 || !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        let family = Family::parse(&compact[..2]).ok_or_else(bad)?;
        let groups: Vec<&str> = (0..5).map(|i| &compact[i * 4..i * 4 + 4]).collect();
        Ok(Self {
            text: groups.join("-"),
            family,
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The only part of a key that may be logged or shown to those who may not see the key.
    pub fn last_group(&self) -> &str {
        &self.text[self.text.len() - 4..]
    }
}

/// Never prints the whole key (L1).
impl fmt::Debug for KeyString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}**-****-****-****-{}",
            self.family.as_str(),
            self.last_group()
        )
    }
}

impl fmt::Display for KeyString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn l1_keys_have_the_family_prefix_and_five_groups_of_four() {
        for family in Family::ALL {
            let key = KeyString::generate(family);
            let s = key.as_str();
            assert_eq!(s.len(), 24, "{s}");
            assert!(s.starts_with(family.as_str()));
            assert_eq!(s.split('-').map(str::len).collect::<Vec<_>>(), vec![4; 5]);
            assert_eq!(KeyString::parse("key", s).unwrap(), key);
            assert_eq!(key.family(), family);
        }
    }

    #[test]
    fn l1_keys_are_random_and_never_printed_whole() {
        let a = KeyString::generate(Family::Tc);
        let b = KeyString::generate(Family::Tc);
        assert_ne!(a, b);
        let shown = format!("{a:?} {a}");
        assert!(!shown.contains(&a.as_str()[5..19]), "{shown}");
        assert!(shown.contains(a.last_group()));
    }

    #[test]
    fn l1_malformed_keys_are_refused() {
        for bad in [
            "",
            "TC12-3456",
            "XX12-3456-7890-ABCD-1234",
            "TC12-3456-7890-ABCD-12345",
            "TC12-3456-7890-ABCD-12!4",
        ] {
            assert!(KeyString::parse("key", bad).is_err(), "{bad}");
        }
        assert_eq!(
            KeyString::parse("key", "tc1234567890abcd1234")
                .unwrap()
                .as_str(),
            "TC12-3456-7890-ABCD-1234"
        );
    }
}
