//! Settings from flags, the environment, the profile file and defaults — in that order — and
//! the client built from them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hw_api::auth::{ClientCredentials, DEFAULT_AUTHORITY, EntraEndpoint};
use hw_api::transfer::TransferOptions;
use hw_api::{Client, DEFAULT_BASE_URL, RetryPolicy, SecretString};
use serde::Deserialize;

use crate::cli::{Global, TokenEndpoint};

/// A problem with the settings (exit code 2).
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One profile of the configuration file.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct Profile {
    base_url: Option<String>,
    authority_host: Option<String>,
    tenant_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_file: Option<PathBuf>,
    token_endpoint: Option<TokenEndpoint>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    profile: BTreeMap<String, Profile>,
}

/// The default configuration file.
pub fn default_path() -> Option<PathBuf> {
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
        warn_if_readable_by_others(&path);
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

/// Warns when a file holding a secret can be read by other users.
pub fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                "{} holds a client secret and can be read by other users; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn read_secret_file(path: &Path) -> Result<SecretString, ConfigError> {
    warn_if_readable_by_others(path);
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "cannot read the client secret file {}: {e}",
            path.display()
        ))
    })?;
    Ok(SecretString::from(text.trim().to_owned()))
}

/// The account the settings name, as a journal records it: `tenant/client at API origin`,
/// lower-cased (no secret).
pub fn account(global: &Global, client: &Client) -> Result<String, ConfigError> {
    let (tenant, client_id) = identity(global, &load_profile(global)?)?;
    let origin = client.base_url().origin().ascii_serialization();
    Ok(format!("{tenant}/{client_id} at {origin}").to_lowercase())
}

/// The tenant id and the client id, from the flags, the environment or the profile.
fn identity(global: &Global, profile: &Profile) -> Result<(String, String), ConfigError> {
    let missing = |what: &str, flag: &str, var: &str| {
        ConfigError(format!(
            "no {what}: give {flag}, set {var} (or AZURE_{}), or put it in the profile",
            var.trim_start_matches("HW_")
        ))
    };
    let tenant = global
        .tenant_id
        .clone()
        .or_else(|| env("AZURE_TENANT_ID"))
        .or(profile.tenant_id.clone())
        .ok_or_else(|| missing("tenant id", "--tenant-id", "HW_TENANT_ID"))?;
    let client_id = global
        .client_id
        .clone()
        .or_else(|| env("AZURE_CLIENT_ID"))
        .or(profile.client_id.clone())
        .ok_or_else(|| missing("client id", "--client-id", "HW_CLIENT_ID"))?;
    Ok((tenant, client_id))
}

/// The client the settings describe.
pub fn client(global: &Global) -> Result<Client, ConfigError> {
    let profile = load_profile(global)?;
    let (tenant, client_id) = identity(global, &profile)?;
    let secret = match (
        &global.client_secret_file,
        env("HW_CLIENT_SECRET"),
        env("AZURE_CLIENT_SECRET"),
    ) {
        (Some(file), _, _) => read_secret_file(file)?,
        (None, Some(secret), _) | (None, None, Some(secret)) => SecretString::from(secret),
        (None, None, None) => match (&profile.client_secret, &profile.client_secret_file) {
            (Some(secret), _) => SecretString::from(secret.clone()),
            (None, Some(file)) => read_secret_file(file)?,
            (None, None) => {
                return Err(ConfigError(
                    "no client secret: set HW_CLIENT_SECRET (or AZURE_CLIENT_SECRET), give --client-secret-file, or put it in the profile".into(),
                ));
            }
        },
    };
    let authority = global
        .authority_host
        .clone()
        .or_else(|| env("AZURE_AUTHORITY_HOST"))
        .or(profile.authority_host)
        .unwrap_or_else(|| DEFAULT_AUTHORITY.to_owned());
    let endpoint = match global.token_endpoint.or(profile.token_endpoint) {
        Some(TokenEndpoint::V1) => EntraEndpoint::v1(),
        _ => EntraEndpoint::default(),
    };
    let credentials = ClientCredentials::new(tenant, client_id, secret)
        .with_authority(&authority)
        .map_err(|e| ConfigError(e.to_string()))?
        .with_endpoint(endpoint);
    let base_url = global
        .base_url
        .clone()
        .or(profile.base_url)
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let mut builder = Client::builder()
        .base_url(base_url)
        .token_provider(credentials);
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
    builder.build().map_err(|e| ConfigError(e.to_string()))
}
