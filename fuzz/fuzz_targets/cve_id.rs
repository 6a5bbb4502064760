//! N1: `n1_cve_id` on any text: no panic; what it accepts is `CVE-YYYY-NNNN…` in upper case, and accepted again
//! unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portal_notification::domain::advisory::n1_cve_id;

fuzz_target!(|text: &str| {
    match n1_cve_id(text) {
        Ok(id) => {
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(parts.len(), 3, "{id}");
            assert_eq!(parts[0], "CVE");
            assert!(parts[1].len() == 4 && digits(parts[1]), "{id}");
            assert!(
                (4..=19).contains(&parts[2].len()) && digits(parts[2]),
                "{id}"
            );
            assert_eq!(n1_cve_id(&id).as_ref(), Ok(&id));
        }
        Err(violation) => assert_eq!(violation.field, "cve_ids"),
    }
});
