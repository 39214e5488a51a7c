//! `hwdc config init|path|show`: the configuration file a person keeps.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use super::Ctx;
use crate::cli::{ConfigCommand, ConfigInit};
use crate::config;
use crate::exit::Failure;

fn usage(message: String) -> Failure {
    Failure::Local {
        kind: hw_api::ErrorKind::Config,
        message,
    }
}

fn file_error(path: &Path, e: std::io::Error) -> Failure {
    Failure::Local {
        kind: hw_api::ErrorKind::LocalIo,
        message: format!("{}: {e}", path.display()),
    }
}

/// The configuration file the settings name.
fn config_path(ctx: &Ctx) -> Result<PathBuf, Failure> {
    ctx.global
        .config
        .clone()
        .or_else(config::default_path)
        .ok_or_else(|| {
            usage("this system has no configuration directory: give --config FILE".into())
        })
}

fn profile_name(ctx: &Ctx) -> String {
    ctx.global
        .profile
        .clone()
        .unwrap_or_else(|| "default".into())
}

/// Runs `config`.
pub(crate) async fn run(ctx: &Ctx, command: ConfigCommand) -> Result<(), Failure> {
    match command {
        ConfigCommand::Path => {
            let path = config_path(ctx)?;
            ctx.out.done(
                &path.display().to_string(),
                crate::results::ConfigPath {
                    exists: path.is_file(),
                    path,
                },
            );
            Ok(())
        }
        ConfigCommand::Show => show(ctx),
        ConfigCommand::Init(init) => write_profile(ctx, &init),
    }
}

/// One line of the terminal, asked for on standard error.
fn ask(question: &str) -> Result<String, Failure> {
    eprint!("{question}: ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
    Ok(line.trim().to_owned())
}

/// A setting from the flags (or HW_* variables), else asked for on a terminal.
fn setting(given: &Option<String>, what: &str, flag: &str) -> Result<String, Failure> {
    if let Some(value) = given {
        return Ok(value.clone());
    }
    if std::io::stdin().is_terminal() {
        let value = ask(what)?;
        if !value.is_empty() {
            return Ok(value);
        }
    }
    Err(usage(format!("no {what}: give {flag}")))
}

/// The client secret: asked for without echo on a terminal, else the first line of standard
/// input.
fn secret() -> Result<String, Failure> {
    let secret = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Client secret (not shown): ")
            .map_err(|e| usage(format!("cannot read the secret: {e}")))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| usage(format!("cannot read the secret from standard input: {e}")))?;
        line
    };
    let secret = secret.trim().to_owned();
    if secret.is_empty() {
        return Err(usage(
            "no client secret was given (use --no-secret to keep none in the file)".into(),
        ));
    }
    Ok(secret)
}

/// `config init`: the profile written into the file, its other profiles kept.
fn write_profile(ctx: &Ctx, init: &ConfigInit) -> Result<(), Failure> {
    let path = config_path(ctx)?;
    let name = profile_name(ctx);
    let mut file: toml::Table = match std::fs::read_to_string(&path) {
        Ok(text) => text.parse().map_err(|e: toml::de::Error| {
            usage(format!(
                "the configuration file {} is not valid: {}",
                path.display(),
                e.message()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(e) => return Err(file_error(&path, e)),
    };
    let profiles = file
        .entry("profile")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(profiles) = profiles.as_table_mut() else {
        return Err(usage(format!(
            "{}: `profile` is not a table",
            path.display()
        )));
    };
    if profiles.contains_key(&name) && !init.force {
        return Err(usage(format!(
            "{} already has a profile {name:?}: give --force to replace it",
            path.display()
        )));
    }
    let g = &ctx.global;
    let mut profile = toml::Table::new();
    let mut put = |key: &str, value: String| {
        profile.insert(key.into(), toml::Value::String(value));
    };
    put(
        "tenant_id",
        setting(&g.tenant_id, "tenant id", "--tenant-id")?,
    );
    put(
        "client_id",
        setting(&g.client_id, "client id", "--client-id")?,
    );
    for (key, value) in [
        ("base_url", g.base_url.clone()),
        ("authority_host", g.authority_host.clone()),
        (
            "managed_identity_client_id",
            g.managed_identity_client_id.clone(),
        ),
    ] {
        if let Some(value) = value {
            put(key, value);
        }
    }
    if let Some(certificate) = &g.client_certificate {
        put("client_certificate", absolute(certificate));
    }
    let stored_secret = if let Some(file) = &g.client_secret_file {
        put("client_secret_file", absolute(file));
        false
    } else if !init.no_secret && g.client_certificate.is_none() {
        put("client_secret", secret()?);
        true
    } else {
        false
    };
    profiles.insert(name.clone(), toml::Value::Table(profile));
    let text = toml::to_string(&file).map_err(|e| usage(e.to_string()))?;
    write_private(&path, text.as_bytes())?;
    ctx.out.done(
        &format!(
            "Wrote profile {name:?} to {}{}.",
            path.display(),
            if stored_secret {
                " (with the client secret; readable by you only)"
            } else {
                ""
            }
        ),
        crate::results::ProfileWritten {
            path,
            profile: name,
            client_secret_stored: stored_secret,
        },
    );
    Ok(())
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// Writes `bytes` to `path` through a file readable by its owner only (mode 0600 on Unix; on
/// Windows the file inherits the user's profile directory's access list), then renames it over.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| file_error(parent, e))?;
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".new");
    let partial = PathBuf::from(partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = (|| {
        let mut file = options.open(&partial)?;
        #[cfg(unix)]
        {
            // An older file of that name keeps its mode through `open`.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&partial, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        file_error(path, e)
    })
}

/// `config show`: each setting of the profile in use with where it comes from.
fn show(ctx: &Ctx) -> Result<(), Failure> {
    let path = config_path(ctx)?;
    let name = profile_name(ctx);
    let settings = config::describe(&ctx.global)?;
    let mut text = format!("configuration file: {}\nprofile: {name}\n", path.display());
    let mut map = std::collections::BTreeMap::new();
    for (key, value, source) in &settings {
        text.push_str(&format!("{key} = {value} ({source})\n"));
        map.insert(
            (*key).to_owned(),
            crate::results::Setting {
                value: value.to_string(),
                source: source.to_string(),
            },
        );
    }
    ctx.out.done(
        text.trim_end(),
        crate::results::ConfigShown {
            path,
            profile: name,
            settings: map,
        },
    );
    Ok(())
}
