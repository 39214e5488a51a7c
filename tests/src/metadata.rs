//! A stand-in for a virtual machine's instance metadata service with no managed identity (what
//! a hosted CI runner has): every request gets the service's `400 Identity not found`, and every
//! connection is counted, so that a test can prove nothing asked it anything.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The stand-in, listening on loopback until the test process ends.
pub struct MetadataStandIn {
    url: String,
    connections: Arc<AtomicUsize>,
}

impl MetadataStandIn {
    /// Starts it on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || answer(stream));
            }
        });
        Self { url, connections }
    }

    /// Its authority, for `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many connections it has accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads one request's head and answers it as the metadata service of a VM without an identity.
fn answer(stream: TcpStream) {
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        if line == "\r\n" {
            break;
        }
        line.clear();
    }
    let body = r#"{"error":"invalid_request","error_description":"Identity not found"}"#;
    let _ = (&stream).write_all(
        format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}
