//! Fair shares: how many calls each caller (the token's subject) may have open at once in this process, so that
//! one principal — stalling requests, holding watch streams — can take at most its share of the concurrency and
//! open-stream limits and never all of them. The suite's own services calling each other are not counted: their
//! calls are made for a call already admitted and bounded by it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// Open calls per principal, each at most `limit`.
#[derive(Debug)]
pub(super) struct Shares {
    limit: usize,
    open: Mutex<HashMap<String, usize>>,
}

impl Shares {
    pub(super) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit: limit.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// One more open call for `who`, or `None` when they already hold their share.
    pub(super) fn take(self: &Arc<Self>, who: String) -> Option<Share> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(who.clone()).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Share {
            shares: self.clone(),
            who,
        })
    }

    #[cfg(test)]
    fn held(&self, who: &str) -> usize {
        self.open
            .lock()
            .map(|open| open.get(who).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// One open call of a principal; given back when dropped (the call answered, its stream ended or was cut).
#[derive(Debug)]
pub(super) struct Share {
    shares: Arc<Shares>,
    who: String,
}

impl Drop for Share {
    fn drop(&mut self) {
        if let Ok(mut open) = self.shares.open.lock()
            && let Some(count) = open.get_mut(&self.who)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                // Principals come and go; the map holds only those with calls open.
                open.remove(&self.who);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_holds_at_most_its_share_and_gets_it_back() {
        let shares = Shares::new(2);
        let a1 = shares.take("user:a".into());
        let a2 = shares.take("user:a".into());
        assert!(a1.is_some() && a2.is_some());
        assert!(
            shares.take("user:a".into()).is_none(),
            "a third is over the share"
        );
        assert!(
            shares.take("user:b".into()).is_some(),
            "another principal is not affected"
        );
        drop(a1);
        assert_eq!(shares.held("user:a"), 1);
        assert!(shares.take("user:a".into()).is_some());
        drop(a2);
        assert_eq!(shares.held("user:b"), 0, "released shares leave no entry");
    }
}
