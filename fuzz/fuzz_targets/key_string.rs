//! L1: `KeyString::parse` on any text: no panic; what it accepts is the canonical `TC12-3456-7890-ABCD-1234`
//! form of its family, and parses again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portal_licensing::domain::KeyString;

fuzz_target!(|text: &str| {
    let Ok(key) = KeyString::parse("key", text) else {
        return;
    };
    let canonical = key.as_str();
    assert_eq!(canonical.len(), 24, "{canonical}");
    assert!(canonical.starts_with(key.family().as_str()));
    for (i, b) in canonical.bytes().enumerate() {
        if i % 5 == 4 {
            assert_eq!(b, b'-', "{canonical}");
        } else {
            assert!(b.is_ascii_uppercase() || b.is_ascii_digit(), "{canonical}");
        }
    }
    assert_eq!(key.last_group(), &canonical[20..]);
    let again = KeyString::parse("key", canonical).expect("a canonical key parses again");
    assert_eq!(again, key);
});
