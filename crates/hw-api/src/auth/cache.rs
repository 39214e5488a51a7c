//! Reuse of access tokens: refresh ahead of expiry, one refresh at a time, callers with a
//! still-valid token never waiting for it, and a still-valid token kept in service when a
//! refresh fails.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::SecretString;
use tokio::time::Instant;

use super::{AccessToken, AuthError, TokenHttp, TokenProvider};

/// The most a token is refreshed ahead of its expiry (less for short-lived tokens: half their
/// lifetime).
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// After a failed refresh while the old token is still valid, the wait before trying again.
const FAILED_REFRESH_PAUSE: Duration = Duration::from_secs(30);

/// A token handed out by the cache, with the generation that identifies it for invalidation.
#[derive(Clone)]
pub(crate) struct Lease {
    pub(crate) secret: SecretString,
    pub(crate) generation: u64,
}

/// Caches the tokens of a provider.
pub(crate) struct TokenCache {
    provider: Arc<dyn TokenProvider>,
    /// Given to the provider's fetches: the client's HTTP settings and its trace, which learns
    /// each token to hide it.
    http: TokenHttp,
    state: Mutex<State>,
    /// Held while fetching: refreshes are single-flight.
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    generation: u64,
    refreshing: bool,
    pause_refresh_until: Option<Instant>,
}

struct Cached {
    secret: SecretString,
    refresh_at: Option<Instant>,
    expires_at: Option<Instant>,
}

impl Cached {
    fn new(token: AccessToken, requested_at: Instant) -> Self {
        let life = token.expires_in();
        let expires_at = life.and_then(|life| requested_at.checked_add(life));
        let refresh_after = match (token.refresh_in(), life) {
            (Some(refresh), Some(life)) if refresh < life => Some(refresh),
            (_, Some(life)) => Some(life - (life / 2).min(MAX_REFRESH_MARGIN)),
            _ => None,
        };
        Self {
            secret: token.secret().clone(),
            refresh_at: refresh_after.and_then(|after| requested_at.checked_add(after)),
            expires_at,
        }
    }

    fn usable(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }

    fn fresh(&self, now: Instant) -> bool {
        self.refresh_at.is_none_or(|at| now < at)
    }

    fn lease(&self, generation: u64) -> Lease {
        Lease {
            secret: self.secret.clone(),
            generation,
        }
    }
}

/// Marks a refresh in flight for as long as it lives: dropped when the fetch ends, and also when
/// the caller's future is dropped mid-fetch (a timeout), so that the mark never outlives the
/// refresh and early refresh keeps working.
struct Refreshing<'a>(&'a TokenCache);

impl<'a> Refreshing<'a> {
    fn start(cache: &'a TokenCache) -> Self {
        cache.state().refreshing = true;
        Self(cache)
    }
}

impl Drop for Refreshing<'_> {
    fn drop(&mut self) {
        self.0.state().refreshing = false;
    }
}

impl TokenCache {
    pub(crate) fn new(provider: Arc<dyn TokenProvider>, http: TokenHttp) -> Self {
        Self {
            provider,
            http,
            state: Mutex::new(State::default()),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached token if it may be used now without a refresh.
    fn cached(&self, while_refreshing: bool) -> Option<Lease> {
        let state = self.state();
        let now = Instant::now();
        let current = state.current.as_ref().filter(|c| c.usable(now))?;
        let paused = state.pause_refresh_until.is_some_and(|until| now < until);
        let someone_refreshes = while_refreshing && state.refreshing;
        (current.fresh(now) || paused || someone_refreshes).then(|| current.lease(state.generation))
    }

    /// A valid token: the cached one while fresh (or while another caller refreshes it), else a
    /// new one from the provider.
    pub(crate) async fn get(&self) -> Result<Lease, AuthError> {
        if let Some(lease) = self.cached(true) {
            return Ok(lease);
        }
        let _single_flight = self.refresh.lock().await;
        if let Some(lease) = self.cached(false) {
            return Ok(lease);
        }
        let refreshing = Refreshing::start(self);
        let requested_at = Instant::now();
        let fetched = self.provider.fetch_token(&self.http).await;
        if let (Ok(token), Some(recorder)) = (&fetched, self.http.recorder()) {
            recorder.add_secret(token.secret());
        }
        drop(refreshing);
        let mut state = self.state();
        match fetched {
            Ok(token) => {
                let cached = Cached::new(token, requested_at);
                state.generation += 1;
                state.pause_refresh_until = None;
                let lease = cached.lease(state.generation);
                state.current = Some(cached);
                tracing::debug!(generation = state.generation, "fetched an access token");
                Ok(lease)
            }
            Err(error) => {
                let now = Instant::now();
                let generation = state.generation;
                match state
                    .current
                    .as_ref()
                    .filter(|c| c.usable(now))
                    .map(|c| c.lease(generation))
                {
                    Some(lease) => {
                        tracing::warn!(%error, "token refresh failed; the current token stays in use until it expires");
                        state.pause_refresh_until = Some(now + FAILED_REFRESH_PAUSE);
                        Ok(lease)
                    }
                    None => Err(error),
                }
            }
        }
    }

    /// Drops the token of `generation` (one the API refused), unless it was already replaced.
    pub(crate) fn invalidate(&self, generation: u64) {
        let mut state = self.state();
        if state.generation == generation {
            state.current = None;
            state.pause_refresh_until = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use secrecy::ExposeSecret;

    use super::super::TokenFuture;
    use super::*;

    /// Hands out `token-1`, `token-2`, … with the given lifetime; fails when told to.
    #[derive(Debug)]
    struct Counting {
        calls: AtomicUsize,
        lifetime: Duration,
        fail_from: usize,
    }

    impl TokenProvider for Counting {
        fn fetch_token<'a>(&'a self, _http: &'a TokenHttp) -> TokenFuture<'a> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            let lifetime = self.lifetime;
            let fail = n >= self.fail_from;
            Box::pin(async move {
                if fail {
                    return Err(AuthError::Provider(format!("fetch {n} failed")));
                }
                Ok(AccessToken::new(format!("token-{n}").into()).with_expires_in(lifetime))
            })
        }
    }

    fn cache(lifetime: Duration, fail_from: usize) -> (Arc<Counting>, TokenCache) {
        let provider = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime,
            fail_from,
        });
        (
            provider.clone(),
            TokenCache::new(provider, TokenHttp::default()),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_ahead_of_expiry_by_the_margin() {
        let (provider, cache) = cache(Duration::from_secs(3600), usize::MAX);
        assert_eq!(cache.get().await.unwrap().secret.expose_secret(), "token-1");
        tokio::time::advance(Duration::from_secs(3600 - 301)).await;
        assert_eq!(cache.get().await.unwrap().secret.expose_secret(), "token-1");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cache.get().await.unwrap().secret.expose_secret(), "token-2");
        assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_keeps_the_valid_token_then_fails_after_expiry() {
        let (provider, cache) = cache(Duration::from_secs(600), 2);
        cache.get().await.unwrap();
        tokio::time::advance(Duration::from_secs(400)).await;
        assert_eq!(cache.get().await.unwrap().secret.expose_secret(), "token-1");
        // The failed refresh is not retried on every call.
        cache.get().await.unwrap();
        assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(31)).await;
        cache.get().await.unwrap();
        assert_eq!(provider.calls.load(Ordering::SeqCst), 3);
        tokio::time::advance(Duration::from_secs(200)).await;
        let err = cache
            .get()
            .await
            .err()
            .expect("an expired token is never served");
        assert!(err.to_string().contains("fetch 4 failed"), "{err}");
    }

    /// A provider whose fetch takes a while.
    #[derive(Debug)]
    struct Slow(AtomicUsize);

    impl TokenProvider for Slow {
        fn fetch_token<'a>(&'a self, _http: &'a TokenHttp) -> TokenFuture<'a> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok(AccessToken::new(format!("slow-{n}").into())
                    .with_expires_in(Duration::from_secs(600)))
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn callers_with_a_valid_token_do_not_wait_for_a_refresh() {
        let cache = Arc::new(TokenCache::new(
            Arc::new(Slow(AtomicUsize::new(0))),
            TokenHttp::default(),
        ));
        cache.get().await.unwrap();
        tokio::time::advance(Duration::from_secs(400)).await;
        let refreshing = tokio::spawn({
            let cache = cache.clone();
            async move { cache.get().await.unwrap().secret.expose_secret().to_owned() }
        });
        tokio::task::yield_now().await;
        let started = Instant::now();
        assert_eq!(cache.get().await.unwrap().secret.expose_secret(), "slow-1");
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "served at once during the refresh"
        );
        assert_eq!(refreshing.await.unwrap(), "slow-2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refresh_dropped_midway_does_not_stop_later_refreshes() {
        let cache = Arc::new(TokenCache::new(
            Arc::new(Slow(AtomicUsize::new(0))),
            TokenHttp::default(),
        ));
        cache.get().await.unwrap();
        tokio::time::advance(Duration::from_secs(400)).await;
        // A caller gives up on its refresh (its timeout fires while the provider is slow).
        let gave_up = tokio::time::timeout(Duration::from_secs(1), cache.get()).await;
        assert!(gave_up.is_err(), "the refresh takes 10 s");
        // The next caller refreshes rather than waiting for a refresh nobody is doing.
        assert_eq!(cache.get().await.unwrap().secret.expose_secret(), "slow-3");
    }

    #[tokio::test]
    async fn a_lifetime_too_large_for_the_clock_means_no_expiry() {
        let (_, cache) = cache(Duration::MAX, usize::MAX);
        assert_eq!(cache.get().await.unwrap().secret.expose_secret(), "token-1");
        assert_eq!(cache.get().await.unwrap().secret.expose_secret(), "token-1");
    }

    #[tokio::test]
    async fn invalidation_is_per_generation() {
        let (provider, cache) = cache(Duration::from_secs(3600), usize::MAX);
        let first = cache.get().await.unwrap();
        cache.invalidate(first.generation);
        let second = cache.get().await.unwrap();
        assert_eq!(second.secret.expose_secret(), "token-2");
        // A late 401 for the old token does not throw away the new one.
        cache.invalidate(first.generation);
        assert_eq!(cache.get().await.unwrap().generation, second.generation);
        assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
    }
}
