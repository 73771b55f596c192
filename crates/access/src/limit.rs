//! Failure rate limiting: a token bucket per client IP and per (authenticated) account. Each refusal takes a
//! token; a bucket refills at `count` tokens per window (a minute by default) up to `count`; while a bucket is empty, requests
//! from that IP or account are answered 429 with `Retry-After` before any work is done. Only accounts whose
//! signature verified are charged, so nobody can lock out an account by sending forged requests in its name.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Token buckets of failures.
#[derive(Debug)]
pub struct FailureLimiter {
    capacity: f64,
    refill_per_sec: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl FailureLimiter {
    /// Allows `per_minute` failures a minute per key (bursts up to `per_minute`).
    pub fn new(per_minute: u32) -> Self {
        Self::with_window(per_minute, Duration::from_secs(60))
    }

    /// Allows `count` failures per `window` per key (bursts up to `count`).
    pub fn with_window(count: u32, window: Duration) -> Self {
        let capacity = f64::from(count.max(1));
        Self {
            capacity,
            refill_per_sec: capacity / window.as_secs_f64().max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn level(&self, map: &mut HashMap<String, (f64, Instant)>, key: &str, now: Instant) -> f64 {
        let (tokens, at) = map.get(key).copied().unwrap_or((self.capacity, now));
        (tokens + now.duration_since(at).as_secs_f64() * self.refill_per_sec).min(self.capacity)
    }

    /// `Err(seconds)` if any of `keys` has no failures left: how long until one is.
    pub fn check(&self, keys: &[String]) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait: f64 = 0.0;
        for key in keys {
            let level = self.level(&mut map, key, now);
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
            let level = self.level(&mut map, key, now);
            map.insert(key.clone(), ((level - 1.0).max(0.0), now));
        }
        // Full buckets carry no information; drop them so the map does not grow without bound.
        if map.len() > 10_000 {
            let full = Duration::from_secs_f64(self.capacity / self.refill_per_sec);
            map.retain(|_, (_, at)| now.duration_since(*at) < full);
        }
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
}
