//! The client's shared, adaptive request rate: every API request waits for a token of one
//! bucket that the client's clones share, so that many flows on one client stay under the
//! account's quota together instead of each meeting it on its own.
//!
//! The rate adapts to the service, in the spirit of the AWS SDKs' adaptive retry mode (which
//! grows its rate with CUBIC; this one climbs back quickly, then probes linearly):
//!
//! - a 429 pauses every request for the `Retry-After` it gave, and lowers the rate to
//!   [`RateLimit::decrease`] times the lesser of the rate and the rate of the successes of the
//!   last second: a client whose requests got 4 answers a second before it was throttled
//!   learns that the quota is near 4, whatever its rate allowed (with no success in that
//!   second, the rate itself is lowered). One lowering per burst: a 429 to a request sent before
//!   the last lowering says nothing new. The pause is capped at the retry policy's longest
//!   honoured wait (`RetryPolicy::with_max_retry_after`), and requests already waiting for
//!   their turn wait it out too;
//! - each success raises it: quickly back towards the rate of the last 429 (half the gap per
//!   second), then slowly past it ([`RateLimit::increase`] requests per second every second),
//!   probing for more, up to [`RateLimit::ceiling`].
//!
//! Blob transfers are not paced: storage has limits of its own, far above the API's.
//!
//! The account's quota is per minute and unpublished, so the rate is learnt from the 429s
//! rather than configured (`docs/service-notes.md`, "Client-side rate limiting").
//!
//! Hand-written: the crates that pace requests (governor, tower's rate limit) have a fixed
//! rate; what is needed here is the rate itself changing with the service's answers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::net::{Next, Outgoing, Sent, Step};
use crate::retry::server_wait;

/// How a client paces its API requests. Start from [`RateLimit::default`] and change what you
/// need with the `with_*` methods; [`RateLimit::off`] sends every request at once.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Whether requests are paced at all.
    pub enabled: bool,
    /// The most requests per second, whatever the service allows; also the starting rate.
    pub ceiling: f64,
    /// The least requests per second a run of 429s brings the rate down to.
    pub floor: f64,
    /// How many requests may go at once after a quiet spell (never more than a second's worth
    /// at the current rate).
    pub burst: f64,
    /// What a 429 multiplies the rate by (between 0 and 1).
    pub decrease: f64,
    /// How many requests per second the rate gains for each second of sustained success, past
    /// the rate of the last 429.
    pub increase: f64,
}

impl Default for RateLimit {
    /// On, starting at 10,000 requests per second (so in practice unpaced until the service
    /// first throttles: a list of 100,000 products goes at full speed), bursts of 50, a 429
    /// taking the rate to 70% of what the service allowed, and a quarter of a request per second
    /// gained per second of success past the last 429's rate.
    fn default() -> Self {
        Self {
            enabled: true,
            ceiling: 10_000.0,
            floor: 0.1,
            burst: 50.0,
            decrease: 0.7,
            increase: 0.25,
        }
    }
}

impl RateLimit {
    /// No pacing: each request is sent as soon as it is made, and a 429 delays only its own
    /// retry.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// The most requests per second (at least the floor).
    pub fn with_ceiling(mut self, per_second: f64) -> Self {
        self.ceiling = per_second.max(self.floor);
        self
    }

    /// How many requests may go at once after a quiet spell (at least 1).
    pub fn with_burst(mut self, requests: f64) -> Self {
        self.burst = requests.max(1.0);
        self
    }

    /// The least requests per second after 429s (kept between 0.001 and the ceiling).
    pub fn with_floor(mut self, per_second: f64) -> Self {
        self.floor = per_second.clamp(MIN_RATE, self.ceiling.max(MIN_RATE));
        self
    }

    /// What a 429 multiplies the rate by (kept between 0.05 and 1).
    pub fn with_decrease(mut self, factor: f64) -> Self {
        self.decrease = factor.clamp(0.05, 1.0);
        self
    }

    /// How many requests per second the rate gains per second of success (at least 0).
    pub fn with_increase(mut self, per_second: f64) -> Self {
        self.increase = per_second.max(0.0);
        self
    }
}

/// The least rate the limiter runs at, whatever the options say (a request every 1,000 s).
const MIN_RATE: f64 = 0.001;
/// The most rate it runs at.
const MAX_RATE: f64 = 1_000_000.0;

/// `value` if it is a number, else `default`, kept between `low` and `high`.
fn sane(value: f64, default: f64, low: f64, high: f64) -> f64 {
    if value.is_finite() {
        value.clamp(low, high)
    } else {
        default
    }
}

/// A duration of `seconds`, capped at a day (a rate near the floor must not overflow).
fn seconds(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.clamp(0.0, 86_400.0)).unwrap_or(Duration::from_secs(86_400))
}

/// How far back successes are counted to measure the rate the service allows.
const MEASURED: Duration = Duration::from_secs(1);
/// The most successes counted (far above any quota per second).
const MAX_COUNTED: usize = 10_000;

/// The bucket a client's clones share.
#[derive(Debug)]
pub(crate) struct Limiter {
    options: RateLimit,
    /// The longest pause a 429 may impose on everyone (the retry policy's longest honoured
    /// wait: a request asked to wait longer fails, and must not stall the others).
    max_pause: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests per second now.
    rate: f64,
    /// Tokens in the bucket (negative: owed by requests already let through).
    tokens: f64,
    /// When `tokens` was last brought up to date; in the future during a pause (a
    /// `Retry-After`), so that the requests waiting then go at the rate from its end, not all
    /// at once.
    updated: Instant,
    /// How many times the rate was lowered: a 429 to a request sent before the last lowering
    /// says nothing new.
    generation: u64,
    /// The rate the last 429 came at, which success climbs back to quickly.
    last_max: Option<f64>,
    /// When the successes of the last second came.
    successes: std::collections::VecDeque<Instant>,
}

impl Limiter {
    /// A full bucket at the ceiling rate; a 429 pauses everyone for at most `max_pause`.
    pub(crate) fn new(options: RateLimit, max_pause: Duration) -> Self {
        // The fields are public: every one is checked here, whatever built it.
        let defaults = RateLimit::default();
        let floor = sane(options.floor, defaults.floor, MIN_RATE, MAX_RATE);
        let options = RateLimit {
            enabled: options.enabled,
            floor,
            ceiling: sane(options.ceiling, defaults.ceiling, floor, MAX_RATE),
            burst: sane(options.burst, defaults.burst, 1.0, MAX_RATE),
            decrease: sane(options.decrease, defaults.decrease, 0.05, 1.0),
            increase: sane(options.increase, defaults.increase, 0.0, MAX_RATE),
        };
        let state = State {
            rate: options.ceiling,
            tokens: options.burst.min(options.ceiling.max(1.0)),
            updated: Instant::now(),
            generation: 0,
            last_max: None,
            successes: std::collections::VecDeque::new(),
        };
        Self {
            options,
            max_pause,
            state: Mutex::new(state),
        }
    }

    /// Whether requests are paced.
    pub(crate) fn enabled(&self) -> bool {
        self.options.enabled
    }

    /// The rate now, in requests per second.
    pub(crate) fn rate(&self) -> f64 {
        self.state().rate
    }

    /// Waits until a request may be sent, and takes its token; returns the rate's generation
    /// when it went, for [`Limiter::throttled`].
    pub(crate) async fn acquire(&self) -> u64 {
        if !self.options.enabled {
            return 0;
        }
        let wait = {
            let mut state = self.state();
            let now = Instant::now();
            state.refill(now, self.options.burst);
            // The token is taken now, so that waiters leave in the order they came.
            state.tokens -= 1.0;
            let for_pause = state.updated.saturating_duration_since(now);
            let for_token = seconds((-state.tokens).max(0.0) / state.rate);
            for_pause + for_token
        };
        if !wait.is_zero() {
            tracing::trace!(
                wait_ms = wait.as_millis() as u64,
                "hw_api.rate_limit: waiting for the shared rate"
            );
            tokio::time::sleep(wait).await;
        }
        // A pause that began while this request waited for its turn is waited out too.
        loop {
            let (pause, generation) = {
                let state = self.state();
                (
                    state.updated.saturating_duration_since(Instant::now()),
                    state.generation,
                )
            };
            if pause.is_zero() {
                return generation;
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// A request sent at rate generation `sent` was throttled (429), with the service's wait
    /// if it gave one: every request waits that long (at most `max_pause`), and the rate is
    /// lowered unless it already was since that request went.
    pub(crate) fn throttled(&self, server_wait: Option<Duration>, sent: u64) {
        if !self.options.enabled {
            return;
        }
        let mut state = self.state();
        let now = Instant::now();
        state.refill(now, self.options.burst);
        let interval = seconds(1.0 / state.rate);
        let pause = server_wait.unwrap_or(interval).min(self.max_pause);
        if let Some(until) = now.checked_add(pause) {
            state.updated = state.updated.max(until);
        }
        if sent == state.generation {
            let base = state
                .success_rate(now)
                .map_or(state.rate, |measured| state.rate.min(measured));
            state.last_max = Some(base);
            state.rate = (base * self.options.decrease).max(self.options.floor);
            state.generation += 1;
            // What was let through at the old rate is owed at the new one.
            state.tokens = state.tokens.min(0.0);
            tracing::info!(
                rate = state.rate,
                pause_ms = pause.as_millis() as u64,
                "hw_api.rate_limit: throttled by the service; lowering the shared rate"
            );
        }
    }

    /// A request succeeded: the rate gains a share of a second's gain (a second of success at
    /// rate r is r successes): half the gap to the last 429's rate, or `increase` past it.
    pub(crate) fn succeeded(&self) {
        if !self.options.enabled {
            return;
        }
        let mut state = self.state();
        state.count_success(Instant::now());
        if state.rate < self.options.ceiling {
            let per_second = match state.last_max {
                Some(max) if state.rate < 0.95 * max => 0.5 * (max - state.rate),
                _ => self.options.increase,
            };
            state.rate = (state.rate + per_second / state.rate).min(self.options.ceiling);
            tracing::trace!(
                rate = state.rate,
                "hw_api.rate_limit: raising the shared rate"
            );
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// Notes a success now, forgetting those more than a second old.
    fn count_success(&mut self, now: Instant) {
        while self
            .successes
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > MEASURED)
        {
            self.successes.pop_front();
        }
        if self.successes.len() < MAX_COUNTED {
            self.successes.push_back(now);
        }
    }

    /// The successes per second of the last second, if there were any (counted over a whole
    /// second, so that a first burst does not read as a high rate).
    fn success_rate(&mut self, now: Instant) -> Option<f64> {
        self.count_success(now);
        self.successes.pop_back();
        let first = *self.successes.front()?;
        let span = now.saturating_duration_since(first).max(MEASURED);
        Some(self.successes.len() as f64 / span.as_secs_f64())
    }

    /// Adds the tokens earned since the last update, up to `burst` and a second's worth at the
    /// current rate (none during a pause).
    fn refill(&mut self, now: Instant, burst: f64) {
        if now > self.updated {
            let elapsed = (now - self.updated).as_secs_f64();
            let most = burst.min(self.rate.max(1.0));
            self.tokens = (self.tokens + elapsed * self.rate).min(most);
            self.updated = now;
        }
    }
}

/// Pacing as a step of the API's pipeline: each attempt waits for the shared rate, and its
/// answer adapts it (a 429 lowers it and pauses everyone, a success raises it). It runs inside
/// the attempt's span, where it records the rate.
pub(crate) struct Pace(pub(crate) Arc<Limiter>);

impl<E: Send + 'static> Step<E> for Pace {
    fn send<'a>(&'a self, out: Outgoing, next: Next<'a, E>) -> Sent<'a, E> {
        Box::pin(async move {
            // Paced before the token is taken (the next step), so that a long pause does not
            // send a stale one.
            let generation = self.0.acquire().await;
            if self.0.enabled() {
                tracing::Span::current().record("rate_limit.per_second", self.0.rate());
            }
            let answer = next.send(out).await;
            if let Ok(response) = &answer {
                match response.status().as_u16() {
                    200..=299 => self.0.succeeded(),
                    429 => {
                        let wait = server_wait(response.headers(), SystemTime::now());
                        self.0.throttled(wait, generation);
                    }
                    _ => {}
                }
            }
            answer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest pause the tests' limiters allow.
    const PAUSE: Duration = Duration::from_secs(120);

    fn limiter(options: RateLimit) -> Limiter {
        Limiter::new(options, PAUSE)
    }

    /// Acquires `n` tokens one after another; returns when each was granted, from the start.
    async fn grant_times(limiter: &Limiter, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..n {
            limiter.acquire().await;
            times.push(start.elapsed());
        }
        times
    }

    #[tokio::test(start_paused = true)]
    async fn requests_go_at_the_rate_after_a_burst() {
        let limiter = limiter(RateLimit::default().with_ceiling(10.0).with_burst(3.0));
        let times = grant_times(&limiter, 8).await;
        // Three at once, then one every 100 ms.
        assert!(times[..3].iter().all(|t| t.is_zero()), "{times:?}");
        for (i, t) in times[3..].iter().enumerate() {
            let expected = Duration::from_millis(100 * (i as u64 + 1));
            assert!(t.abs_diff(expected) < Duration::from_millis(2), "{times:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_lowers_the_rate_once_per_generation_and_pauses_everyone() {
        let limiter = limiter(RateLimit::default().with_ceiling(10.0).with_burst(1.0));
        let sent = limiter.acquire().await;
        limiter.throttled(Some(Duration::from_secs(2)), sent);
        // The 429s of requests sent before the lowering do not lower it again.
        limiter.throttled(Some(Duration::from_secs(2)), sent);
        limiter.throttled(None, sent);
        assert!((limiter.rate() - 7.0).abs() < 1e-9, "{}", limiter.rate());
        let start = Instant::now();
        let sent = limiter.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        // A 429 to a request sent after the lowering is news: lowered again.
        tokio::time::advance(Duration::from_secs(3)).await;
        limiter.throttled(None, sent);
        assert!((limiter.rate() - 4.9).abs() < 1e-9, "{}", limiter.rate());
        // With successes in the last second, from the rate they came at (3 in the last
        // second), not the 4.9 per second that was allowed.
        tokio::time::advance(Duration::from_secs(3)).await;
        let sent = limiter.acquire().await;
        for _ in 0..3 {
            limiter.succeeded();
            tokio::time::advance(Duration::from_millis(300)).await;
        }
        limiter.throttled(None, sent);
        assert!(
            (limiter.rate() - 0.7 * 3.0).abs() < 0.01,
            "{}",
            limiter.rate()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn requests_waiting_out_a_pause_go_at_the_rate_from_its_end() {
        let limiter = limiter(RateLimit::default().with_ceiling(10.0).with_burst(1.0));
        let sent = limiter.acquire().await;
        limiter.throttled(Some(Duration::from_secs(1)), sent);
        let times = grant_times(&limiter, 4).await;
        // The rate is 7 per second after the 429: one every 1/7 s from the pause's end.
        for (i, t) in times.iter().enumerate() {
            let expected = Duration::from_secs(1) + Duration::from_secs_f64((i + 1) as f64 / 7.0);
            assert!(t.abs_diff(expected) < Duration::from_millis(2), "{times:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_that_begins_while_requests_wait_their_turn_holds_them_too() {
        let limiter = std::sync::Arc::new(limiter(
            RateLimit::default().with_ceiling(10.0).with_burst(1.0),
        ));
        let sent = limiter.acquire().await;
        // Two requests queue for their turns (100 and 200 ms away)...
        let start = Instant::now();
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    limiter.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // ...when a 429 asks everyone to wait a second.
        limiter.throttled(Some(Duration::from_secs(1)), sent);
        for task in waiting {
            let went = task.await.unwrap();
            assert!(
                went - start >= Duration::from_millis(1050),
                "{:?}",
                went - start
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_pauses_no_longer_than_the_retry_policy_honours() {
        let limiter = Limiter::new(RateLimit::default(), Duration::from_secs(120));
        let sent = limiter.acquire().await;
        limiter.throttled(Some(Duration::from_secs(u64::MAX)), sent);
        let start = Instant::now();
        limiter.acquire().await;
        assert!(
            start.elapsed() <= Duration::from_secs(121),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn options_out_of_range_are_made_sane() {
        let wild = RateLimit {
            enabled: true,
            ceiling: f64::INFINITY,
            floor: 1e-300,
            burst: f64::NAN,
            decrease: 7.0,
            increase: -3.0,
        };
        let limiter = limiter(wild);
        let sent = limiter.acquire().await;
        limiter.throttled(None, sent);
        let rate = limiter.rate();
        assert!(rate.is_finite() && rate > 0.0, "{rate}");
        limiter.succeeded();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert!(limiter.rate() > 0.0);
    }

    #[tokio::test(start_paused = true)]
    async fn sustained_success_climbs_back_then_probes_additively_up_to_the_ceiling() {
        let limiter = limiter(
            RateLimit::default()
                .with_ceiling(10.0)
                .with_decrease(0.5)
                .with_increase(1.0),
        );
        limiter.throttled(None, 0);
        assert!((limiter.rate() - 5.0).abs() < 1e-9);
        // A second of successes (5 at 5 per second) closes a good part of the gap to 10.
        for _ in 0..5 {
            limiter.succeeded();
        }
        assert!((6.5..7.5).contains(&limiter.rate()), "{}", limiter.rate());
        for _ in 0..1000 {
            limiter.succeeded();
        }
        assert_eq!(limiter.rate(), 10.0);
        // Past the last 429's rate, the gain is `increase` per second: slow probing.
        let probing = limiter_probing();
        for _ in 0..10_000 {
            probing.succeeded();
        }
        let after = probing.rate();
        for _ in 0..100 {
            probing.succeeded();
        }
        // 100 successes at about `after` per second: 100 / after seconds, +1 per second.
        let gained = probing.rate() - after;
        assert!((gained - 100.0 / after).abs() < 0.05, "{after} {gained}");
    }

    fn limiter_probing() -> Limiter {
        let probing = limiter(
            RateLimit::default()
                .with_ceiling(1000.0)
                .with_decrease(0.5)
                .with_increase(1.0),
        );
        probing.throttled(None, 0);
        probing
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_429s_stop_at_the_floor_and_off_never_waits() {
        let limiter = limiter(RateLimit::default().with_ceiling(1.0));
        for _ in 0..200 {
            tokio::time::advance(Duration::from_secs(60)).await;
            let sent = limiter.acquire().await;
            limiter.throttled(None, sent);
        }
        assert_eq!(limiter.rate(), RateLimit::default().floor);
        let off = Limiter::new(RateLimit::off().with_ceiling(1.0).with_burst(1.0), PAUSE);
        off.throttled(Some(Duration::from_secs(60)), 0);
        let start = Instant::now();
        for _ in 0..100 {
            off.acquire().await;
        }
        assert!(start.elapsed().is_zero());
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_one_rate() {
        let limiter = std::sync::Arc::new(limiter(
            RateLimit::default().with_ceiling(20.0).with_burst(1.0),
        ));
        let start = Instant::now();
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire().await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // 40 requests at 20 per second, the first at once: 1.95 s.
        let took = start.elapsed();
        assert!(
            took.abs_diff(Duration::from_millis(1950)) < Duration::from_millis(5),
            "{took:?}"
        );
    }

    /// The pacing step: each request waits its turn; a 429 lowers the rate and pauses for the
    /// server's wait, a success raises it, any other answer leaves it alone.
    #[tokio::test(start_paused = true)]
    async fn the_pacing_step_waits_its_turn_and_learns_from_each_answer() {
        use crate::net::Pipeline;
        use crate::net::pipeline_tests::{Answer, get};

        let options = RateLimit::default().with_ceiling(10.0).with_burst(1.0);
        let through = |status: u16, limiter: &Arc<Limiter>| {
            let headers = if status == 429 {
                vec![("retry-after", "3")]
            } else {
                Vec::new()
            };
            let steps: Vec<Arc<dyn Step<String>>> = vec![Arc::new(Pace(limiter.clone()))];
            Pipeline::ending_with(steps, Answer::with_headers(status, headers))
        };
        let limiter = Arc::new(limiter(options.clone()));
        let start = Instant::now();
        through(429, &limiter)
            .send(get("http://127.0.0.1:9/a"))
            .await
            .unwrap();
        assert!(
            limiter.rate() < 10.0,
            "a 429 lowers the rate: {}",
            limiter.rate()
        );
        let lowered = limiter.rate();
        // The next request waits out the server's 3 s.
        through(500, &limiter)
            .send(get("http://127.0.0.1:9/a"))
            .await
            .unwrap();
        assert!(
            start.elapsed() >= Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(limiter.rate(), lowered, "a 500 says nothing of the rate");
        tokio::time::advance(Duration::from_secs(1)).await;
        through(200, &limiter)
            .send(get("http://127.0.0.1:9/a"))
            .await
            .unwrap();
        assert!(
            limiter.rate() > lowered,
            "a success raises it: {}",
            limiter.rate()
        );
        // A request that gets no answer says nothing either.
        let quiet = Arc::new(super::Limiter::new(options, PAUSE));
        let steps: Vec<Arc<dyn Step<String>>> = vec![Arc::new(Pace(quiet.clone()))];
        let failing = Pipeline::new(reqwest::Client::new(), steps);
        let before = quiet.rate();
        assert!(failing.send(get("http://127.0.0.1:9/a")).await.is_err());
        assert_eq!(quiet.rate(), before);
    }
}
