//! Reuse of access tokens: refresh ahead of expiry, one refresh at a time, and a still-valid
//! token kept in service when a refresh fails.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{AccessToken, AuthError, TokenProvider};

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

/// Caches the tokens of a provider. Holding the lock while fetching makes refreshes
/// single-flight: concurrent callers wait for the one fetch and share its token.
pub(crate) struct TokenCache {
    provider: Arc<dyn TokenProvider>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    generation: u64,
    pause_refresh_until: Option<Instant>,
}

struct Cached {
    secret: SecretString,
    refresh_at: Option<Instant>,
    expires_at: Option<Instant>,
}

impl Cached {
    fn new(token: AccessToken, requested_at: Instant) -> Self {
        let expires_at = token.expires_in().map(|life| requested_at + life);
        let margin = token
            .expires_in()
            .map(|life| (life / 2).min(MAX_REFRESH_MARGIN));
        let refresh_at = match (token.refresh_in(), token.expires_in(), margin) {
            (Some(refresh), Some(life), _) if refresh < life => Some(requested_at + refresh),
            (_, Some(life), Some(margin)) => Some(requested_at + (life - margin)),
            _ => None,
        };
        Self {
            secret: token.secret().clone(),
            refresh_at,
            expires_at,
        }
    }

    fn usable(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }

    fn fresh(&self, now: Instant) -> bool {
        self.refresh_at.is_none_or(|at| now < at)
    }
}

impl TokenCache {
    pub(crate) fn new(provider: Arc<dyn TokenProvider>) -> Self {
        Self {
            provider,
            state: Mutex::new(State::default()),
        }
    }

    /// A valid token: the cached one while fresh, else a new one from the provider.
    pub(crate) async fn get(&self) -> Result<Lease, AuthError> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let paused = state.pause_refresh_until.is_some_and(|until| now < until);
        if let Some(current) = &state.current
            && current.usable(now)
            && (current.fresh(now) || paused)
        {
            return Ok(state.lease());
        }
        let requested_at = Instant::now();
        match self.provider.fetch_token().await {
            Ok(token) => {
                state.current = Some(Cached::new(token, requested_at));
                state.generation += 1;
                state.pause_refresh_until = None;
                tracing::debug!(generation = state.generation, "fetched an access token");
                Ok(state.lease())
            }
            Err(error) => match &state.current {
                Some(current) if current.usable(Instant::now()) => {
                    tracing::warn!(%error, "token refresh failed; the current token stays in use until it expires");
                    state.pause_refresh_until = Some(Instant::now() + FAILED_REFRESH_PAUSE);
                    Ok(state.lease())
                }
                _ => Err(error),
            },
        }
    }

    /// Drops the token of `generation` (one the API refused), unless it was already replaced.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state.generation == generation {
            state.current = None;
            state.pause_refresh_until = None;
        }
    }
}

impl State {
    fn lease(&self) -> Lease {
        let secret = self
            .current
            .as_ref()
            .map(|c| c.secret.clone())
            .unwrap_or_else(|| SecretString::from(String::new()));
        Lease {
            secret,
            generation: self.generation,
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
        fn fetch_token(&self) -> TokenFuture<'_> {
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
        (provider.clone(), TokenCache::new(provider))
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

    #[tokio::test]
    async fn invalidation_is_per_generation() {
        let (provider, cache) = cache(Duration::from_secs(3600), usize::MAX);
        let first = cache.get().await.unwrap();
        cache.invalidate(first.generation).await;
        let second = cache.get().await.unwrap();
        assert_eq!(second.secret.expose_secret(), "token-2");
        // A late 401 for the old token does not throw away the new one.
        cache.invalidate(first.generation).await;
        assert_eq!(cache.get().await.unwrap().generation, second.generation);
        assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
    }
}
