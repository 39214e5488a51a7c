//! A forward HTTP proxy on loopback, for tests that check which requests go through a proxy
//! and what they carry. It forwards each request it is sent (absolute-form, one per
//! connection) to its origin and tunnels `CONNECT`, and notes the request line and the headers
//! of each. A real proxy as far as a client can tell: the client only reaches the origin
//! through it.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request the proxy forwarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forwarded {
    /// The method.
    pub method: String,
    /// The target as sent to the proxy: an absolute URL, or `host:port` for `CONNECT`.
    pub target: String,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
}

/// A running proxy; it stops when dropped.
pub struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<Forwarded>>>,
    task: tokio::task::JoinHandle<()>,
}

/// How the proxy answers a `CONNECT`.
#[derive(Clone, Copy, Debug)]
enum Tunnels {
    /// It opens the tunnel.
    Open,
    /// It refuses with this status (407 with a `Proxy-Authenticate` challenge).
    Refuse(u16),
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Starts a proxy on a free loopback port.
    pub async fn start() -> Self {
        Self::serving(Tunnels::Open).await
    }

    /// Starts a proxy that answers every `CONNECT` with `status` (407: the credentials are
    /// refused; 403: the destination is; 502: it cannot reach it), as a corporate proxy does.
    pub async fn refusing_tunnels(status: u16) -> Self {
        Self::serving(Tunnels::Refuse(status)).await
    }

    async fn serving(tunnels: Tunnels) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let noted = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, noted.clone(), tunnels));
            }
        });
        Self { url, seen, task }
    }

    /// Its URL, for `ClientBuilder::proxy` or `HTTPS_PROXY`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request forwarded so far, in order.
    pub fn forwarded(&self) -> Vec<Forwarded> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

/// Serves one client connection: reads a request head, forwards it, then relays bytes both
/// ways until either side closes.
async fn serve(mut client: TcpStream, seen: Arc<Mutex<Vec<Forwarded>>>, tunnels: Tunnels) {
    let Some((head, rest)) = read_head(&mut client).await else {
        return;
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut parts = request_line.split(' ');
    let (method, target, version) = (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or("HTTP/1.1").to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let user_agent = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| v.clone());
    seen.lock().expect("not poisoned").push(Forwarded {
        method: method.clone(),
        target: target.clone(),
        user_agent,
    });
    if let (true, Tunnels::Refuse(status)) = (method == "CONNECT", tunnels) {
        let challenge = if status == 407 {
            "Proxy-Authenticate: Basic realm=\"proxy\"\r\n"
        } else {
            ""
        };
        let answer = format!("HTTP/1.1 {status} Refused\r\n{challenge}Content-Length: 0\r\n\r\n");
        let _ = client.write_all(answer.as_bytes()).await;
        return;
    }
    if method == "CONNECT" {
        let Ok(mut upstream) = TcpStream::connect(&target).await else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            return;
        };
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .is_ok()
        {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
        return;
    }
    let Ok(url) = url::Url::parse(&target) else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        return;
    };
    let authority = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(80)
    );
    let Ok(mut upstream) = TcpStream::connect(&authority).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    // One request per connection: the origin closes after its answer, and so does the client.
    let mut out = format!("{method} {path} {version}\r\n");
    for (name, value) in &headers {
        let hop = [
            "connection",
            "proxy-connection",
            "proxy-authorization",
            "keep-alive",
        ];
        if !hop.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(out.as_bytes()).await.is_err() || upstream.write_all(&rest).await.is_err()
    {
        return;
    }
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_upstream, mut to_upstream) = upstream.into_split();
    let body = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_client, &mut to_upstream).await;
    });
    // The answer's end ends the exchange, whether or not the client has closed its side.
    let _ = tokio::io::copy(&mut from_upstream, &mut to_client).await;
    let _ = to_client.shutdown().await;
    body.abort();
}

/// Reads up to the end of a request head; returns it and the bytes read past it.
async fn read_head(client: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            return Some((head, buffer[end + 4..].to_vec()));
        }
        if buffer.len() > 64 * 1024 {
            return None;
        }
    }
}
