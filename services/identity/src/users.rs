//! The users the handlers read on every call (the caller, the subject of CheckAccess/GetUser), remembered in
//! memory so the hot read path does not go to the database each time.
//!
//! Correctness over speed: the cache is used only on SQLite, where this process is the only writer of the
//! identity database (the embedded default and the single-replica SQLite deployment). On PostgreSQL, where
//! several replicas write, it is off and every read goes to the database. Every write transaction of identity
//! clears it after commit, before the RPC answers, so the next call sees the change. A read that raced a
//! write (started before the commit, finished after) is not remembered: the generation it started under is
//! stale by then.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use sea_orm::{DatabaseConnection, DbBackend};

use crate::{
    error::Result,
    store::{self, user},
};

#[derive(Debug)]
pub struct UserCache {
    enabled: bool,
    generation: AtomicU64,
    entries: Mutex<HashMap<String, user::Model>>,
    capacity: usize,
}

impl UserCache {
    const CAPACITY: usize = 10_000;

    /// On for SQLite, off for any database several replicas may write.
    pub fn for_database(db: &DatabaseConnection) -> Self {
        Self::new(db.get_database_backend() == DbBackend::Sqlite, Self::CAPACITY)
    }

    fn new(enabled: bool, capacity: usize) -> Self {
        Self {
            enabled,
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The user row, from memory when it is there.
    pub async fn find(&self, db: &DatabaseConnection, user_id: &str) -> Result<user::Model> {
        if !self.enabled {
            return store::find_user(db, user_id).await;
        }
        if let Some(row) = self.get(user_id) {
            return Ok(row);
        }
        let started_under = self.generation.load(Ordering::Acquire);
        let row = store::find_user(db, user_id).await?;
        self.remember(started_under, &row);
        Ok(row)
    }

    /// Forgets everything; called after every committed write of identity.
    pub fn invalidate(&self) {
        if !self.enabled {
            return;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    fn get(&self, user_id: &str) -> Option<user::Model> {
        self.entries.lock().ok()?.get(user_id).cloned()
    }

    fn remember(&self, started_under: u64, row: &user::Model) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        // Checked under the lock that `invalidate` clears under: a write committed since the read began
        // either bumped the generation before this check (nothing is kept) or clears this entry after it.
        if self.generation.load(Ordering::Acquire) != started_under {
            return;
        }
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(row.user_id.clone(), row.clone());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(id: &str, role: &str) -> user::Model {
        user::Model {
            user_id: id.into(),
            account_id: "acc".into(),
            email: format!("{id}@x.example"),
            email_key: format!("{id}@x.example"),
            display_name: id.into(),
            role: role.into(),
            security_contact: false,
            technical_contact: false,
            case_administrator: false,
            state: "ACTIVE".into(),
            create_time: chrono::Utc::now(),
            update_time: chrono::Utc::now(),
            remove_time: None,
        }
    }

    #[test]
    fn i10_a_read_that_raced_a_write_is_not_remembered() {
        let cache = UserCache::new(true, 10);
        let started_under = cache.generation.load(Ordering::Acquire);
        cache.invalidate(); // a write committed while the read was in flight
        cache.remember(started_under, &row("u1", "ADMINISTRATOR"));
        assert!(cache.get("u1").is_none());
        let now = cache.generation.load(Ordering::Acquire);
        cache.remember(now, &row("u1", "DOWNLOAD_ONLY"));
        assert_eq!(cache.get("u1").unwrap().role, "DOWNLOAD_ONLY");
    }

    #[test]
    fn i10_a_write_forgets_what_was_remembered() {
        let cache = UserCache::new(true, 10);
        cache.remember(0, &row("u1", "ADMINISTRATOR"));
        assert!(cache.get("u1").is_some());
        cache.invalidate();
        assert!(cache.get("u1").is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = UserCache::new(true, 3);
        for i in 0..10 {
            cache.remember(0, &row(&format!("u{i}"), "ADMINISTRATOR"));
            assert!(cache.entries.lock().unwrap().len() <= 3);
        }
    }
}
