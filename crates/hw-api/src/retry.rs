//! When to try a request again, and how long to wait first.
//!
//! Hand-written rather than taken from reqwest-retry (which ignores `Retry-After` and would resend
//! a create) or backon (whose delay cannot come from the response without the same code): the
//! policy here is a few pure functions, and which failures may be retried is decided by the caller
//! from the operation's idempotency (`crate::call`).

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// How many times and how patiently to retry a request.
///
/// Retries apply to 408, 429, 500, 502, 503 and 504 responses and to connect and timeout errors,
/// for idempotent operations; a create is retried only when it provably was not processed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    /// Up to 6 attempts, backoff from 500 ms doubling to 30 s with jitter, server waits of up to
    /// 2 minutes honoured, and no retry started after 5 minutes.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            deadline: Some(Duration::from_secs(300)),
        }
    }
}

impl RetryPolicy {
    /// No retries: every request is sent once.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The most attempts per request, the first included (1 turns retries off).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the first retry; it doubles with each further retry.
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest backoff between two attempts.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest wait a server may ask for (`Retry-After`); a longer request fails at once,
    /// with the server's wait in the error.
    pub fn with_max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// The time after the first attempt past which no retry starts (`None`: no limit).
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The most attempts per request.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How long to let a request whose outcome is unclear settle at the service before
    /// checking what it did: twice the first backoff.
    pub(crate) fn settle_delay(&self) -> Duration {
        self.initial_delay * 2
    }

    /// How long to wait before attempt `attempts + 1`, or `None` to give up: after `attempts`
    /// attempts, `elapsed` since the first, with the server's wait `server_wait` if it gave one.
    pub fn delay_before_retry(
        &self,
        attempts: u32,
        elapsed: Duration,
        server_wait: Option<Duration>,
    ) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let delay = match server_wait {
            Some(wait) if wait > self.max_retry_after => return None,
            // Never less than the backoff: `Retry-After: 0` must not burn every attempt at once.
            Some(wait) => wait.max(self.backoff(attempts)),
            None => self.backoff(attempts),
        };
        match self.deadline {
            Some(deadline) if elapsed + delay > deadline => None,
            _ => Some(delay),
        }
    }

    /// Exponential backoff with jitter: a random wait between half and all of
    /// `initial × 2^(retry − 1)`, capped at the maximum delay.
    fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
        let base = self
            .initial_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let half = base / 2;
        let jitter_ms = fastrand::u64(0..=half.as_millis().min(u64::MAX as u128) as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// Statuses worth another attempt (when the request may be repeated).
pub(crate) fn is_transient(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// The wait a response asks for: `x-ms-retry-after-ms` or `retry-after-ms` (milliseconds), then
/// `Retry-After` (seconds or an HTTP date, measured from `now`).
pub fn server_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    for name in ["x-ms-retry-after-ms", "retry-after-ms"] {
        if let Some(ms) = text(name).and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn server_waits_in_every_form() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_wait(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            server_wait(
                &headers(&[("retry-after-ms", "250"), ("retry-after", "7")]),
                now
            ),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            server_wait(
                &headers(&[("x-ms-retry-after-ms", "40"), ("retry-after-ms", "250")]),
                now
            ),
            Some(Duration::from_millis(40))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            server_wait(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(90))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(
            server_wait(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
        assert_eq!(server_wait(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(server_wait(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_stops_at_the_limits() {
        let p = RetryPolicy::default()
            .with_initial_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(800))
            .with_max_attempts(10)
            .with_deadline(None);
        for (retry, base) in [(1, 100), (2, 200), (3, 400), (4, 800), (9, 800)] {
            let d = p.delay_before_retry(retry, Duration::ZERO, None).unwrap();
            assert!(
                d >= Duration::from_millis(base / 2) && d <= Duration::from_millis(base),
                "{retry}: {d:?}"
            );
        }
        assert_eq!(p.delay_before_retry(10, Duration::ZERO, None), None);
        assert_eq!(
            RetryPolicy::none().delay_before_retry(1, Duration::ZERO, None),
            None
        );
    }

    #[test]
    fn server_waits_win_unless_too_long_or_past_the_deadline() {
        let p = RetryPolicy::default()
            .with_max_retry_after(Duration::from_secs(10))
            .with_deadline(Some(Duration::from_secs(20)));
        let wait = Some(Duration::from_secs(3));
        assert_eq!(p.delay_before_retry(1, Duration::ZERO, wait), wait);
        assert_eq!(
            p.delay_before_retry(1, Duration::ZERO, Some(Duration::from_secs(11))),
            None
        );
        assert_eq!(p.delay_before_retry(1, Duration::from_secs(18), wait), None);
    }
}
