//! The tokens a verifier has already accepted, so that checking a reused token costs a hash and a lookup.

use std::{collections::HashMap, sync::Mutex};

use super::Principal;

/// Tokens that passed verification, so a client reusing its token (as every client does) costs a hash and a
/// lookup instead of a signature check. Keyed by the SHA-256 of the token, never the token itself; an entry is
/// used only while the token is still within its `exp` (plus the same leeway verification allows) and while the
/// key sets are the ones it was verified against (a key removed from a set takes its tokens with it), and the
/// set is bounded. Only successes are kept: a bad token is checked in full every time.
pub(super) struct VerifiedTokens {
    pub(super) entries: Mutex<HashMap<[u8; 32], Remembered>>,
    capacity: usize,
}

pub(super) struct Remembered {
    pub(super) principal: Principal,
    pub(super) valid_until: u64,
    pub(super) generation: u64,
}

impl VerifiedTokens {
    pub(super) const CAPACITY: usize = 8192;

    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    pub(super) fn get(&self, digest: &[u8; 32], now: u64, generation: u64) -> Option<Principal> {
        let entries = self.entries.lock().ok()?;
        match entries.get(digest) {
            Some(r) if now <= r.valid_until && r.generation == generation => {
                Some(r.principal.clone())
            }
            _ => None,
        }
    }

    pub(super) fn insert(&self, digest: [u8; 32], remembered: Remembered, now: u64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.retain(|_, r| now <= r.valid_until && r.generation == remembered.generation);
            if entries.len() >= self.capacity {
                // Still full of live tokens: start over rather than grow; the next calls verify in full.
                entries.clear();
            }
        }
        entries.insert(digest, remembered);
    }
}
