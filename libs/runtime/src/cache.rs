//! Read caches a service keeps of its own data, for the reads on every call (a caller's row, a persona's key
//! facts), and the rule that keeps them honest.
//!
//! A [`ReadCache`] is on only where this process is the one writer of the data: SQLite, the embedded default
//! and the single-replica deployment. On PostgreSQL, where replicas write the same rows, it is off and every
//! read goes to the database. The service clears it after every write it commits, before answering, so the
//! next call sees the change; a read that raced a write (began before the commit, ended after) is not kept,
//! because the write moved the generation the read began under.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    hash::Hash,
    pin::Pin,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use sea_orm::{ConnectionTrait, DbBackend};
use tonic::{body::Body, server::NamedService};
use tower::Service;

#[derive(Debug)]
pub struct ReadCache<K, V> {
    enabled: bool,
    generation: AtomicU64,
    entries: Mutex<HashMap<K, V>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> ReadCache<K, V> {
    /// On for SQLite, off for a database several replicas may write; at most `capacity` entries.
    pub fn for_database(db: &impl ConnectionTrait, capacity: usize) -> Self {
        Self::new(db.get_database_backend() == DbBackend::Sqlite, capacity)
    }

    pub fn new(enabled: bool, capacity: usize) -> Self {
        Self {
            enabled,
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The value for `key`, from memory when it is there, else from `load` (remembered if no write committed
    /// meanwhile).
    pub async fn get_or_load<E, F>(&self, key: K, load: F) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        if !self.enabled {
            return load.await;
        }
        if let Some(value) = self.get(&key) {
            return Ok(value);
        }
        let started_under = self.generation.load(Ordering::Acquire);
        let value = load.await?;
        self.remember(started_under, key, value.clone());
        Ok(value)
    }

    /// Forgets everything; call after every committed write of the data cached.
    pub fn invalidate(&self) {
        if !self.enabled {
            return;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    fn remember(&self, started_under: u64, key: K, value: V) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        // Checked under the lock `invalidate` clears under: a write committed since the read began either
        // moved the generation before this check (nothing is kept) or clears this entry after it.
        if self.generation.load(Ordering::Acquire) != started_under {
            return;
        }
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, value);
    }
}

/// Runs `after_write` once any RPC of `inner` other than the read-only `reads` (method names) has finished
/// its handler, before the answer goes out: a service's caches are cleared by every RPC that may have
/// written, including RPCs added later, without each handler having to remember to.
#[derive(Clone)]
pub struct ClearAfterWrites<S> {
    inner: S,
    reads: &'static [&'static str],
    after_write: std::sync::Arc<dyn Fn() + Send + Sync>,
}

impl<S> ClearAfterWrites<S> {
    pub fn new(
        inner: S,
        reads: &'static [&'static str],
        after_write: std::sync::Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            inner,
            reads,
            after_write,
        }
    }
}

impl<S: NamedService> NamedService for ClearAfterWrites<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for ClearAfterWrites<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let method = request.uri().path().rsplit('/').next().unwrap_or_default();
        let writes = !self.reads.contains(&method);
        let after_write = self.after_write.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            if writes {
                after_write();
            }
            response
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_read_that_raced_a_write_is_not_remembered() {
        let cache = ReadCache::<&str, u32>::new(true, 10);
        let started_under = cache.generation.load(Ordering::Acquire);
        cache.invalidate(); // a write committed while the read was in flight
        cache.remember(started_under, "u1", 1);
        assert_eq!(cache.get(&"u1"), None);
        cache.remember(cache.generation.load(Ordering::Acquire), "u1", 2);
        assert_eq!(cache.get(&"u1"), Some(2));
    }

    #[test]
    fn a_write_forgets_what_was_remembered() {
        let cache = ReadCache::new(true, 10);
        cache.remember(0, "u1", 1);
        cache.invalidate();
        assert_eq!(cache.get(&"u1"), None);
    }

    #[test]
    fn it_stays_bounded() {
        let cache = ReadCache::new(true, 3);
        for i in 0..10 {
            cache.remember(0, i, i);
            assert!(cache.entries.lock().unwrap().len() <= 3);
        }
    }

    #[tokio::test]
    async fn off_it_always_loads() {
        let cache = ReadCache::new(false, 3);
        for expected in 0..3 {
            let got: Result<u32, ()> = cache.get_or_load("k", async { Ok(expected) }).await;
            assert_eq!(got, Ok(expected));
        }
    }
}
