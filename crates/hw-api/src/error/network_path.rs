//! Why no request gets through when the network between here and the service is set up so
//! that none will: a server certificate that is not trusted (a network that inspects TLS with a
//! CA this machine does not trust), a proxy that refuses the credentials or the destination, a
//! proxy that cannot be reached. Configuration fixes these, never another attempt; each is
//! told with what fixes it.
//!
//! reqwest and hyper-util keep these failures' types private (the tunnel's error) or out of
//! the source chain (rustls' error sits inside `io::Error`s), so they are recognised here by
//! walking the chain, peeling `io::Error`s, and by the tunnel error's words. The refused
//! certificate's issuer comes from `net/trust.rs`, which puts it in the handshake's error.

use std::error::Error as StdError;
#[cfg(test)]
use std::fmt;

#[cfg(feature = "rustls")]
use crate::net::{RefusedCertificate, certificate_reason};

/// What is wrong with the network path to a host.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkProblem {
    /// The server's certificate is not trusted here, or is not for the host (a network that
    /// inspects TLS, whose CA is not installed; a name that leads elsewhere).
    UntrustedCertificate {
        /// What the TLS stack found wrong.
        reason: String,
        /// The issuer of the certificate presented, when it could be read.
        issuer: Option<String>,
    },
    /// The proxy refused the credentials (407): none were given, or they are wrong.
    ProxyAuthentication,
    /// The proxy refused to open a tunnel to the host; `status` is its answer, where known
    /// (a 403 denies the destination; a 502, 503 or 504 means it could not reach it now).
    ProxyRefused {
        /// The proxy's status.
        status: Option<u16>,
    },
    /// The proxy cannot be reached: its name does not resolve, or it refuses the connection.
    ProxyUnreachable {
        /// What the connection attempt said.
        detail: String,
    },
}

impl NetworkProblem {
    /// The problem `error` shows, if it is one of these.
    pub(crate) fn of(error: &(dyn StdError + 'static)) -> Option<Self> {
        let mut texts = Vec::new();
        let mut next = Some(error);
        while let Some(level) = next {
            if let Some(problem) = certificate(level) {
                return Some(problem);
            }
            texts.push(level.to_string());
            next = level.source();
        }
        let tunnel = texts.iter().find(|t| t.starts_with("tunnel error: "))?;
        if tunnel.contains("proxy authorization required") {
            Some(NetworkProblem::ProxyAuthentication)
        } else if tunnel.contains("failed to create underlying connection") {
            let detail = texts
                .iter()
                .skip_while(|t| !t.starts_with("tunnel error: "))
                .skip(1)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(": ");
            Some(NetworkProblem::ProxyUnreachable { detail })
        } else if tunnel.contains("unsuccessful") {
            Some(NetworkProblem::ProxyRefused { status: None })
        } else {
            None
        }
    }

    /// Whether another attempt later may get through (a proxy that could not reach the host
    /// now): the others need a change of configuration.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            NetworkProblem::ProxyRefused {
                status: Some(502..=504)
            }
        )
    }

    /// The kind of failure it is.
    pub(crate) fn kind(&self) -> super::ErrorKind {
        match self {
            _ if self.is_transient() => super::ErrorKind::Transient,
            NetworkProblem::UntrustedCertificate { .. } => super::ErrorKind::Certificate,
            _ => super::ErrorKind::Proxy,
        }
    }

    /// One line for a person: what is wrong with the way to `host` (through `proxy`, shown
    /// without credentials), and what fixes it.
    pub(crate) fn describe(&self, host: &str, proxy: Option<&str>) -> String {
        let proxy = proxy.unwrap_or("the proxy");
        match self {
            NetworkProblem::UntrustedCertificate { reason, issuer } => format!(
                "the server certificate of {host} is not trusted ({reason}){}; trust comes from {}: if a proxy or firewall on this network inspects TLS, add its CA there",
                issuer
                    .as_deref()
                    .map(|i| format!(", issued by {i}"))
                    .unwrap_or_default(),
                trust_sources()
            ),
            NetworkProblem::ProxyAuthentication => format!(
                "{proxy} refused the credentials (407) for {host}: give them in the proxy URL (http://user:password@host:port) or fix them"
            ),
            NetworkProblem::ProxyRefused {
                status: Some(status),
            } if self.is_transient() => {
                format!("{proxy} could not reach {host} (it answered {status})")
            }
            NetworkProblem::ProxyRefused { status } => format!(
                "{proxy} refused to open a tunnel to {host}{}: the proxy does not allow this destination; ask for it to be allowed, or set NO_PROXY for it if it is reachable without the proxy",
                status
                    .map(|s| format!(" (it answered {s})"))
                    .unwrap_or_default()
            ),
            NetworkProblem::ProxyUnreachable { detail } => format!(
                "{proxy} cannot be reached on the way to {host} ({detail}): check HTTPS_PROXY (or the configured proxy) and that the proxy runs"
            ),
        }
    }
}

/// The certificate problem `level` is, if it is one: a rustls error, or an `io::Error`
/// wrapping one (as hyper-rustls and tokio-rustls pass it on).
fn certificate(level: &(dyn StdError + 'static)) -> Option<NetworkProblem> {
    let mut current = level;
    loop {
        #[cfg(feature = "rustls")]
        if let Some(refused) = current.downcast_ref::<RefusedCertificate>() {
            return Some(NetworkProblem::UntrustedCertificate {
                reason: refused.reason.clone(),
                issuer: refused.issuer.clone(),
            });
        }
        #[cfg(feature = "rustls")]
        if let Some(rustls::Error::InvalidCertificate(error)) =
            current.downcast_ref::<rustls::Error>()
        {
            if let rustls::CertificateError::Other(other) = error
                && let Some(refused) = other.0.downcast_ref::<RefusedCertificate>()
            {
                return Some(NetworkProblem::UntrustedCertificate {
                    reason: refused.reason.clone(),
                    issuer: refused.issuer.clone(),
                });
            }
            return Some(NetworkProblem::UntrustedCertificate {
                reason: certificate_reason(error),
                issuer: None,
            });
        }
        current = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn StdError + 'static))?;
    }
}

/// Where this machine's trust in server certificates comes from, in words.
fn trust_sources() -> String {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if cfg!(windows) {
        return "the Windows certificate store (Local Machine or Current User, Trusted Root Certification Authorities)".to_owned();
    }
    if cfg!(target_os = "macos") {
        return "the macOS keychain".to_owned();
    }
    match (set("SSL_CERT_FILE"), set("SSL_CERT_DIR")) {
        (None, None) => {
            "the system store (SSL_CERT_FILE and SSL_CERT_DIR are not set; either replaces it)"
                .to_owned()
        }
        (file, dir) => {
            let named: Vec<String> = [("SSL_CERT_FILE", file), ("SSL_CERT_DIR", dir)]
                .into_iter()
                .filter_map(|(name, value)| {
                    value.map(|v| format!("{name}={}", std::path::Path::new(&v).display()))
                })
                .collect();
            format!(
                "{} alone, in place of the system store",
                named.join(" and ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Level(&'static str, Option<Box<Level>>);

    impl fmt::Display for Level {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Level {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|l| l as &(dyn StdError + 'static))
        }
    }

    fn chain(texts: &[&'static str]) -> Level {
        texts
            .iter()
            .rev()
            .fold(None, |under, text| Some(Box::new(Level(text, under))))
            .map(|l| *l)
            .unwrap()
    }

    #[test]
    fn the_tunnel_errors_are_told_apart() {
        let of = |texts: &[&'static str]| NetworkProblem::of(&chain(texts));
        assert_eq!(
            of(&[
                "error sending request",
                "client error (Connect)",
                "tunnel error: proxy authorization required"
            ]),
            Some(NetworkProblem::ProxyAuthentication)
        );
        assert_eq!(
            of(&[
                "error sending request",
                "client error (Connect)",
                "tunnel error: unsuccessful"
            ]),
            Some(NetworkProblem::ProxyRefused { status: None })
        );
        assert_eq!(
            of(&[
                "error sending request",
                "client error (Connect)",
                "tunnel error: failed to create underlying connection",
                "tcp connect error",
                "Connection refused (os error 111)"
            ]),
            Some(NetworkProblem::ProxyUnreachable {
                detail: "tcp connect error: Connection refused (os error 111)".into()
            })
        );
        assert_eq!(
            of(&[
                "error sending request",
                "client error (Connect)",
                "tcp connect error"
            ]),
            None,
            "the host itself refused: not the proxy"
        );
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_refused_certificate_is_found_inside_io_errors() {
        let refused = RefusedCertificate {
            reason: "its issuer is not a trusted CA".into(),
            issuer: Some("CN=Inspection CA".into()),
        };
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, refused);
        let outer = std::io::Error::other(inner);
        assert_eq!(
            NetworkProblem::of(&outer),
            Some(NetworkProblem::UntrustedCertificate {
                reason: "its issuer is not a trusted CA".into(),
                issuer: Some("CN=Inspection CA".into())
            })
        );
    }

    #[test]
    fn only_a_proxy_that_cannot_reach_the_host_now_is_transient() {
        for status in [502, 503, 504] {
            let problem = NetworkProblem::ProxyRefused {
                status: Some(status),
            };
            assert!(problem.is_transient());
            assert_eq!(problem.kind(), super::super::ErrorKind::Transient);
        }
        for problem in [
            NetworkProblem::ProxyRefused { status: Some(403) },
            NetworkProblem::ProxyRefused { status: None },
            NetworkProblem::ProxyAuthentication,
            NetworkProblem::ProxyUnreachable {
                detail: String::new(),
            },
        ] {
            assert!(!problem.is_transient(), "{problem:?}");
            assert_eq!(problem.kind(), super::super::ErrorKind::Proxy);
        }
        let untrusted = NetworkProblem::UntrustedCertificate {
            reason: String::new(),
            issuer: None,
        };
        assert_eq!(untrusted.kind(), super::super::ErrorKind::Certificate);
    }

    #[test]
    fn a_refused_tunnel_says_whether_a_person_or_time_fixes_it() {
        let now = NetworkProblem::ProxyRefused { status: Some(502) }.describe("h", None);
        assert!(now.contains("could not reach h (it answered 502)"), "{now}");
        assert!(!now.contains("does not allow"), "{now}");
        let denied = NetworkProblem::ProxyRefused { status: Some(403) }.describe("h", None);
        assert!(
            denied.contains("refused to open a tunnel to h (it answered 403)")
                && denied.contains("does not allow this destination"),
            "{denied}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn trust_is_said_to_come_from_the_system_store_or_the_variables_that_replace_it() {
        let said = trust_sources();
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if set("SSL_CERT_FILE") || set("SSL_CERT_DIR") {
            assert!(said.contains("in place of the system store"), "{said}");
        } else {
            assert!(said.starts_with("the system store"), "{said}");
        }
    }

    #[test]
    fn the_message_names_the_issuer_the_host_and_where_trust_comes_from() {
        let text = NetworkProblem::UntrustedCertificate {
            reason: "its issuer is not a trusted CA".into(),
            issuer: Some("CN=Inspection CA,O=Contoso".into()),
        }
        .describe("manage.devcenter.microsoft.com", Some("http://proxy:3128"));
        assert!(text.contains("manage.devcenter.microsoft.com"), "{text}");
        assert!(
            text.contains("issued by CN=Inspection CA,O=Contoso"),
            "{text}"
        );
        assert!(text.contains("trust comes from"), "{text}");
        let text = NetworkProblem::ProxyAuthentication.describe("h", Some("http://proxy:3128"));
        assert!(
            text.contains("http://proxy:3128") && text.contains("407"),
            "{text}"
        );
    }
}
