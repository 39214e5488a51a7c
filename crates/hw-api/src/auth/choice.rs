//! Which credential to sign in with, from settings and the environment variables the Azure SDKs
//! and CI systems set, so that existing CI setups work unchanged: [`CredentialSettings`] and
//! [`choose`]. `Auto` takes the first credential that is configured, in [`AUTO_ORDER`], and
//! decides from the configuration alone: it never asks the instance metadata service whether a
//! managed identity is there (`docs/service-notes.md`, "Managed identity endpoints").

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;

use super::{
    AccessToken, AssertionSource, AuthError, AzureCli, AzurePipelinesToken, ClientCredentials,
    EntraEndpoint, FederatedTokenFile, GitHubActionsToken, IMDS_AUTHORITY, ManagedIdentity,
    TokenFuture, TokenHttp, TokenProvider,
};

/// A way to sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// The first of [`AUTO_ORDER`] that is configured.
    Auto,
    /// The app registration's client secret.
    Secret,
    /// The app registration's certificate (PEM or PFX), signing a client assertion.
    Certificate,
    /// A federated token from a file (`AZURE_FEDERATED_TOKEN_FILE`).
    Federated,
    /// GitHub Actions' OIDC token, federated.
    GitHub,
    /// Azure Pipelines' OIDC token for a service connection, federated.
    AzurePipelines,
    /// An Azure managed identity: App Service and the like, Cloud Shell, or (chosen explicitly
    /// only) a virtual machine's metadata service.
    ManagedIdentity,
    /// The Azure CLI's sign-in (`az login`).
    AzureCli,
    /// The app registration, with a managed identity's token for the federation audience as its
    /// client assertion ([`ManagedIdentityAssertion`](super::ManagedIdentityAssertion)): the app
    /// trusts the identity through a federated credential. Chosen explicitly only.
    ManagedIdentityFederation,
}

/// The order in which `Auto` looks.
pub const AUTO_ORDER: [CredentialKind; 7] = [
    CredentialKind::Secret,
    CredentialKind::Certificate,
    CredentialKind::Federated,
    CredentialKind::GitHub,
    CredentialKind::AzurePipelines,
    CredentialKind::ManagedIdentity,
    CredentialKind::AzureCli,
];

impl CredentialKind {
    /// The name used by `hwdc --auth`.
    pub fn name(self) -> &'static str {
        match self {
            CredentialKind::Auto => "auto",
            CredentialKind::Secret => "secret",
            CredentialKind::Certificate => "certificate",
            CredentialKind::Federated => "federated",
            CredentialKind::GitHub => "github",
            CredentialKind::AzurePipelines => "azure-pipelines",
            CredentialKind::ManagedIdentity => "managed-identity",
            CredentialKind::AzureCli => "azure-cli",
            CredentialKind::ManagedIdentityFederation => "managed-identity-federation",
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What credentials are made from. [`CredentialSettings::from_env`] reads the variables the
/// Azure SDKs and CI systems set; a caller with its own settings (flags, a profile) overrides
/// fields after that.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CredentialSettings {
    /// The Entra tenant (`AZURE_TENANT_ID`).
    pub tenant_id: Option<String>,
    /// The app registration's client id (`AZURE_CLIENT_ID`).
    pub client_id: Option<String>,
    /// A user-assigned managed identity's own client id (no environment variable of the Azure
    /// SDKs: they overload `AZURE_CLIENT_ID`, the app's); `None`: the system-assigned identity.
    pub managed_identity_client_id: Option<String>,
    /// The client secret (`AZURE_CLIENT_SECRET`).
    pub client_secret: Option<SecretString>,
    /// A PEM or PFX file (`AZURE_CLIENT_CERTIFICATE_PATH`).
    pub certificate_path: Option<PathBuf>,
    /// The PFX file's password (`AZURE_CLIENT_CERTIFICATE_PASSWORD`).
    pub certificate_password: Option<SecretString>,
    /// A federated token file (`AZURE_FEDERATED_TOKEN_FILE`).
    pub federated_token_file: Option<PathBuf>,
    /// GitHub Actions' token service (`ACTIONS_ID_TOKEN_REQUEST_URL`).
    pub github_request_url: Option<String>,
    /// GitHub Actions' request token (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
    pub github_request_token: Option<SecretString>,
    /// Azure Pipelines' OIDC endpoint (`SYSTEM_OIDCREQUESTURI`).
    pub pipelines_request_uri: Option<String>,
    /// The Azure Pipelines service connection (`AZURESUBSCRIPTION_SERVICE_CONNECTION_ID`).
    pub service_connection_id: Option<String>,
    /// The job's access token (`SYSTEM_ACCESSTOKEN`).
    pub pipelines_access_token: Option<SecretString>,
    /// The identity endpoint of App Service and the like (`IDENTITY_ENDPOINT`).
    pub identity_endpoint: Option<String>,
    /// Its header value (`IDENTITY_HEADER`).
    pub identity_header: Option<SecretString>,
    /// Cloud Shell's identity endpoint (`MSI_ENDPOINT`).
    pub msi_endpoint: Option<String>,
    /// Set with `MSI_ENDPOINT` by Azure Machine Learning, whose endpoint is not supported
    /// (`MSI_SECRET`).
    pub msi_secret: Option<SecretString>,
    /// The instance metadata service (`AZURE_POD_IDENTITY_AUTHORITY_HOST`; by default
    /// [`IMDS_AUTHORITY`]).
    pub imds_authority: Option<String>,
    /// The Entra authority host (`AZURE_AUTHORITY_HOST`).
    pub authority: Option<String>,
    /// The token endpoint version and scope.
    pub endpoint: EntraEndpoint,
}

impl CredentialSettings {
    /// The settings the process environment gives.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings `lookup` gives for each environment variable (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let text = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let secret = |name: &str| text(name).map(SecretString::from);
        Self {
            tenant_id: text("AZURE_TENANT_ID"),
            client_id: text("AZURE_CLIENT_ID"),
            managed_identity_client_id: None,
            client_secret: secret("AZURE_CLIENT_SECRET"),
            certificate_path: text("AZURE_CLIENT_CERTIFICATE_PATH").map(PathBuf::from),
            certificate_password: secret("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
            federated_token_file: text("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from),
            github_request_url: text("ACTIONS_ID_TOKEN_REQUEST_URL"),
            github_request_token: secret("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
            pipelines_request_uri: text("SYSTEM_OIDCREQUESTURI"),
            service_connection_id: text("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"),
            pipelines_access_token: secret("SYSTEM_ACCESSTOKEN"),
            identity_endpoint: text("IDENTITY_ENDPOINT"),
            identity_header: secret("IDENTITY_HEADER"),
            msi_endpoint: text("MSI_ENDPOINT"),
            msi_secret: secret("MSI_SECRET"),
            imds_authority: text("AZURE_POD_IDENTITY_AUTHORITY_HOST"),
            authority: text("AZURE_AUTHORITY_HOST"),
            endpoint: EntraEndpoint::default(),
        }
    }
}

/// The credential chosen, and whom it signs in as (for a journal: no secret in it).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Chosen {
    /// Tokens.
    pub provider: Arc<dyn TokenProvider>,
    /// Which kind it is.
    pub kind: CredentialKind,
    /// Whom it signs in as: `tenant/client`, `managed identity <client id>`, `azure cli`.
    pub identity: String,
}

/// No credential could be made: what was tried, and why each was unavailable.
#[derive(Debug)]
#[non_exhaustive]
pub struct Unavailable {
    /// Each kind tried, and why it could not be used.
    pub tried: Vec<(CredentialKind, String)>,
}

impl Unavailable {
    /// What was tried, and why each could not be used.
    pub fn new(tried: Vec<(CredentialKind, String)>) -> Self {
        Self { tried }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tried.as_slice() {
            [(kind, why)] => write!(f, "cannot sign in with {kind}: {why}"),
            tried => {
                f.write_str("no way to sign in is configured; tried:")?;
                for (kind, why) in tried {
                    write!(f, "\n  - {kind}: {why}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Unavailable {}

/// The credential of `kind` that `settings` describe; for [`CredentialKind::Auto`], the first of
/// [`AUTO_ORDER`] that is configured, from the settings alone: a managed identity counts when a
/// platform set its endpoint's variables (never by asking the metadata service), the Azure CLI
/// when it is on `PATH` and gives a token (one that is not signed in is unavailable, with its
/// reason). A kind that is set up but cannot be made (a wrong PFX password, a missing tenant id)
/// stops `Auto` with its error.
pub async fn choose(
    kind: CredentialKind,
    settings: &CredentialSettings,
) -> Result<Chosen, Unavailable> {
    let signing_in = |chosen: Chosen| {
        tracing::info!(credential = %chosen.kind, identity = %chosen.identity, "signing in");
        chosen
    };
    if kind != CredentialKind::Auto {
        return make(kind, settings, false)
            .await
            .map(signing_in)
            .map_err(|why| Unavailable {
                tried: vec![(kind, why)],
            });
    }
    let mut tried = Vec::new();
    for kind in AUTO_ORDER {
        match make(kind, settings, true).await {
            Ok(chosen) => return Ok(signing_in(chosen)),
            // Set up but broken (a wrong PFX password, a missing tenant): that is the error;
            // signing in as another identity instead would hide it.
            Err(why) if configured(kind, settings) => {
                return Err(Unavailable {
                    tried: vec![(kind, why)],
                });
            }
            Err(why) => tried.push((kind, why)),
        }
    }
    Err(Unavailable { tried })
}

/// Whether the settings hold `kind`'s own inputs (so that failing to make it is an error, not
/// a reason to try the next kind).
fn configured(kind: CredentialKind, settings: &CredentialSettings) -> bool {
    match kind {
        CredentialKind::Secret => settings.client_secret.is_some(),
        CredentialKind::Certificate => settings.certificate_path.is_some(),
        CredentialKind::Federated => settings.federated_token_file.is_some(),
        CredentialKind::GitHub => {
            settings.github_request_url.is_some() && settings.github_request_token.is_some()
        }
        CredentialKind::AzurePipelines => {
            settings.pipelines_request_uri.is_some()
                && settings.service_connection_id.is_some()
                && settings.pipelines_access_token.is_some()
        }
        CredentialKind::ManagedIdentity => {
            (settings.identity_endpoint.is_some() && settings.identity_header.is_some())
                // With MSI_SECRET, MSI_ENDPOINT is Azure Machine Learning's: not ours to use.
                || (settings.msi_endpoint.is_some() && settings.msi_secret.is_none())
        }
        CredentialKind::Auto
        | CredentialKind::AzureCli
        | CredentialKind::ManagedIdentityFederation => false,
    }
}

/// The app registration's tenant and client id, which every Entra credential needs.
fn app(settings: &CredentialSettings) -> Result<(&str, &str), String> {
    match (&settings.tenant_id, &settings.client_id) {
        (Some(tenant), Some(client)) => Ok((tenant, client)),
        (None, _) => Err("no tenant id (AZURE_TENANT_ID)".into()),
        (_, None) => Err("no client id (AZURE_CLIENT_ID)".into()),
    }
}

fn entra(
    settings: &CredentialSettings,
    credentials: ClientCredentials,
) -> Result<ClientCredentials, String> {
    let credentials = credentials.with_endpoint(settings.endpoint.clone());
    match &settings.authority {
        Some(authority) => credentials
            .with_authority(authority)
            .map_err(|e| crate::report::chain(&e)),
        None => Ok(credentials),
    }
}

fn missing(what: &str) -> String {
    format!("{what} is not set")
}

/// The app registration's credentials proven with assertions from `source`.
fn with_assertion(
    kind: CredentialKind,
    settings: &CredentialSettings,
    source: impl AssertionSource + 'static,
) -> Result<Chosen, String> {
    let (tenant, client) = app(settings)?;
    let credentials = entra(
        settings,
        ClientCredentials::with_assertion(tenant, client, source),
    )?;
    Ok(Chosen {
        provider: Arc::new(credentials),
        kind,
        identity: format!("{tenant}/{client}"),
    })
}

/// Certificate sign-in with the certificate and key in the file at `path`.
#[cfg(feature = "certificate")]
fn certificate(
    kind: CredentialKind,
    settings: &CredentialSettings,
    path: &std::path::Path,
) -> Result<Chosen, String> {
    let password = settings.certificate_password.as_ref();
    let certificate =
        super::Certificate::from_file(path, password).map_err(|e| crate::report::chain(&e))?;
    with_assertion(kind, settings, certificate)
}

/// Without the `certificate` feature, why certificate sign-in is not possible.
#[cfg(not(feature = "certificate"))]
fn certificate(
    _: CredentialKind,
    _: &CredentialSettings,
    path: &std::path::Path,
) -> Result<Chosen, String> {
    Err(format!(
        "{}: certificate sign-in needs hw-api's `certificate` feature, which this build leaves out",
        path.display()
    ))
}

/// The credential of `kind`, or why it cannot be made. `choosing`: `Auto` is choosing among all
/// (the metadata service then does not count, and the Azure CLI must give a token to count).
async fn make(
    kind: CredentialKind,
    settings: &CredentialSettings,
    choosing: bool,
) -> Result<Chosen, String> {
    let chosen = |provider: Arc<dyn TokenProvider>, identity: String| Chosen {
        provider,
        kind,
        identity,
    };
    match kind {
        CredentialKind::Auto => Err("auto is not a credential".into()),
        CredentialKind::Secret => {
            let secret = settings
                .client_secret
                .clone()
                .ok_or_else(|| "no client secret is given (AZURE_CLIENT_SECRET)".to_owned())?;
            let (tenant, client) = app(settings)?;
            let credentials = entra(settings, ClientCredentials::new(tenant, client, secret))?;
            Ok(chosen(Arc::new(credentials), format!("{tenant}/{client}")))
        }
        CredentialKind::Certificate => {
            let path = settings
                .certificate_path
                .as_ref()
                .ok_or_else(|| missing("AZURE_CLIENT_CERTIFICATE_PATH"))?;
            app(settings)?;
            certificate(kind, settings, path)
        }
        CredentialKind::Federated => {
            let path = settings
                .federated_token_file
                .as_ref()
                .ok_or_else(|| missing("AZURE_FEDERATED_TOKEN_FILE"))?;
            with_assertion(kind, settings, FederatedTokenFile::new(path))
        }
        CredentialKind::GitHub => {
            let (url, token) = match (&settings.github_request_url, &settings.github_request_token)
            {
                (Some(url), Some(token)) => (url, token.clone()),
                _ => {
                    return Err(missing(
                        "ACTIONS_ID_TOKEN_REQUEST_URL or ACTIONS_ID_TOKEN_REQUEST_TOKEN (the job needs `permissions: id-token: write`)",
                    ));
                }
            };
            let source =
                GitHubActionsToken::new(url, token).map_err(|e| crate::report::chain(&e))?;
            with_assertion(kind, settings, source)
        }
        CredentialKind::AzurePipelines => {
            let (uri, connection, token) = match (
                &settings.pipelines_request_uri,
                &settings.service_connection_id,
                &settings.pipelines_access_token,
            ) {
                (Some(uri), Some(connection), Some(token)) => (uri, connection, token.clone()),
                _ => {
                    return Err(missing(
                        "SYSTEM_OIDCREQUESTURI, AZURESUBSCRIPTION_SERVICE_CONNECTION_ID or SYSTEM_ACCESSTOKEN",
                    ));
                }
            };
            let source = AzurePipelinesToken::new(uri, connection, token)
                .map_err(|e| crate::report::chain(&e))?;
            with_assertion(kind, settings, source)
        }
        CredentialKind::ManagedIdentity => {
            let (identity, who) = managed_identity(settings, choosing)?;
            Ok(chosen(Arc::new(identity), who))
        }
        CredentialKind::ManagedIdentityFederation => {
            let (identity, who) = managed_identity(settings, choosing)?;
            let mut chosen = with_assertion(
                kind,
                settings,
                super::ManagedIdentityAssertion::new(identity),
            )?;
            chosen.identity = format!("{} through {who}", chosen.identity);
            Ok(chosen)
        }
        CredentialKind::AzureCli => {
            let program = if cfg!(windows) { "az.cmd" } else { "az" };
            if choosing && !on_path(program) {
                return Err("az is not on PATH".into());
            }
            let cli = match &settings.tenant_id {
                Some(tenant) => AzureCli::new().with_tenant(tenant),
                None => AzureCli::new(),
            };
            if !choosing {
                return Ok(chosen(Arc::new(cli), "azure cli".into()));
            }
            // Present is not usable: only a token says that az is signed in.
            match cli.fetch_token(&TokenHttp::default()).await {
                Ok(token) => Ok(chosen(
                    Arc::new(Primed::new(token, cli)),
                    "azure cli".into(),
                )),
                // az ran and refused; what it printed says whether it is signed in.
                Err(e @ AuthError::Source { .. }) if e.to_string().contains("az login") => {
                    Err(format!(
                        "az is not signed in (run `az login`): {}",
                        crate::report::chain(&e)
                    ))
                }
                Err(e) => Err(format!(
                    "az is on PATH but gave no token: {}",
                    crate::report::chain(&e)
                )),
            }
        }
    }
}

/// The managed identity the settings name, and whom it signs in as: App Service's endpoint,
/// Cloud Shell's, or (not while `choosing`) the instance metadata service.
fn managed_identity(
    settings: &CredentialSettings,
    choosing: bool,
) -> Result<(ManagedIdentity, String), String> {
    let user_assigned = settings.managed_identity_client_id.as_deref();
    let identity = match (
        &settings.identity_endpoint,
        &settings.identity_header,
        &settings.msi_endpoint,
    ) {
        (Some(endpoint), Some(header), _) => ManagedIdentity::app_service(endpoint, header.clone()),
        (_, _, Some(_)) if settings.msi_secret.is_some() => {
            return Err(
                "MSI_ENDPOINT with MSI_SECRET is Azure Machine Learning's identity endpoint, which is not supported"
                    .into(),
            );
        }
        (_, _, Some(_)) if user_assigned.is_some() => {
            return Err("Cloud Shell's identity endpoint (MSI_ENDPOINT) has no user-assigned identities".into());
        }
        (_, _, Some(endpoint)) => ManagedIdentity::cloud_shell(endpoint),
        _ if choosing => {
            return Err(
                "neither IDENTITY_ENDPOINT with IDENTITY_HEADER nor MSI_ENDPOINT is set; a virtual machine's identity is used only when chosen (--auth managed-identity): auto never asks the metadata service"
                    .into(),
            );
        }
        _ => {
            let authority = settings
                .imds_authority
                .as_deref()
                .unwrap_or(IMDS_AUTHORITY);
            ManagedIdentity::imds(authority)
        }
    }
    .map_err(|e: AuthError| crate::report::chain(&e))?;
    Ok(match user_assigned {
        Some(id) => (
            identity.with_client_id(id),
            format!("managed identity {id}"),
        ),
        None => (identity, "managed identity (system-assigned)".to_owned()),
    })
}

/// A provider whose first token is already in hand (the one `Auto` fetched to see that the
/// Azure CLI is signed in), so that choosing costs no second run of `az`. Its lifetimes are
/// counted from when it was fetched, not from when it is handed out.
struct Primed<P> {
    first: std::sync::Mutex<Option<(AccessToken, std::time::Instant)>>,
    inner: P,
}

impl<P> Primed<P> {
    fn new(first: AccessToken, inner: P) -> Self {
        Self {
            first: std::sync::Mutex::new(Some((first, std::time::Instant::now()))),
            inner,
        }
    }
}

/// `token` as it stands `age` after it was fetched: its lifetimes shortened by that much, or
/// `None` once it has expired.
fn aged(token: AccessToken, age: std::time::Duration) -> Option<AccessToken> {
    let mut fresh = AccessToken::new(token.secret().clone());
    if let Some(expires_in) = token.expires_in() {
        fresh = fresh.with_expires_in(expires_in.checked_sub(age).filter(|d| !d.is_zero())?);
    }
    if let Some(refresh_in) = token.refresh_in() {
        fresh = fresh.with_refresh_in(refresh_in.saturating_sub(age));
    }
    Some(fresh)
}

impl<P> fmt::Debug for Primed<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Primed").finish_non_exhaustive()
    }
}

impl<P: TokenProvider> TokenProvider for Primed<P> {
    fn fetch_token<'a>(&'a self, http: &'a TokenHttp) -> TokenFuture<'a> {
        let first = self
            .first
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .and_then(|(token, fetched)| aged(token, fetched.elapsed()));
        match first {
            Some(token) => Box::pin(std::future::ready(Ok(token))),
            None => self.inner.fetch_token(http),
        }
    }
}

/// Whether `program` is a file in one of `PATH`'s directories.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> CredentialSettings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut settings = CredentialSettings::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        });
        // A closed loopback port: nothing is sent to it, and nothing could leave the machine.
        settings.imds_authority = Some("http://127.0.0.1:9".into());
        settings
    }

    fn reasons(unavailable: &Unavailable) -> Vec<(CredentialKind, &str)> {
        unavailable
            .tried
            .iter()
            .map(|(kind, why)| (*kind, why.as_str()))
            .collect()
    }

    /// Without the feature, a certificate that is set up is an error that names it: `auto`
    /// stops on it rather than signing in as another identity.
    #[cfg(not(feature = "certificate"))]
    #[tokio::test]
    async fn certificate_sign_in_without_its_feature_names_the_feature() {
        let configured = settings(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", "agent.pem"),
        ]);
        for kind in [CredentialKind::Certificate, CredentialKind::Auto] {
            let unavailable = choose(kind, &configured).await.unwrap_err();
            let reasons = reasons(&unavailable);
            assert_eq!(reasons.len(), 1, "{unavailable}");
            assert_eq!(reasons[0].0, CredentialKind::Certificate);
            assert!(reasons[0].1.contains("agent.pem"), "{unavailable}");
            assert!(
                reasons[0].1.contains("`certificate` feature"),
                "{unavailable}"
            );
        }
    }

    #[tokio::test]
    async fn auto_takes_a_platforms_identity_endpoint_from_its_variables() {
        let app_service = settings(&[
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token"),
            ("IDENTITY_HEADER", "h"),
        ]);
        let chosen = choose(CredentialKind::Auto, &app_service).await.unwrap();
        assert_eq!(chosen.kind, CredentialKind::ManagedIdentity);
        assert_eq!(chosen.identity, "managed identity (system-assigned)");
        let cloud_shell = settings(&[("MSI_ENDPOINT", "http://127.0.0.1:9/oauth2/token")]);
        let chosen = choose(CredentialKind::Auto, &cloud_shell).await.unwrap();
        assert_eq!(chosen.kind, CredentialKind::ManagedIdentity);
        assert!(format!("{:?}", chosen.provider).contains("cloud shell"));
    }

    #[tokio::test]
    async fn auto_never_counts_the_metadata_service_and_says_why() {
        let unavailable = make(CredentialKind::ManagedIdentity, &settings(&[]), true)
            .await
            .unwrap_err();
        assert!(
            unavailable.contains("auto never asks the metadata service"),
            "{unavailable}"
        );
        // Chosen explicitly, the metadata service is the identity (nothing is sent until a
        // token is asked for).
        let chosen = choose(CredentialKind::ManagedIdentity, &settings(&[]))
            .await
            .unwrap();
        assert!(format!("{:?}", chosen.provider).contains("imds"));
    }

    #[tokio::test]
    async fn a_user_assigned_identity_is_named_by_its_own_setting_only() {
        let mut named = settings(&[("AZURE_CLIENT_ID", "the-app")]);
        let chosen = choose(CredentialKind::ManagedIdentity, &named)
            .await
            .unwrap();
        assert_eq!(chosen.identity, "managed identity (system-assigned)");
        named.managed_identity_client_id = Some("the-identity".into());
        let chosen = choose(CredentialKind::ManagedIdentity, &named)
            .await
            .unwrap();
        assert_eq!(chosen.identity, "managed identity the-identity");
        let mut cloud_shell = settings(&[("MSI_ENDPOINT", "http://127.0.0.1:9/oauth2/token")]);
        cloud_shell.managed_identity_client_id = Some("the-identity".into());
        let refused = choose(CredentialKind::Auto, &cloud_shell)
            .await
            .unwrap_err();
        assert_eq!(refused.tried.len(), 1, "set up, so auto stops: {refused}");
        assert!(
            refused.to_string().contains("no user-assigned"),
            "{refused}"
        );
    }

    #[test]
    fn a_kind_counts_as_set_up_only_with_all_of_its_inputs() {
        use CredentialKind::*;
        type Case = (
            CredentialKind,
            &'static [(&'static str, &'static str)],
            bool,
        );
        let cases: [Case; 11] = [
            (GitHub, &[("ACTIONS_ID_TOKEN_REQUEST_URL", "u")], false),
            (GitHub, &[("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t")], false),
            (
                GitHub,
                &[
                    ("ACTIONS_ID_TOKEN_REQUEST_URL", "u"),
                    ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t"),
                ],
                true,
            ),
            (
                AzurePipelines,
                &[("SYSTEM_OIDCREQUESTURI", "u"), ("SYSTEM_ACCESSTOKEN", "t")],
                false,
            ),
            (
                AzurePipelines,
                &[
                    ("SYSTEM_OIDCREQUESTURI", "u"),
                    ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "c"),
                ],
                false,
            ),
            (
                AzurePipelines,
                &[
                    ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "c"),
                    ("SYSTEM_ACCESSTOKEN", "t"),
                ],
                false,
            ),
            (
                ManagedIdentity,
                &[("IDENTITY_ENDPOINT", "http://127.0.0.1:9")],
                false,
            ),
            (ManagedIdentity, &[("IDENTITY_HEADER", "h")], false),
            (
                ManagedIdentity,
                &[
                    ("IDENTITY_ENDPOINT", "http://127.0.0.1:9"),
                    ("IDENTITY_HEADER", "h"),
                ],
                true,
            ),
            (
                ManagedIdentity,
                &[("MSI_ENDPOINT", "http://127.0.0.1:9")],
                true,
            ),
            (
                ManagedIdentity,
                &[("MSI_ENDPOINT", "http://127.0.0.1:9"), ("MSI_SECRET", "s")],
                false,
            ),
        ];
        for (kind, vars, expected) in cases {
            assert_eq!(
                configured(kind, &settings(vars)),
                expected,
                "{kind} {vars:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_primed_provider_gives_its_first_token_once_then_asks_its_own() {
        let primed = Primed::new(
            AccessToken::new(SecretString::from("first")),
            super::super::StaticToken::new(SecretString::from("later")),
        );
        assert!(format!("{primed:?}").starts_with("Primed"));
        let expose =
            |token: AccessToken| secrecy::ExposeSecret::expose_secret(token.secret()).to_owned();
        assert_eq!(
            expose(primed.fetch_token(&TokenHttp::default()).await.unwrap()),
            "first"
        );
        assert_eq!(
            expose(primed.fetch_token(&TokenHttp::default()).await.unwrap()),
            "later"
        );
        assert_eq!(
            expose(primed.fetch_token(&TokenHttp::default()).await.unwrap()),
            "later"
        );
    }

    #[test]
    fn a_primed_token_ages_from_when_it_was_fetched() {
        use std::time::Duration;
        let token = AccessToken::new(SecretString::from("t"))
            .with_expires_in(Duration::from_secs(300))
            .with_refresh_in(Duration::from_secs(100));
        let later = aged(token.clone(), Duration::from_secs(120)).unwrap();
        assert_eq!(later.expires_in(), Some(Duration::from_secs(180)));
        assert_eq!(later.refresh_in(), Some(Duration::ZERO));
        assert!(aged(token.clone(), Duration::from_secs(300)).is_none());
        let timeless = aged(
            AccessToken::new(SecretString::from("t")),
            Duration::from_secs(9),
        );
        assert_eq!(timeless.unwrap().expires_in(), None);
    }

    #[tokio::test]
    async fn machine_learnings_endpoint_is_unavailable_not_a_stop() {
        let ml = settings(&[
            ("MSI_ENDPOINT", "http://127.0.0.1:9/msi"),
            ("MSI_SECRET", "s"),
        ]);
        assert!(!configured(CredentialKind::ManagedIdentity, &ml));
        let why = make(CredentialKind::ManagedIdentity, &ml, true)
            .await
            .unwrap_err();
        assert!(why.contains("MSI_SECRET"), "{why}");
        // Chosen explicitly, it is the error.
        let refused = choose(CredentialKind::ManagedIdentity, &ml)
            .await
            .unwrap_err();
        assert_eq!(reasons(&refused).len(), 1);
        assert!(reasons(&refused)[0].1.contains("MSI_SECRET"), "{refused}");
    }
}
