//! The public listener's rate limits: so many requests per minute from one client address, and so many per
//! second from everybody together. Token buckets: a burst up to the limit, then the steady rate.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Addresses remembered before the full buckets (clients quiet long enough to be back at the limit) are dropped.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(capacity: f64, now: Instant) -> Self {
        Self {
            tokens: capacity,
            at: now,
        }
    }

    /// Refills at `per_second` up to `capacity`, then takes one token if there is one.
    fn take(&mut self, capacity: f64, per_second: f64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What a request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Go,
    /// This client address is over its limit (HTTP 429).
    ClientLimited,
    /// Everybody together is over the listener's limit (HTTP 503).
    Overloaded,
}

#[derive(Debug)]
pub struct RateLimits {
    per_address: f64,
    global: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    global: Bucket,
    addresses: HashMap<IpAddr, Bucket>,
}

impl RateLimits {
    pub fn new(per_address_per_minute: u32, global_per_second: u32) -> Self {
        let global = f64::from(global_per_second);
        Self {
            per_address: f64::from(per_address_per_minute),
            global,
            state: Mutex::new(State {
                global: Bucket::full(global, Instant::now()),
                addresses: HashMap::new(),
            }),
        }
    }

    /// Takes one request from `client`'s budget and the global one. A client over its own limit does not use up
    /// everybody's.
    pub fn admit(&self, client: IpAddr, now: Instant) -> Admission {
        let Ok(mut state) = self.state.lock() else {
            return Admission::Overloaded;
        };
        let (capacity, rate) = (self.per_address, self.per_address / 60.0);
        if state.addresses.len() >= PRUNE_ABOVE {
            let full_after = Duration::from_secs_f64(capacity / rate);
            state
                .addresses
                .retain(|_, b| now.saturating_duration_since(b.at) < full_after);
        }
        let bucket = state
            .addresses
            .entry(client)
            .or_insert_with(|| Bucket::full(capacity, now));
        if !bucket.take(capacity, rate, now) {
            return Admission::ClientLimited;
        }
        let global = self.global;
        if !state.global.take(global, global, now) {
            return Admission::Overloaded;
        }
        Admission::Go
    }

    /// Takes one request from the global budget only: for what is the same for everybody and cheap to serve (the
    /// CSAF provider's files, which a downloader mirroring hundreds of documents fetches four at a time).
    pub fn admit_shared(&self, now: Instant) -> Admission {
        let Ok(mut state) = self.state.lock() else {
            return Admission::Overloaded;
        };
        let global = self.global;
        if state.global.take(global, global, now) {
            Admission::Go
        } else {
            Admission::Overloaded
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn n15_shared_files_spend_only_the_global_budget() {
        let limits = RateLimits::new(2, 5);
        let start = Instant::now();
        for _ in 0..2 {
            assert_eq!(limits.admit(ip(1), start), Admission::Go);
        }
        assert_eq!(limits.admit(ip(1), start), Admission::ClientLimited);
        // The same client still gets shared files, until everybody's budget is spent.
        for _ in 0..3 {
            assert_eq!(limits.admit_shared(start), Admission::Go);
        }
        assert_eq!(limits.admit_shared(start), Admission::Overloaded);
        assert_eq!(limits.admit(ip(2), start), Admission::Overloaded);
    }

    #[test]
    fn one_address_gets_its_burst_then_one_request_per_interval() {
        let limits = RateLimits::new(60, 1_000);
        let start = Instant::now();
        for _ in 0..60 {
            assert_eq!(limits.admit(ip(1), start), Admission::Go);
        }
        assert_eq!(limits.admit(ip(1), start), Admission::ClientLimited);
        assert_eq!(
            limits.admit(ip(2), start),
            Admission::Go,
            "others are not affected"
        );
        let later = start + Duration::from_millis(1_001);
        assert_eq!(limits.admit(ip(1), later), Admission::Go);
        assert_eq!(limits.admit(ip(1), later), Admission::ClientLimited);
    }

    #[test]
    fn everybody_together_is_limited_per_second() {
        let limits = RateLimits::new(60, 5);
        let start = Instant::now();
        for n in 0..5 {
            assert_eq!(limits.admit(ip(n), start), Admission::Go);
        }
        assert_eq!(limits.admit(ip(9), start), Admission::Overloaded);
        assert_eq!(
            limits.admit(ip(9), start + Duration::from_secs(1)),
            Admission::Go
        );
    }

    #[test]
    fn quiet_addresses_are_forgotten_when_many_are_remembered() {
        let limits = RateLimits::new(60, u32::MAX);
        let start = Instant::now();
        for n in 0..PRUNE_ABOVE {
            let octets = (n as u32).to_be_bytes();
            limits.admit(IpAddr::from([10, octets[1], octets[2], octets[3]]), start);
        }
        limits.admit(ip(1), start + Duration::from_secs(61));
        let remembered = limits.state.lock().map(|s| s.addresses.len()).unwrap_or(0);
        assert_eq!(remembered, 1);
    }
}
