//! When to try a request again, and how long to wait first: the one retry engine of the
//! client, used by API calls, blob operations and the token endpoint alike.
//!
//! - [`RetryPolicy`]: how many attempts, what backoff, how long a server's wait is honoured.
//! - [`decide`]: the decision table, the one definition of which failures are worth another
//!   attempt, for each kind of traffic ([`Traffic`]) and whether the request may be repeated.
//! - [`run`]: the loop, parameterized by what each attempt's outcome was.
//!
//! Hand-written rather than taken from reqwest-retry (which ignores `Retry-After` and would resend
//! a create) or backon (whose delay cannot come from the response without the same code): the
//! policy is a few pure functions and the loop is twenty lines.

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use crate::net::Traffic;

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

    /// The longest wait a server may ask for that is honoured.
    pub(crate) fn max_retry_after(&self) -> Duration {
        self.max_retry_after
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

/// Statuses worth another attempt: 408, 429, 500, 502, 503 and 504 (the Azure SDKs' set;
/// `docs/service-notes.md`, "Retries"). Other 5xx (501, 505) say that a retry will not help.
pub(crate) fn is_transient(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// What became of a request, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failed {
    /// The peer answered with this error status.
    Status(u16),
    /// No connection was made: nothing was sent.
    NotConnected,
    /// The request was sent (or may have been) and no complete answer came: a timeout, a broken
    /// connection, a body cut short.
    NoAnswer,
    /// The request could not be built or was refused before it reached the service (a
    /// redirect not followed, an untrusted server certificate, a proxy that refuses or cannot
    /// be reached): configuration must change first.
    NotSent,
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Try again after the backoff (or the server's wait).
    Retry,
    /// The credentials were refused (401): try once more with fresh ones, where there are any.
    Reauthenticate,
    /// The request may have been processed and must not be repeated blindly.
    Ambiguous,
    /// Another attempt would fail the same way.
    Final,
}

/// The decision table: what follows a failed attempt of a request of `traffic` that failed as
/// `failed`, given whether the request may be repeated (`idempotent`). Every kind of traffic
/// goes through this one function; its tests go through every row.
///
/// | failure | API | blob, issuer, identity |
/// |---|---|---|
/// | 401 | [`Verdict::Reauthenticate`] | [`Verdict::Final`] (a SAS or a credential refused: no fresh token helps) |
/// | 429, or no connection made | [`Verdict::Retry`] (nothing was processed, even of a create) | [`Verdict::Retry`] |
/// | 408, 500, 502, 503, 504, or no complete answer | [`Verdict::Retry`], or [`Verdict::Ambiguous`] when not idempotent | the same |
/// | any other status, or not sent | [`Verdict::Final`] | [`Verdict::Final`] |
pub(crate) fn decide(traffic: Traffic, failed: Failed, idempotent: bool) -> Verdict {
    let repeat = if idempotent {
        Verdict::Retry
    } else {
        Verdict::Ambiguous
    };
    match failed {
        Failed::Status(401) if traffic == Traffic::Api => Verdict::Reauthenticate,
        Failed::Status(429) | Failed::NotConnected => Verdict::Retry,
        Failed::Status(status) if is_transient(status) => repeat,
        Failed::NoAnswer => repeat,
        Failed::Status(_) | Failed::NotSent => Verdict::Final,
    }
}

/// The attempt that `verdict` leads to where there is no token to renew and no create to settle
/// (blob and issuer traffic): another one after `wait` (or the backoff), or the end with
/// `error`.
pub(crate) fn after<T, E>(verdict: Verdict, error: E, wait: Option<Duration>) -> Attempt<T, E> {
    match verdict {
        Verdict::Retry => Attempt::retry(error, wait),
        Verdict::Reauthenticate | Verdict::Ambiguous | Verdict::Final => Attempt::Done(Err(error)),
    }
}

/// What a reqwest error says of whether the request was sent.
pub(crate) fn failed_send(error: &reqwest::Error) -> Failed {
    if error.is_builder() || error.is_redirect() {
        Failed::NotSent
    } else if error.is_connect() {
        Failed::NotConnected
    } else {
        Failed::NoAnswer
    }
}

/// How one attempt ended, for [`run`].
pub(crate) enum Attempt<T, E> {
    /// Finished: a success, or a failure another attempt would not fix.
    Done(Result<T, E>),
    /// Failed in a way another attempt may fix, after the backoff or `server_wait`.
    /// `progressed` says it moved the work forward (a download that got bytes), which earns a
    /// fresh budget of attempts.
    Retry {
        error: E,
        server_wait: Option<Duration>,
        progressed: bool,
    },
    /// Failed in a way the next attempt fixes at once (a refreshed token); not counted against
    /// the policy. The attempt itself must make sure this happens only once.
    Again,
}

impl<T, E> Attempt<T, E> {
    /// A failure to retry after the backoff or the server's wait.
    pub(crate) fn retry(error: E, server_wait: Option<Duration>) -> Self {
        Attempt::Retry {
            error,
            server_wait,
            progressed: false,
        }
    }
}

/// Runs `attempt` (given the attempt's number, from 1) until it is done or `policy` gives up,
/// sleeping between attempts; returns the last error when it gives up. `what` names the request
/// in traces.
pub(crate) async fn run<T, E, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    mut attempt: F,
) -> Result<T, E>
where
    E: std::error::Error,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt<T, E>>,
{
    let mut started = tokio::time::Instant::now();
    let mut made = 0u32;
    let mut counted = 0u32;
    loop {
        made += 1;
        counted += 1;
        match attempt(made).await {
            Attempt::Done(result) => return result,
            Attempt::Again => counted -= 1,
            Attempt::Retry {
                error,
                server_wait,
                progressed,
            } => {
                if progressed {
                    counted = 1;
                    started = tokio::time::Instant::now();
                }
                let Some(delay) =
                    policy.delay_before_retry(counted, started.elapsed(), server_wait)
                else {
                    return Err(error);
                };
                tracing::debug!(
                    what,
                    retry.attempt = made,
                    retry.delay_ms = delay.as_millis() as u64,
                    error = %crate::report::chain(&error),
                    "retrying"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// The wait a response asks for: `x-ms-retry-after-ms` or `retry-after-ms` (milliseconds), then
/// `Retry-After` (seconds or an HTTP date, measured from `now`).
pub(crate) fn server_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
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

    /// A failure of a test attempt.
    #[derive(Debug, PartialEq, thiserror::Error)]
    #[error("{0}")]
    struct Failure(String);

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    /// Every row of the decision table: each failure, for each kind of traffic, repeatable or
    /// not.
    #[test]
    fn the_decision_table_row_by_row() {
        use Verdict::*;
        // (failure, API repeatable, API create, other traffic repeatable, other traffic create)
        let rows = [
            (
                Failed::Status(401),
                Reauthenticate,
                Reauthenticate,
                Final,
                Final,
            ),
            (Failed::Status(429), Retry, Retry, Retry, Retry),
            (Failed::NotConnected, Retry, Retry, Retry, Retry),
            (Failed::Status(408), Retry, Ambiguous, Retry, Ambiguous),
            (Failed::Status(500), Retry, Ambiguous, Retry, Ambiguous),
            (Failed::Status(502), Retry, Ambiguous, Retry, Ambiguous),
            (Failed::Status(503), Retry, Ambiguous, Retry, Ambiguous),
            (Failed::Status(504), Retry, Ambiguous, Retry, Ambiguous),
            (Failed::NoAnswer, Retry, Ambiguous, Retry, Ambiguous),
            (Failed::Status(400), Final, Final, Final, Final),
            (Failed::Status(403), Final, Final, Final, Final),
            (Failed::Status(404), Final, Final, Final, Final),
            (Failed::Status(409), Final, Final, Final, Final),
            (Failed::Status(412), Final, Final, Final, Final),
            (Failed::Status(501), Final, Final, Final, Final),
            (Failed::Status(505), Final, Final, Final, Final),
            (Failed::NotSent, Final, Final, Final, Final),
        ];
        for (failed, api, api_create, other, other_create) in rows {
            for traffic in Traffic::ALL {
                let (repeatable, create) = match traffic {
                    Traffic::Api => (api, api_create),
                    _ => (other, other_create),
                };
                assert_eq!(
                    decide(traffic, failed, true),
                    repeatable,
                    "{traffic:?} {failed:?}"
                );
                assert_eq!(
                    decide(traffic, failed, false),
                    create,
                    "{traffic:?} {failed:?} create"
                );
            }
        }
    }

    /// Only a retry verdict leads to another attempt where nothing can be renewed or settled.
    #[test]
    fn a_verdict_without_a_token_or_a_create_retries_only_when_it_says_so() {
        let wait = Some(Duration::from_secs(3));
        match after::<(), _>(Verdict::Retry, Failure("x".into()), wait) {
            Attempt::Retry {
                error,
                server_wait,
                progressed,
            } => {
                assert_eq!(error, Failure("x".into()));
                assert_eq!(server_wait, wait);
                assert!(!progressed);
            }
            _ => panic!("a retry verdict must retry"),
        }
        for verdict in [Verdict::Reauthenticate, Verdict::Ambiguous, Verdict::Final] {
            match after::<(), _>(verdict, Failure("x".into()), wait) {
                Attempt::Done(Err(error)) => assert_eq!(error, Failure("x".into())),
                _ => panic!("{verdict:?} must end the request"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_engine_retries_until_done_and_counts_attempts() {
        let policy = RetryPolicy::default().with_max_attempts(5);
        let mut seen = Vec::new();
        let result: Result<u32, Failure> = run(&policy, "test", |n| {
            seen.push(n);
            async move {
                if n < 3 {
                    Attempt::retry(Failure(format!("failure {n}")), None)
                } else {
                    Attempt::Done(Ok(n))
                }
            }
        })
        .await;
        assert_eq!(result, Ok(3));
        assert_eq!(seen, [1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_engine_gives_up_with_the_last_error() {
        let policy = RetryPolicy::default().with_max_attempts(3);
        let result: Result<(), Failure> = run(&policy, "test", |n| async move {
            Attempt::retry(Failure(format!("failure {n}")), None)
        })
        .await;
        assert_eq!(result, Err(Failure("failure 3".into())));
    }

    #[tokio::test(start_paused = true)]
    async fn again_is_not_counted_and_progress_renews_the_budget() {
        let policy = RetryPolicy::default().with_max_attempts(2);
        // 1 fails, 2 is `Again` (free), 3 fails: two counted failures end it at 3.
        let result: Result<(), Failure> = run(&policy, "test", |n| async move {
            if n == 2 {
                Attempt::Again
            } else {
                Attempt::retry(Failure(format!("failure {n}")), None)
            }
        })
        .await;
        assert_eq!(result, Err(Failure("failure 3".into())));
        // Each attempt that progressed starts a fresh budget: six attempts with a budget of 2.
        let result: Result<u32, Failure> = run(&policy, "test", |n| async move {
            if n < 6 {
                Attempt::Retry {
                    error: Failure(format!("failure {n}")),
                    server_wait: None,
                    progressed: true,
                }
            } else {
                Attempt::Done(Ok(n))
            }
        })
        .await;
        assert_eq!(result, Ok(6));
    }

    #[tokio::test(start_paused = true)]
    async fn the_engine_waits_what_the_server_asks() {
        let policy = RetryPolicy::default().with_max_attempts(2);
        let started = tokio::time::Instant::now();
        let _: Result<(), Failure> = run(&policy, "test", |n| async move {
            Attempt::retry(
                Failure(format!("failure {n}")),
                Some(Duration::from_secs(7)),
            )
        })
        .await;
        assert_eq!(started.elapsed(), Duration::from_secs(7));
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
    fn the_policy_keeps_its_settings_and_settles_for_twice_the_first_backoff() {
        assert_eq!(RetryPolicy::default().max_attempts(), 6);
        assert_eq!(RetryPolicy::none().max_attempts(), 1);
        assert_eq!(
            RetryPolicy::default().with_max_attempts(4).max_attempts(),
            4
        );
        assert_eq!(
            RetryPolicy::default().with_max_attempts(0).max_attempts(),
            1
        );
        let p = RetryPolicy::default().with_initial_delay(Duration::from_millis(300));
        assert_eq!(p.settle_delay(), Duration::from_millis(600));
        let p = RetryPolicy::default().with_max_retry_after(Duration::from_secs(9));
        assert_eq!(p.max_retry_after(), Duration::from_secs(9));
    }

    #[test]
    fn a_server_wait_at_the_limit_and_a_retry_ending_at_the_deadline_are_honoured() {
        let p = RetryPolicy::default()
            .with_max_retry_after(Duration::from_secs(10))
            .with_deadline(Some(Duration::from_secs(20)));
        let limit = Some(Duration::from_secs(10));
        assert_eq!(p.delay_before_retry(1, Duration::ZERO, limit), limit);
        let wait = Some(Duration::from_secs(3));
        assert_eq!(p.delay_before_retry(1, Duration::from_secs(17), wait), wait);
    }

    #[tokio::test(start_paused = true)]
    async fn free_attempts_give_back_their_count() {
        // A budget of 3: 1 fails, 2 is free, 3 fails, 4 succeeds. Counting the free attempt
        // would give up at 3.
        let policy = RetryPolicy::default().with_max_attempts(3);
        let result: Result<u32, Failure> = run(&policy, "test", |n| async move {
            match n {
                2 => Attempt::Again,
                1 | 3 => Attempt::retry(Failure(format!("failure {n}")), None),
                _ => Attempt::Done(Ok(n)),
            }
        })
        .await;
        assert_eq!(result, Ok(4));
    }

    #[tokio::test]
    async fn a_send_failure_says_whether_anything_was_sent() {
        let client = reqwest::Client::new();
        // Not a URL: nothing was built, nothing sent.
        let unbuilt = client.get("no scheme").send().await.unwrap_err();
        assert_eq!(failed_send(&unbuilt), Failed::NotSent);
        // A port nobody listens on: no connection.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let refused = client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(failed_send(&refused), Failed::NotConnected);
        // A peer that takes the request and hangs up without an answer.
        let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = peer.local_addr().unwrap();
        let hang_up = std::thread::spawn(move || {
            let (mut stream, _) = peer.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = std::io::Read::read(&mut stream, &mut request);
        });
        let cut = client
            .get(format!("http://{address}/"))
            .send()
            .await
            .unwrap_err();
        hang_up.join().unwrap();
        assert_eq!(failed_send(&cut), Failed::NoAnswer);
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
