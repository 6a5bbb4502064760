//! I2: `Email::parse` on any text: no panic; what it accepts is a bare, trimmed address whose comparison key is
//! its lower case, and which parses again to the same address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portal_policy::{Email, email::MAX_EMAIL_CHARS};

fuzz_target!(|text: &str| {
    let Ok(email) = Email::parse(text) else {
        return;
    };
    assert_eq!(email.as_str(), text.trim());
    assert!(email.as_str().len() <= MAX_EMAIL_CHARS);
    assert_eq!(email.key(), email.as_str().to_lowercase());
    assert!(!email.domain().is_empty(), "{text:?}");
    let again = Email::parse(email.as_str()).expect("an accepted address parses again");
    assert_eq!(again, email);
});
