//! Short-lived capabilities sealed with a process-wide secret: an HMAC tag over a purpose and a message, so a
//! value made for one purpose (an advisory acknowledgement, N9) is refused for any other, and a value edited by
//! hand is refused: advisory acknowledgements (N9) and page tokens ([`crate::paging`]). The secret is the
//! deployment's signing key, set once at start-up ([`set_secret`]), so every replica accepts what any replica
//! sealed; a process that never set it (unit tests) uses a random secret of its own.

use std::sync::OnceLock;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Bytes of the HMAC kept: 128 bits, beyond guessing.
const TAG_BYTES: usize = 16;

static SECRET: OnceLock<[u8; 32]> = OnceLock::new();

/// Seals with a key derived from `secret` (the signing key's bytes). The first call wins.
pub fn set_secret(secret: &[u8]) {
    let _ = SECRET.set(derive(secret));
}

fn derive(secret: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"portal sealed values v1\0");
    hash.update(secret);
    hash.finalize().into()
}

fn secret() -> &'static [u8; 32] {
    SECRET.get_or_init(|| derive(&rand::random::<[u8; 32]>()))
}

fn mac(purpose: &str, message: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(message.as_bytes());
    mac
}

/// The tag of `message` for `purpose`, URL-safe base64.
pub fn tag(purpose: &str, message: &str) -> String {
    let full = mac(purpose, message).finalize().into_bytes();
    URL_SAFE_NO_PAD.encode(&full[..TAG_BYTES])
}

/// Bytes of the HMAC a [`short_tag`] keeps: 96 bits, where a value must fit somewhere small.
const SHORT_TAG_BYTES: usize = 12;

/// A shorter tag of `message` for `purpose`, lowercase hex: for values that must fit a 64-character e-mail
/// local part and survive a mail system that changes its case (N13's envelope senders).
pub fn short_tag(purpose: &str, message: &str) -> String {
    let full = mac(purpose, message).finalize().into_bytes();
    full[..SHORT_TAG_BYTES]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `tag` is `message`'s [`short_tag`] for `purpose` (compared in constant time; either case).
pub fn verify_short(purpose: &str, message: &str, tag: &str) -> bool {
    if tag.len() != SHORT_TAG_BYTES * 2 || !tag.is_ascii() {
        return false;
    }
    let bytes: Option<Vec<u8>> = (0..SHORT_TAG_BYTES)
        .map(|i| u8::from_str_radix(&tag[2 * i..2 * i + 2], 16).ok())
        .collect();
    match bytes {
        Some(bytes) => mac(purpose, message).verify_truncated_left(&bytes).is_ok(),
        None => false,
    }
}

/// Whether `tag` is `message`'s tag for `purpose` (compared in constant time).
pub fn verify(purpose: &str, message: &str, tag: &str) -> bool {
    match URL_SAFE_NO_PAD.decode(tag) {
        Ok(bytes) if bytes.len() == TAG_BYTES => {
            mac(purpose, message).verify_truncated_left(&bytes).is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
mod short_tests {
    use super::*;

    #[test]
    fn a_short_tag_verifies_in_either_case_and_only_for_its_purpose() {
        let tag = short_tag("bounce", "dlv-1");
        assert_eq!(tag.len(), 24);
        assert!(verify_short("bounce", "dlv-1", &tag));
        assert!(verify_short("bounce", "dlv-1", &tag.to_uppercase()));
        assert!(!verify_short("bounce", "dlv-2", &tag));
        assert!(!verify_short("page", "dlv-1", &tag));
        assert!(!verify_short("bounce", "dlv-1", &tag[..22]));
        assert!(!verify_short("bounce", "dlv-1", "zz".repeat(12).as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_holds_only_for_its_purpose_and_message() {
        let t = tag("ack", "dlv-1");
        assert!(verify("ack", "dlv-1", &t));
        assert!(!verify("ack", "dlv-2", &t));
        assert!(!verify("page", "dlv-1", &t));
        assert!(!verify("ack", "dlv-1", "AAAA"));
    }
}
