//! Which URLs may receive the bearer token, and which may be plain HTTP.

use url::{Host, Url};

/// True for `localhost` and loopback addresses (127.0.0.0/8, ::1): the only hosts that may be
/// reached over plain HTTP (the simulator and tests).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Parses `text` as a URL that may carry credentials: HTTPS, or HTTP to a loopback host; the
/// error says why not, for a configuration error.
pub(crate) fn secure_url(text: &str, what: &str) -> Result<Url, String> {
    let url = Url::parse(text)
        .map_err(|e| format!("{what} {:?} is not a URL: {e}", crate::redact::text(text)))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "{what} {} must use https (plain http is allowed only for loopback hosts)",
            crate::redact::url(&url)
        )),
        other => Err(format!("{what} has unsupported scheme {other:?}")),
    }
}

/// True when `a` and `b` have the same scheme, host and port.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// Whether the access token may go to `url`: only to the API's own origin (that of `base`).
/// The one place this is decided; every API request passes through it.
pub(crate) fn may_carry_token(url: &Url, base: &Url) -> bool {
    same_origin(url, base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_may_use_http() {
        assert!(secure_url("http://127.0.0.1:8080/v2.0/my", "base URL").is_ok());
        assert!(secure_url("http://[::1]:1/x", "base URL").is_ok());
        assert!(secure_url("http://localhost/x", "base URL").is_ok());
        let err =
            secure_url("http://manage.devcenter.microsoft.com/v2.0/my", "base URL").unwrap_err();
        assert!(err.to_string().contains("must use https"), "{err}");
        assert!(secure_url("ftp://x/", "base URL").is_err());
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let base = Url::parse("https://api.test/v2.0/my").unwrap();
        assert!(same_origin(
            &base,
            &Url::parse("https://api.test:443/other?x=1").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("http://api.test/v2.0/my").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("https://api.test:8443/v2.0/my").unwrap()
        ));
        assert!(!same_origin(
            &base,
            &Url::parse("https://api.test.evil/v2.0/my").unwrap()
        ));
    }
}
