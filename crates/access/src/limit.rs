//! Failure rate limiting: a token bucket per client IP and per (authenticated) account. Each refusal takes a
//! token; a bucket refills at `count` tokens per window (a minute by default) up to `count`; while a bucket is empty, requests
//! from that IP or account are answered 429 with `Retry-After` before any work is done. Only accounts whose
//! signature verified are charged, so nobody can lock out an account by sending forged requests in its name.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::bounded::BoundedMap;

/// Default bound on buckets held (clients with refusals not yet refilled).
pub const DEFAULT_MAX_BUCKETS: usize = 100_000;

/// Token buckets of failures. At most `cap` buckets are held ([`BoundedMap`]); a bucket expires when it is
/// full again (it then says nothing a new one would not), and when the table is full of live buckets the ones
/// closest to full go first.
#[derive(Debug)]
pub struct FailureLimiter {
    capacity: f64,
    refill_per_sec: f64,
    start: Instant,
    buckets: Mutex<BoundedMap<String, (f64, Instant)>>,
}

impl FailureLimiter {
    /// Allows `per_minute` failures a minute per key (bursts up to `per_minute`).
    pub fn new(per_minute: u32) -> Self {
        Self::with_window(per_minute, Duration::from_secs(60))
    }

    /// Allows `count` failures per `window` per key (bursts up to `count`).
    pub fn with_window(count: u32, window: Duration) -> Self {
        Self::bounded(count, window, DEFAULT_MAX_BUCKETS)
    }

    /// [`FailureLimiter::with_window`], holding at most `cap` buckets.
    pub fn bounded(count: u32, window: Duration, cap: usize) -> Self {
        let capacity = f64::from(count.max(1));
        Self {
            capacity,
            refill_per_sec: capacity / window.as_secs_f64().max(1.0),
            start: Instant::now(),
            buckets: Mutex::new(BoundedMap::new(cap)),
        }
    }

    fn millis(&self, at: Instant) -> u64 {
        at.duration_since(self.start).as_millis() as u64
    }

    fn level(&self, map: &BoundedMap<String, (f64, Instant)>, key: &String, now: Instant) -> f64 {
        let (tokens, at) = map
            .get(key, self.millis(now))
            .copied()
            .unwrap_or((self.capacity, now));
        (tokens + now.duration_since(at).as_secs_f64() * self.refill_per_sec).min(self.capacity)
    }

    /// `Err(seconds)` if any of `keys` has no failures left: how long until one is.
    pub fn check(&self, keys: &[String]) -> Result<(), u64> {
        let now = Instant::now();
        let map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait: f64 = 0.0;
        for key in keys {
            let level = self.level(&map, key, now);
            if level < 1.0 {
                wait = wait.max((1.0 - level) / self.refill_per_sec);
            }
        }
        if wait > 0.0 {
            Err(wait.ceil().max(1.0) as u64)
        } else {
            Ok(())
        }
    }

    /// Charges one failure to each of `keys`.
    pub fn fail(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            let level = (self.level(&map, key, now) - 1.0).max(0.0);
            // Full again after this long: then the bucket can go.
            let refill = Duration::from_secs_f64((self.capacity - level) / self.refill_per_sec);
            let expires = self.millis(now + refill) + 1;
            map.insert(key.clone(), expires, (level, now), self.millis(now));
        }
    }

    /// How many buckets are held.
    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_empties_after_its_capacity_and_names_a_wait() {
        let limiter = FailureLimiter::new(3);
        let keys = vec!["ip:1".to_owned()];
        for _ in 0..3 {
            assert!(limiter.check(&keys).is_ok());
            limiter.fail(&keys);
        }
        let wait = limiter.check(&keys).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(limiter.check(&["ip:2".to_owned()]).is_ok());
    }

    // Regression: buckets were pruned only past 10,000 entries and only of full ones, so a million clients
    // each failing once grew the table without bound.
    #[test]
    fn regression_a_million_clients_stay_within_the_bound_and_a_new_one_is_served() {
        let limiter = FailureLimiter::bounded(3, Duration::from_secs(3600), 10_000);
        let victim = vec!["ip:victim".to_owned()];
        for i in 0..1_000_000u32 {
            limiter.fail(&[format!("ip:{i}")]);
        }
        assert!(limiter.len() <= 10_000, "{}", limiter.len());
        // A client that never failed is let in; one that just used up its failures is still held to its limit.
        assert!(limiter.check(&victim).is_ok());
        let attacker = vec!["ip:attacker".to_owned()];
        for _ in 0..3 {
            limiter.fail(&attacker);
        }
        assert!(limiter.check(&attacker).is_err());
    }
}
