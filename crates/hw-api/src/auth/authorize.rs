//! The token as a step of the API's pipeline: a request goes with the bearer token only to the
//! API's origin (`origin::may_carry_token`, the one rule); a 401 drops the token it carried,
//! once per call, so that the call's next attempt fetches a fresh one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::cache::TokenCache;
use crate::error::Error;
use crate::net::{Halt, Next, Outgoing, Sent, Step};
use crate::{origin, redact};

/// Puts the token on every request to the API's origin, and stops any other.
pub(crate) struct Authorize {
    tokens: Arc<TokenCache>,
    base: Url,
}

/// The one fresh token a call may get after a 401: a note its attempts share.
#[derive(Clone, Debug, Default)]
pub(crate) struct RenewOnce(Arc<AtomicBool>);

impl RenewOnce {
    /// Whether this is the call's first 401 (and the last that earns a fresh token).
    fn first(&self) -> bool {
        !self.0.swap(true, Ordering::Relaxed)
    }
}

/// A note on an answer: its 401 dropped the token it carried, and another attempt will fetch
/// a fresh one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Renewed;

impl Authorize {
    /// Tokens from `tokens`, for the API at `base`.
    pub(crate) fn new(tokens: Arc<TokenCache>, base: Url) -> Self {
        Self { tokens, base }
    }
}

impl Step<Error> for Authorize {
    fn send<'a>(&'a self, mut out: Outgoing, next: Next<'a, Error>) -> Sent<'a, Error> {
        Box::pin(async move {
            let operation = out.operation;
            if !origin::may_carry_token(out.request.url(), &self.base) {
                return Err(Halt::Stopped(Error::ForeignLink {
                    operation,
                    url: redact::url(out.request.url()),
                    origin: self.base.origin().ascii_serialization(),
                }));
            }
            let lease = self
                .tokens
                .get()
                .await
                .map_err(|source| Halt::Stopped(Error::Auth { operation, source }))?;
            let value = bearer(&lease.secret)
                .map_err(|message| Halt::Stopped(Error::InvalidRequest { operation, message }))?;
            out.request.headers_mut().insert(AUTHORIZATION, value);
            let renew = out.notes.get::<RenewOnce>().cloned();
            let mut answer = next.send(out).await;
            if let Ok(response) = &mut answer
                && response.status() == reqwest::StatusCode::UNAUTHORIZED
                && renew.is_some_and(|renew| renew.first())
            {
                tracing::debug!(
                    "the API refused the token (401): fetching a new one and trying once more"
                );
                self.tokens.invalidate(lease.generation);
                response.extensions_mut().insert(Renewed);
            }
            answer
        })
    }
}

/// An `Authorization` header value, marked sensitive so that `Debug` hides it.
fn bearer(token: &SecretString) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
        .map_err(|_| "the access token has characters a header cannot carry".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::auth::{AccessToken, AuthError, TokenFuture, TokenHttp, TokenProvider};
    use crate::net::Pipeline;
    use crate::net::pipeline_tests::{Answer, get};

    /// Hands out `token-1`, `token-2`, … (or refuses when `refuse` is set).
    #[derive(Debug, Default)]
    struct Counting {
        fetched: AtomicUsize,
        refuse: bool,
    }

    impl TokenProvider for Counting {
        fn fetch_token<'a>(&'a self, _http: &'a TokenHttp) -> TokenFuture<'a> {
            let n = self.fetched.fetch_add(1, Ordering::Relaxed) + 1;
            let refuse = self.refuse;
            Box::pin(async move {
                if refuse {
                    return Err(AuthError::Provider("no token today".into()));
                }
                Ok(AccessToken::new(SecretString::from(format!("token-{n}"))))
            })
        }
    }

    fn pipeline(provider: Arc<Counting>, last: Arc<Answer>) -> Pipeline<Error> {
        let tokens = Arc::new(TokenCache::new(provider, TokenHttp::default()));
        let base = Url::parse("http://127.0.0.1:9/v2.0/my").unwrap();
        Pipeline::ending_with(vec![Arc::new(Authorize::new(tokens, base))], last)
    }

    fn sent_token(last: &Answer, index: usize) -> String {
        let seen = last.seen();
        let value = seen[index].headers().get(AUTHORIZATION).unwrap();
        assert!(value.is_sensitive());
        value.to_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn the_token_goes_to_the_api_origin_and_nowhere_else() {
        let last = Answer::new(200);
        let pipeline = pipeline(Arc::new(Counting::default()), last.clone());
        pipeline
            .send(get("http://127.0.0.1:9/v2.0/my/hardware/products"))
            .await
            .unwrap();
        assert_eq!(sent_token(&last, 0), "Bearer token-1");
        for elsewhere in [
            "http://127.0.0.2:9/v2.0/my/x",
            "http://127.0.0.1:10/v2.0/my/x",
        ] {
            match pipeline.send(get(elsewhere)).await {
                Err(Halt::Stopped(Error::ForeignLink { operation, .. })) => {
                    assert_eq!(operation, "getThing");
                }
                other => panic!("{elsewhere} must be refused, got {other:?}"),
            }
        }
        assert_eq!(last.seen().len(), 1, "nothing else was sent");
    }

    #[tokio::test]
    async fn a_token_that_cannot_be_had_stops_the_request() {
        let provider = Arc::new(Counting {
            refuse: true,
            ..Counting::default()
        });
        let last = Answer::new(200);
        match pipeline(provider, last.clone())
            .send(get("http://127.0.0.1:9/v2.0/my/x"))
            .await
        {
            Err(Halt::Stopped(Error::Auth { operation, .. })) => assert_eq!(operation, "getThing"),
            other => panic!("expected the sign-in failure, got {other:?}"),
        }
        assert!(last.seen().is_empty());
    }

    #[tokio::test]
    async fn only_the_first_401_of_a_call_renews_the_token() {
        let provider = Arc::new(Counting::default());
        let last = Answer::new(401);
        let pipeline = pipeline(provider.clone(), last.clone());
        let renew = RenewOnce::default();
        let attempt = || {
            let mut out = get("http://127.0.0.1:9/v2.0/my/x");
            out.notes.insert(renew.clone());
            out
        };
        let first = pipeline.send(attempt()).await.unwrap();
        assert!(first.extensions().get::<Renewed>().is_some());
        let second = pipeline.send(attempt()).await.unwrap();
        assert!(second.extensions().get::<Renewed>().is_none());
        // The first 401 dropped token-1; the second attempt carried token-2, which stays.
        assert_eq!(sent_token(&last, 0), "Bearer token-1");
        assert_eq!(sent_token(&last, 1), "Bearer token-2");
        let third = pipeline.send(attempt()).await.unwrap();
        assert!(third.extensions().get::<Renewed>().is_none());
        assert_eq!(sent_token(&last, 2), "Bearer token-2");
        assert_eq!(provider.fetched.load(Ordering::Relaxed), 2);
        // A request with no call to renew for (the clock's) never renews.
        let lone = pipeline
            .send(get("http://127.0.0.1:9/v2.0/my/x"))
            .await
            .unwrap();
        assert!(lone.extensions().get::<Renewed>().is_none());
    }

    #[tokio::test]
    async fn a_success_renews_nothing() {
        let provider = Arc::new(Counting::default());
        let last = Answer::new(200);
        let pipeline = pipeline(provider.clone(), last.clone());
        let mut out = get("http://127.0.0.1:9/v2.0/my/x");
        out.notes.insert(RenewOnce::default());
        let answer = pipeline.send(out).await.unwrap();
        assert!(answer.extensions().get::<Renewed>().is_none());
        pipeline
            .send(get("http://127.0.0.1:9/v2.0/my/x"))
            .await
            .unwrap();
        assert_eq!(provider.fetched.load(Ordering::Relaxed), 1);
    }
}
