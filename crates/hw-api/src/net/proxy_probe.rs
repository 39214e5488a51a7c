//! The status a proxy gives to a `CONNECT`, asked once more after reqwest reported only that
//! the tunnel was refused: hyper-util's tunnel keeps the status to itself, and a refused
//! destination (403) needs a person while a proxy that cannot reach the host now (502, 503,
//! 504) needs another attempt. Hand-written: no crate of the stack asks a proxy this.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The most time the question may take, connection included.
const PATIENCE: Duration = Duration::from_secs(5);

/// The status the proxy the environment gives for `url` (`HTTPS_PROXY`, …, as reqwest reads
/// them) answers to a `CONNECT` to `url`'s host, with the proxy URL's credentials; `None` when
/// there is no such proxy, it is not a plain-HTTP one, or it does not answer in time.
pub(crate) async fn connect_status(url: &url::Url) -> Option<u16> {
    let uri: http::Uri = url.as_str().parse().ok()?;
    let proxy = hyper_util::client::proxy::matcher::Matcher::from_system().intercept(&uri)?;
    if proxy.uri().scheme_str() != Some("http") {
        return None;
    }
    let address = format!(
        "{}:{}",
        proxy.uri().host()?,
        proxy.uri().port_u16().unwrap_or(80)
    );
    let target = format!("{}:{}", url.host_str()?, url.port_or_known_default()?);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = proxy.basic_auth().and_then(|v| v.to_str().ok()) {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    let asked = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut line = String::new();
        BufReader::new(&mut stream)
            .read_line(&mut line)
            .await
            .ok()?;
        status_of(&line)
    };
    tokio::time::timeout(PATIENCE, asked).await.ok().flatten()
}

/// The status of an HTTP/1 status line (`HTTP/1.1 403 Forbidden`).
fn status_of(line: &str) -> Option<u16> {
    let mut words = line.split_whitespace();
    words.next().filter(|w| w.starts_with("HTTP/"))?;
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line_gives_its_status() {
        assert_eq!(status_of("HTTP/1.1 403 Forbidden\r\n"), Some(403));
        assert_eq!(status_of("HTTP/1.0 502 Bad Gateway"), Some(502));
        assert_eq!(status_of("SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_of(""), None);
    }
}
