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
mod provider;
mod request;
mod token_http;

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
pub use managed_identity::{IMDS_AUTHORITY, ManagedIdentity, ManagedIdentityAssertion};
pub use provider::{AccessToken, StaticToken, TokenFuture, TokenProvider};
pub use token_http::TokenHttp;
