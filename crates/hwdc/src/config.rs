//! Settings from flags, the environment, the profile file and defaults — in that order — and
//! the client built from them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hw_api::auth::{
    CredentialKind, CredentialSettings, DEFAULT_AUTHORITY, EntraEndpoint, Unavailable, choose,
};
use hw_api::transfer::TransferOptions;
use hw_api::{Client, DEFAULT_BASE_URL, RetryPolicy};
use secrecy::SecretString;
use serde::Deserialize;

use crate::cli::{AuthKind, Global, TokenEndpoint};

/// A problem with the settings (exit code 2).
#[derive(Debug)]
pub(crate) struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One profile of the configuration file: the settings `hwdc --help` describes, by the flag's
/// name with `_` for `-`.
#[derive(Deserialize, Default, Clone, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Profile {
    /// The API base URL, up to and including `/my`.
    base_url: Option<String>,
    /// The Entra authority host.
    authority_host: Option<String>,
    /// The Entra tenant id.
    tenant_id: Option<String>,
    /// The Entra application (client) id.
    client_id: Option<String>,
    /// The client secret (`config init` writes the file readable by its owner only).
    client_secret: Option<String>,
    /// A file holding the client secret.
    client_secret_file: Option<PathBuf>,
    /// The Entra token endpoint version.
    token_endpoint: Option<TokenEndpoint>,
    /// How to sign in.
    auth: Option<AuthKind>,
    /// The app registration's certificate (PEM or PFX).
    client_certificate: Option<PathBuf>,
    /// A user-assigned managed identity's client id.
    managed_identity_client_id: Option<String>,
}

/// hwdc's configuration file (`config.toml`): `[profile.NAME]` tables.
#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    /// The profiles, by name (`default` unless --profile or HWDC_PROFILE names another).
    #[serde(default)]
    profile: BTreeMap<String, Profile>,
}

/// The variable that moves the default configuration folder.
pub(crate) const CONFIG_DIR_VARIABLE: &str = "HWDC_CONFIG_DIR";

/// The default configuration file: `config.toml` in `HWDC_CONFIG_DIR` when it is set, else in
/// hwdc's folder of the platform's configuration directory (`$XDG_CONFIG_HOME/hwdc` or
/// `~/.config/hwdc` on Linux, `%APPDATA%\hwdc\config` on Windows, which no variable moves).
pub(crate) fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_VARIABLE).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.toml"));
    }
    directories::ProjectDirs::from("", "", "hwdc").map(|dirs| dirs.config_dir().join("config.toml"))
}

fn load_profile(global: &Global) -> Result<Profile, ConfigError> {
    let explicit = global.profile.is_some();
    let name = global.profile.clone().unwrap_or_else(|| "default".into());
    let Some(path) = global.config.clone().or_else(default_path) else {
        return Ok(Profile::default());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && !explicit && global.config.is_none() =>
        {
            return Ok(Profile::default());
        }
        Err(e) => {
            return Err(ConfigError(format!(
                "cannot read the configuration file {}: {e}",
                path.display()
            )));
        }
    };
    let file: File = toml::from_str(&text).map_err(|e| {
        // Never the offending line itself: it may hold the secret.
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        ConfigError(format!(
            "the configuration file {} is not valid{at}: {}",
            path.display(),
            e.message()
        ))
    })?;
    if file.profile.values().any(|p| p.client_secret.is_some()) {
        warn_if_readable_by_others(&path, "a client secret");
    }
    match file.profile.get(&name) {
        Some(profile) => Ok(profile.clone()),
        None if explicit => Err(ConfigError(format!(
            "the configuration file {} has no profile {name:?}",
            path.display()
        ))),
        None => Ok(Profile::default()),
    }
}

/// Warns when the file at `path`, which holds `what` (a private key, a secret), can be read by
/// other users.
pub(crate) fn warn_if_readable_by_others(path: &Path, what: &str) {
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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn read_secret_file(path: &Path, what: &str) -> Result<SecretString, ConfigError> {
    warn_if_readable_by_others(path, &format!("a {what}"));
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })?;
    Ok(SecretString::from(text.trim().to_owned()))
}

/// A client, and the account it signs in as, as a journal records it: `tenant/client at API
/// origin` (or `managed identity … at …`, `azure cli at …`), lower-cased (no secret).
pub(crate) struct Connected {
    /// The client.
    pub client: Client,
    /// Whom it signs in as, and where.
    pub account: String,
}

/// What the flags, the environment and the profile say about signing in: the Azure SDK's
/// environment variables first ([`CredentialSettings::from_env`]), overridden by hwdc's own.
fn credential_settings(
    global: &Global,
    profile: &Profile,
) -> Result<CredentialSettings, ConfigError> {
    let mut settings = CredentialSettings::from_env();
    settings.tenant_id = global
        .tenant_id
        .clone()
        .or(settings.tenant_id)
        .or(profile.tenant_id.clone());
    settings.client_id = global
        .client_id
        .clone()
        .or(settings.client_id)
        .or(profile.client_id.clone());
    settings.client_secret = match (&global.client_secret_file, env("HW_CLIENT_SECRET")) {
        (Some(file), _) => Some(read_secret_file(file, "client secret")?),
        (None, Some(secret)) => Some(SecretString::from(secret)),
        (None, None) => match (
            settings.client_secret,
            &profile.client_secret,
            &profile.client_secret_file,
        ) {
            (Some(secret), _, _) => Some(secret),
            (None, Some(secret), _) => Some(SecretString::from(secret.clone())),
            (None, None, Some(file)) => Some(read_secret_file(file, "client secret")?),
            (None, None, None) => None,
        },
    };
    settings.managed_identity_client_id = global
        .managed_identity_client_id
        .clone()
        .or(profile.managed_identity_client_id.clone());
    settings.certificate_path = global
        .client_certificate
        .clone()
        .or(settings.certificate_path)
        .or(profile.client_certificate.clone());
    if let Some(path) = &settings.certificate_path {
        warn_if_readable_by_others(path, "a private key");
    }
    if let Some(file) = &global.client_certificate_password_file {
        settings.certificate_password = Some(read_secret_file(file, "certificate password")?);
    }
    settings.federated_token_file = global
        .federated_token_file
        .clone()
        .or(settings.federated_token_file);
    settings.service_connection_id = global
        .service_connection_id
        .clone()
        .or(settings.service_connection_id);
    settings.authority = Some(
        global
            .authority_host
            .clone()
            .or(settings.authority)
            .or(profile.authority_host.clone())
            .unwrap_or_else(|| DEFAULT_AUTHORITY.to_owned()),
    );
    settings.endpoint = match global.token_endpoint.or(profile.token_endpoint) {
        Some(TokenEndpoint::V1) => EntraEndpoint::v1(),
        _ => EntraEndpoint::default(),
    };
    Ok(settings)
}

/// Why a credential is unavailable, in hwdc's terms (its flags and variables, not only the
/// Azure SDK's).
fn explain(unavailable: Unavailable) -> ConfigError {
    let hint = |why: &str| {
        why.replace(
            "no tenant id (AZURE_TENANT_ID)",
            "no tenant id: give --tenant-id, set HW_TENANT_ID (or AZURE_TENANT_ID), or put it in the profile",
        )
        .replace(
            "no client id (AZURE_CLIENT_ID)",
            "no client id: give --client-id, set HW_CLIENT_ID (or AZURE_CLIENT_ID), or put it in the profile",
        )
        .replace(
            "no client secret is given (AZURE_CLIENT_SECRET)",
            "no client secret: set HW_CLIENT_SECRET (or AZURE_CLIENT_SECRET), give --client-secret-file, or put it in the profile",
        )
        .replace(
            "AZURE_CLIENT_CERTIFICATE_PATH is not set",
            "no certificate: give --client-certificate, or set AZURE_CLIENT_CERTIFICATE_PATH",
        )
        .replace(
            "AZURE_FEDERATED_TOKEN_FILE is not set",
            "no federated token file: give --federated-token-file, or set AZURE_FEDERATED_TOKEN_FILE",
        )
        .replace(
            "SYSTEM_OIDCREQUESTURI, AZURESUBSCRIPTION_SERVICE_CONNECTION_ID or SYSTEM_ACCESSTOKEN is not set",
            "SYSTEM_OIDCREQUESTURI, SYSTEM_ACCESSTOKEN or the service connection (--service-connection-id, AZURESUBSCRIPTION_SERVICE_CONNECTION_ID) is not set",
        )
    };
    let tried = unavailable
        .tried
        .into_iter()
        .map(|(kind, why)| (kind, hint(&why)))
        .collect();
    ConfigError(Unavailable::new(tried).to_string())
}

/// The credential a flag of its own chooses, when no --auth is given: a flag outranks `auto`'s
/// order (a secret in the environment does not beat an explicit --client-certificate).
fn flagged(global: &Global) -> Option<AuthKind> {
    if global.client_certificate.is_some() {
        Some(AuthKind::Certificate)
    } else if global.federated_token_file.is_some() {
        Some(AuthKind::Federated)
    } else if global.service_connection_id.is_some() {
        Some(AuthKind::AzurePipelines)
    } else if global.managed_identity_client_id.is_some() {
        Some(AuthKind::ManagedIdentity)
    } else {
        None
    }
}

/// The client the settings describe, and whom it signs in as.
pub(crate) async fn connect(
    global: &Global,
    recorder: Option<&hw_api::Recorder>,
) -> Result<Connected, ConfigError> {
    let profile = load_profile(global)?;
    let settings = credential_settings(global, &profile)?;
    // A flag of one credential chooses it over `auto`'s order (a secret in the environment
    // does not outrank an explicit --client-certificate).
    let kind = global
        .auth
        .or(flagged(global))
        .or(profile.auth)
        .map_or(CredentialKind::Auto, AuthKind::kind);
    if let Some(recorder) = recorder {
        // The trace never holds them anyway; should the service echo one, it is replaced.
        for secret in [
            &settings.client_secret,
            &settings.certificate_password,
            &settings.github_request_token,
            &settings.pipelines_access_token,
            &settings.identity_header,
        ]
        .into_iter()
        .flatten()
        {
            recorder.add_secret(secret);
        }
    }
    let chosen = choose(kind, &settings).await.map_err(explain)?;
    let base_url = global
        .base_url
        .clone()
        .or(profile.base_url)
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let mut builder = Client::builder()
        .base_url(base_url)
        .shared_token_provider(chosen.provider);
    if let Some(attempts) = global.max_attempts {
        builder = builder.retry_policy(RetryPolicy::default().with_max_attempts(attempts));
    }
    let defaults = TransferOptions::default();
    let memory = global
        .block_size
        .unwrap_or(defaults.block_size / (1024 * 1024))
        * global
            .parallel
            .map_or(defaults.parallelism as u64, u64::from);
    if memory > 2048 {
        return Err(ConfigError(format!(
            "--block-size × --parallel would hold {memory} MiB of blocks in memory; keep it at most 2048"
        )));
    }
    let mut transfer = defaults;
    if let Some(mib) = global.block_size {
        transfer = transfer.with_block_size(mib * 1024 * 1024);
    }
    if let Some(blocks) = global.parallel {
        transfer = transfer.with_parallelism(usize::from(blocks));
    }
    if let Some(seconds) = global.stall_timeout {
        transfer = transfer.with_stall_timeout(std::time::Duration::from_secs(seconds));
    }
    builder = builder.transfer_options(transfer);
    if let Some(recorder) = recorder {
        builder = builder.record(recorder.clone());
    }
    let client = builder
        .build()
        .map_err(|e| ConfigError(hw_api::Report::new(&e).to_string()))?;
    let origin = client.base_url().origin().ascii_serialization();
    let account = format!("{} at {origin}", chosen.identity).to_lowercase();
    Ok(Connected { client, account })
}

/// A setting as `config show` lists it: its name, its value (secrets redacted) and where it
/// comes from.
pub(crate) type Described = (&'static str, String, &'static str);

/// Each setting of the profile in use, with where it comes from, in the order they are read
/// (flags and HW_* variables, then the Azure SDK's variables, then the profile, then defaults).
pub(crate) fn describe(global: &Global) -> Result<Vec<Described>, ConfigError> {
    let profile = load_profile(global)?;
    let show = |path: &Option<PathBuf>| path.as_ref().map(|p| p.display().to_string());
    let named = |kind: Option<AuthKind>| {
        kind.and_then(|k| clap::ValueEnum::to_possible_value(&k))
            .map(|v| v.get_name().to_owned())
    };
    let endpoint = |kind: Option<TokenEndpoint>| {
        kind.and_then(|k| clap::ValueEnum::to_possible_value(&k))
            .map(|v| v.get_name().to_owned())
    };
    // Each setting with its possible sources, first match wins.
    type Sources = Vec<(Option<String>, &'static str)>;
    let candidates: Vec<(&'static str, Sources)> = vec![
        (
            "base_url",
            vec![
                (global.base_url.clone(), "flag or HW_API_BASE_URL"),
                (profile.base_url.clone(), "profile"),
                (Some(DEFAULT_BASE_URL.to_owned()), "default"),
            ],
        ),
        (
            "authority_host",
            vec![
                (global.authority_host.clone(), "flag or HW_AUTHORITY_HOST"),
                (env("AZURE_AUTHORITY_HOST"), "AZURE_AUTHORITY_HOST"),
                (profile.authority_host.clone(), "profile"),
                (Some(DEFAULT_AUTHORITY.to_owned()), "default"),
            ],
        ),
        (
            "tenant_id",
            vec![
                (global.tenant_id.clone(), "flag or HW_TENANT_ID"),
                (env("AZURE_TENANT_ID"), "AZURE_TENANT_ID"),
                (profile.tenant_id.clone(), "profile"),
            ],
        ),
        (
            "client_id",
            vec![
                (global.client_id.clone(), "flag or HW_CLIENT_ID"),
                (env("AZURE_CLIENT_ID"), "AZURE_CLIENT_ID"),
                (profile.client_id.clone(), "profile"),
            ],
        ),
        (
            "managed_identity_client_id",
            vec![
                (
                    global.managed_identity_client_id.clone(),
                    "flag or HW_MANAGED_IDENTITY_CLIENT_ID",
                ),
                (profile.managed_identity_client_id.clone(), "profile"),
            ],
        ),
        (
            "auth",
            vec![
                (named(global.auth), "flag or HW_AUTH"),
                (named(flagged(global)), "chosen by its credential's flag"),
                (named(profile.auth), "profile"),
                (Some("auto".into()), "default"),
            ],
        ),
        (
            "token_endpoint",
            vec![
                (endpoint(global.token_endpoint), "flag"),
                (endpoint(profile.token_endpoint), "profile"),
                (Some("v2".into()), "default"),
            ],
        ),
        (
            "client_secret",
            vec![
                (
                    show(&global.client_secret_file),
                    "file given by flag or HW_CLIENT_SECRET_FILE",
                ),
                (
                    env("HW_CLIENT_SECRET").map(|_| "(set; redacted)".into()),
                    "HW_CLIENT_SECRET",
                ),
                (
                    env("AZURE_CLIENT_SECRET").map(|_| "(set; redacted)".into()),
                    "AZURE_CLIENT_SECRET",
                ),
                (
                    profile
                        .client_secret
                        .as_ref()
                        .map(|_| "(set; redacted)".into()),
                    "profile",
                ),
                (
                    show(&profile.client_secret_file),
                    "file named by the profile",
                ),
            ],
        ),
        (
            "client_certificate",
            vec![
                (
                    show(&global.client_certificate),
                    "flag or HW_CLIENT_CERTIFICATE_PATH",
                ),
                (
                    env("AZURE_CLIENT_CERTIFICATE_PATH"),
                    "AZURE_CLIENT_CERTIFICATE_PATH",
                ),
                (show(&profile.client_certificate), "profile"),
            ],
        ),
        (
            "federated_token_file",
            vec![
                (
                    show(&global.federated_token_file),
                    "flag or HW_FEDERATED_TOKEN_FILE",
                ),
                (
                    env("AZURE_FEDERATED_TOKEN_FILE"),
                    "AZURE_FEDERATED_TOKEN_FILE",
                ),
            ],
        ),
        (
            "service_connection_id",
            vec![
                (
                    global.service_connection_id.clone(),
                    "flag or HW_SERVICE_CONNECTION_ID",
                ),
                (
                    env("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"),
                    "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
                ),
            ],
        ),
    ];
    Ok(candidates
        .into_iter()
        .map(|(key, sources)| {
            sources
                .into_iter()
                .find_map(|(value, source)| value.map(|v| (key, v, source)))
                .unwrap_or((key, "(not set)".into(), "nowhere"))
        })
        .collect())
}
