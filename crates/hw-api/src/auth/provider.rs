//! What a source of tokens is ([`TokenProvider`]) and what it gives ([`AccessToken`]), with
//! the simplest provider, a token given as it is ([`StaticToken`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use secrecy::SecretString;

use super::{AuthError, TokenHttp};

/// A bearer token and how long it lasts.
#[derive(Clone, Debug)]
pub struct AccessToken {
    secret: SecretString,
    expires_in: Option<Duration>,
    refresh_in: Option<Duration>,
}

impl AccessToken {
    /// A token that does not expire as far as the client knows.
    pub fn new(secret: SecretString) -> Self {
        Self {
            secret,
            expires_in: None,
            refresh_in: None,
        }
    }

    /// The token's lifetime from when it was requested.
    pub fn with_expires_in(mut self, expires_in: Duration) -> Self {
        self.expires_in = Some(expires_in);
        self
    }

    /// When the issuer suggests refreshing it (Entra's `refresh_in`).
    pub fn with_refresh_in(mut self, refresh_in: Duration) -> Self {
        self.refresh_in = Some(refresh_in);
        self
    }

    /// The token itself.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The token's lifetime, if known.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in
    }

    /// The suggested refresh time, if given.
    pub fn refresh_in(&self) -> Option<Duration> {
        self.refresh_in
    }
}

/// The future a [`TokenProvider`] returns.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + 'a>>;

/// A source of access tokens for the API. The client caches what it returns, refreshes before
/// expiry and asks again after a 401, so an implementation fetches a new token on every call.
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// Fetches a token, sending any request with `http`: the settings (proxy, user agent,
    /// certificates, timeouts) and the trace of the client that asks.
    fn fetch_token<'a>(&'a self, http: &'a TokenHttp) -> TokenFuture<'a>;
}

/// A fixed token, for tests and debugging with a token obtained elsewhere.
#[derive(Clone, Debug)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// A provider that always returns `token`.
    pub fn new(token: SecretString) -> Self {
        Self(token)
    }
}

impl TokenProvider for StaticToken {
    fn fetch_token<'a>(&'a self, _http: &'a TokenHttp) -> TokenFuture<'a> {
        let token = AccessToken::new(self.0.clone());
        Box::pin(async move { Ok(token) })
    }
}
