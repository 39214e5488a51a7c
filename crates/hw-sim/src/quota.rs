//! `--rate-limit N`: the account's quota of API requests per minute, enforced as the service's
//! gateway does: a token bucket refilled at N per minute that holds a burst; a signed-in request
//! past it gets 429 with `Retry-After` (whole seconds, rounded up) and `x-ms-retry-after-ms`,
//! and is counted. The simulator is one account: all its clients share the bucket. This is the
//! bucket; `api/quota.rs` answers the requests it refuses.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The bucket, and what it let through and refused.
#[derive(Debug)]
pub struct Quota {
    per_second: f64,
    burst: f64,
    bucket: Mutex<(f64, Instant)>,
    admitted: AtomicU64,
    throttled: AtomicU64,
}

impl Quota {
    /// `per_minute` requests a minute, at most `burst` at once (default: one second's worth,
    /// at least 1).
    pub fn new(per_minute: u32, burst: Option<u32>) -> Self {
        let per_second = f64::from(per_minute.max(1)) / 60.0;
        let burst = burst.map_or(per_second.ceil(), f64::from).max(1.0);
        Self {
            per_second,
            burst,
            bucket: Mutex::new((burst, Instant::now())),
            admitted: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    /// Takes a token, or says how long until there is one.
    pub(crate) fn take(&self) -> Result<(), Duration> {
        let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, updated) = *bucket;
        let tokens =
            (tokens + now.duration_since(updated).as_secs_f64() * self.per_second).min(self.burst);
        if tokens >= 1.0 {
            *bucket = (tokens - 1.0, now);
            self.admitted.fetch_add(1, Ordering::Relaxed);
            Ok(())
        } else {
            *bucket = (tokens, now);
            self.throttled.fetch_add(1, Ordering::Relaxed);
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second))
        }
    }

    /// Requests let through so far.
    pub fn admitted(&self) -> u64 {
        self.admitted.load(Ordering::Relaxed)
    }

    /// Requests refused with 429 so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let quota = Quota::new(600, Some(3));
        for _ in 0..3 {
            assert!(quota.take().is_ok());
        }
        let wait = quota.take().unwrap_err();
        assert!(
            wait <= Duration::from_millis(100) && wait > Duration::from_millis(50),
            "{wait:?}"
        );
        std::thread::sleep(Duration::from_millis(120));
        assert!(quota.take().is_ok());
        assert_eq!((quota.admitted(), quota.throttled()), (4, 1));
    }
}
