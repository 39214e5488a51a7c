//! Access tokens: where they come from ([`TokenProvider`]: a client secret or certificate, a
//! federated token, a managed identity, the Azure CLI; [`choose`] picks one from settings and
//! the environment) and how they are reused (the token cache, internal).

mod assertion;
pub(crate) mod authorize;
mod azure_cli;
#[cfg(feature = "azure-identity")]
mod azure_sdk;
pub(crate) mod cache;
#[cfg(feature = "certificate")]
mod certificate;
mod choice;
mod entra;
mod federated;
mod jwt;
mod managed_identity;
mod request;
mod token_http;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use secrecy::SecretString;

pub use crate::error::{AuthError, TokenEndpointError};
pub use assertion::{AssertionFuture, AssertionSource};
pub use azure_cli::AzureCli;
#[cfg(feature = "azure-identity")]
pub use azure_sdk::AzureSdkCredential;
#[cfg(feature = "certificate")]
pub use certificate::Certificate;
pub use choice::{AUTO_ORDER, Chosen, CredentialKind, CredentialSettings, Unavailable, choose};
pub use entra::{ClientCredentials, DEFAULT_AUTHORITY, DEFAULT_RESOURCE, EntraEndpoint};
pub use federated::{
    AzurePipelinesToken, FEDERATION_AUDIENCE, FederatedTokenFile, GitHubActionsToken,
};
pub use managed_identity::{IMDS_AUTHORITY, ManagedIdentity};
pub use token_http::TokenHttp;

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

/// Warns when the file at `path`, which holds `what` (a private key, a secret), can be read by
/// other users.
pub fn warn_if_readable_by_others(path: &std::path::Path, what: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                "{} holds {what} and can be read by other users; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what);
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
