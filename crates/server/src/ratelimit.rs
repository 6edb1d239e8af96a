//! Keyed rate limits (token buckets) for the abuse-prone doors: login, public intake, Open311.
//!
//! In memory and per process on purpose: the limits protect this server's CPU (argon2 is slow by
//! design) and its intake queue; a restart forgetting them is harmless. Keys are strings chosen by
//! the caller ("login:ip:1.2.3.4", "open311:key:…"), so one limiter serves several doors.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A rate: `burst` requests at once, refilled at `per_minute` per minute.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn new(per_minute: u32, burst: u32) -> Rate {
        Rate { per_minute, burst }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One limiter holds the buckets of many keys; each `check` names the rate to apply.
#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// How long the caller must wait before the next request is allowed (the `Retry-After` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// Buckets idle this long are full again and can be forgotten.
const PRUNE_AFTER: Duration = Duration::from_secs(3600);
/// Prune when the map grows past this many keys, so a flood of addresses cannot grow it without bound.
const PRUNE_AT: usize = 100_000;

impl Limiter {
    pub fn new() -> Limiter {
        Limiter::default()
    }

    /// Takes one token from `key`'s bucket, or says how many seconds until one is available.
    /// A rate with `per_minute == 0` disables the limit.
    pub fn check(&self, key: &str, rate: Rate) -> Result<(), RetryAfter> {
        self.check_at(key, rate, Instant::now())
    }

    fn check_at(&self, key: &str, rate: Rate, now: Instant) -> Result<(), RetryAfter> {
        if rate.per_minute == 0 {
            return Ok(());
        }
        let burst = f64::from(rate.burst.max(1));
        let per_sec = f64::from(rate.per_minute) / 60.0;
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PRUNE_AT {
            map.retain(|_, b| now.duration_since(b.at) < PRUNE_AFTER);
        }
        let b = map.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_sec).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - b.tokens) / per_sec).ceil().max(1.0);
            Err(RetryAfter(wait as u64))
        }
    }

    /// Forgets `key` (a successful login clears its failures' bucket, for instance).
    pub fn reset(&self, key: &str) {
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let l = Limiter::new();
        let r = Rate::new(60, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at("k", r, t0).is_ok());
        }
        assert_eq!(l.check_at("k", r, t0), Err(RetryAfter(1)));
        // Another key has its own bucket.
        assert!(l.check_at("other", r, t0).is_ok());
        // One token per second comes back.
        assert!(l.check_at("k", r, t0 + Duration::from_millis(1000)).is_ok());
        assert!(
            l.check_at("k", r, t0 + Duration::from_millis(1000))
                .is_err()
        );
    }

    #[test]
    fn slow_rates_wait_longer_and_zero_disables() {
        let l = Limiter::new();
        let r = Rate::new(2, 1);
        let t0 = Instant::now();
        assert!(l.check_at("k", r, t0).is_ok());
        assert_eq!(l.check_at("k", r, t0), Err(RetryAfter(30)));
        for _ in 0..1000 {
            assert!(l.check_at("k", Rate::new(0, 0), t0).is_ok());
        }
        l.reset("k");
        assert!(l.check_at("k", r, t0).is_ok());
    }
}
