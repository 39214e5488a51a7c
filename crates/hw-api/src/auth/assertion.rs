//! Client assertions: what proves an app without a stored secret. [`ClientCredentials`]
//! (`entra.rs`) asks its [`AssertionSource`] for a fresh one at every token request and sends it
//! as `client_assertion` (`docs/service-notes.md`, "Entra token: client assertions").
//!
//! [`ClientCredentials`]: super::ClientCredentials

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use secrecy::SecretString;

use super::{AuthError, TokenHttp};

/// The future an [`AssertionSource`] returns.
pub type AssertionFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SecretString, AuthError>> + Send + 'a>>;

/// Makes client assertions: a JWT signed with the app's certificate ([`Certificate`]), or a
/// federated token from a file, GitHub Actions or Azure Pipelines (`federated.rs`), or your own.
///
/// [`Certificate`]: super::Certificate
pub trait AssertionSource: Send + Sync + fmt::Debug {
    /// A fresh assertion for the token endpoint at `audience` (its URL) and the app
    /// `client_id`, sending any request with `http` (the asking client's settings and trace).
    fn assertion<'a>(
        &'a self,
        audience: &'a str,
        client_id: &'a str,
        http: &'a TokenHttp,
    ) -> AssertionFuture<'a>;
}
