//! `hwdc doctor`: the configuration checked end to end without changing anything: the
//! settings and where they come from, the sign-in and the API (the first page of products,
//! decoded), the clock against the service's, and the proxy settings in the environment.

use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use serde::Serialize;

use super::Ctx;
use crate::config;
use crate::exit::Failure;
use crate::output::Row;

/// How far the local clock may be from the service's before tokens are at risk (Entra and the
/// gateway allow a few minutes of skew).
const SKEW_WARNING: Duration = Duration::from_secs(120);

/// One line of `doctor`.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Finding {
    /// What was checked (`settings`, `sign-in`, `api`, `clock`, `proxy`).
    check: &'static str,
    /// How it went (`ok`, `warning`, `failed`).
    result: &'static str,
    /// What was found.
    detail: String,
}

impl Row for Finding {
    const COLUMNS: &'static [(&'static str, usize)] =
        &[("CHECK", 12), ("RESULT", 7), ("DETAIL", 0)];

    fn cells(&self) -> Vec<String> {
        vec![self.check.into(), self.result.into(), self.detail.clone()]
    }
}

fn finding(check: &'static str, result: &'static str, detail: String) -> Finding {
    Finding {
        check,
        result,
        detail,
    }
}

/// The proxy variables set, their credentials hidden.
fn proxies() -> Vec<String> {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ]
    .iter()
    .filter_map(|name| {
        let value = std::env::var(name).ok().filter(|v| !v.is_empty())?;
        let shown = match url::Url::parse(&value) {
            Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
                let _ = url.set_username("REDACTED");
                let _ = url.set_password(None);
                url.to_string()
            }
            _ => value,
        };
        Some(format!("{name}={shown}"))
    })
    .collect()
}

/// Runs `doctor`: every finding, then the failure of the first check that failed.
pub(crate) async fn run(ctx: &Ctx) -> Result<(), Failure> {
    let mut findings = Vec::new();
    let mut failure = None;
    match config::describe(&ctx.global) {
        Ok(settings) => {
            for (key, value, source) in settings {
                if matches!(key, "base_url" | "auth" | "tenant_id" | "client_id") {
                    findings.push(finding(
                        "settings",
                        "ok",
                        format!("{key} = {value} ({source})"),
                    ));
                }
            }
        }
        Err(e) => {
            findings.push(finding("settings", "error", e.to_string()));
            failure = Some(Failure::from(e));
        }
    }
    if failure.is_none() {
        match config::connect(&ctx.global, ctx.recorder.as_ref()).await {
            Err(e) => {
                findings.push(finding("credential", "error", e.to_string()));
                failure = Some(Failure::from(e));
            }
            Ok(config::Connected { client, account }) => {
                findings.push(finding("credential", "ok", account));
                let mut pages = client.list_products().pages();
                match pages.try_next().await {
                    Ok(page) => findings.push(finding(
                        "api",
                        "ok",
                        format!(
                            "signed in; the first page of products decoded ({} products{})",
                            page.as_ref().map_or(0, |p| p.items.len()),
                            if page.as_ref().is_some_and(|p| p.next_link.is_some()) {
                                ", more pages follow"
                            } else {
                                ""
                            }
                        ),
                    )),
                    Err(e) => {
                        let check = if e.kind() == hw_api::ErrorKind::Auth {
                            "sign-in"
                        } else {
                            "api"
                        };
                        findings.push(finding(check, "error", hw_api::Report::new(&e).to_string()));
                        failure = Some(Failure::from(e));
                    }
                }
                match client.service_clock().await {
                    Ok(theirs) => {
                        let now = SystemTime::now();
                        let (skew, ahead) = match now.duration_since(theirs) {
                            Ok(d) => (d, "ahead of"),
                            Err(e) => (e.duration(), "behind"),
                        };
                        let detail = format!(
                            "this machine's clock is {}s {ahead} the service's",
                            skew.as_secs()
                        );
                        let result = if skew > SKEW_WARNING { "warning" } else { "ok" };
                        findings.push(finding("clock", result, detail));
                    }
                    Err(e) => findings.push(finding(
                        "clock",
                        "warning",
                        hw_api::Report::new(&e).to_string(),
                    )),
                }
            }
        }
    }
    let proxies = proxies();
    findings.push(finding(
        "proxy",
        "ok",
        if proxies.is_empty() {
            "no proxy variables are set".into()
        } else {
            proxies.join(", ")
        },
    ));
    ctx.out
        .list(
            futures_util::stream::iter(findings.into_iter().map(Ok)),
            None,
        )
        .await?;
    match failure {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}
