//! A trace that hw-api recorded (`docs/traces.md`), read for `hw-sim --replay`
//! (`replay.rs` serves it). The parser is the simulator's own: it shares no code with the
//! recorder.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Deserialize;
use serde_json::Value;

/// The trace format this simulator reads.
const FORMAT: u32 = 1;

/// Why a trace cannot be replayed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not what the format says.
    #[error("line {line}: {message}")]
    Line {
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// A parsed trace, ready to be served.
#[derive(Debug, Clone)]
pub struct Trace {
    pub(crate) exchanges: Vec<Exchange>,
    /// The recorded API base URL (`https://host/v2.0/my`), if a client line says.
    pub(crate) api_base: Option<String>,
    /// When the recording started, if the first line says.
    pub(crate) started: Option<SystemTime>,
}

/// One line of a trace.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Line {
    Trace {
        format: u32,
        #[serde(default)]
        started: Option<String>,
    },
    Client {
        api_base: String,
    },
    Exchange(Box<Exchange>),
}

/// One recorded exchange.
#[derive(Deserialize, Debug, Clone)]
pub struct Exchange {
    /// The order in which the request was sent.
    pub seq: u64,
    /// `api`, `token` or `blob`.
    pub service: String,
    /// The operation.
    pub operation: String,
    /// The HTTP method.
    pub method: String,
    /// `scheme://host[:port]`.
    pub origin: String,
    /// The path and query.
    pub target: String,
    #[serde(default)]
    pub(crate) request: Message,
    /// The answer's status, if there was one.
    pub status: Option<u16>,
    pub(crate) response: Option<Message>,
}

/// A recorded request or answer: its headers and its body, if kept.
#[derive(Deserialize, Debug, Clone, Default)]
pub(crate) struct Message {
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Option<Body>,
}

/// A recorded body, as the trace keeps it.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Body {
    Json(Value),
    Text(String),
    Form(BTreeMap<String, String>),
    Digest { size: u64 },
}

impl Trace {
    /// Reads the trace at `path`.
    pub fn from_file(path: &std::path::Path) -> Result<Self, TraceError> {
        let text = std::fs::read_to_string(path).map_err(|source| TraceError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses a trace: JSON lines, the first saying its format.
    pub fn parse(text: &str) -> Result<Self, TraceError> {
        let mut exchanges = Vec::new();
        let mut api_base = None;
        let mut format = None;
        let mut started = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let parsed: Line = serde_json::from_str(raw).map_err(|e| TraceError::Line {
                line,
                message: format!("not a trace line: {e}"),
            })?;
            match parsed {
                Line::Trace { format: f, .. } if f > FORMAT => {
                    return Err(TraceError::Line {
                        line,
                        message: format!(
                            "trace format {f}: this simulator reads format {FORMAT}; update hw-sim"
                        ),
                    });
                }
                Line::Trace {
                    format: f,
                    started: s,
                } => {
                    format = Some(f);
                    started = s.and_then(|s| httpdate::parse_http_date(&s).ok());
                }
                Line::Client { api_base: base } => {
                    api_base.get_or_insert(base);
                }
                Line::Exchange(_) if format.is_none() => {
                    return Err(TraceError::Line {
                        line,
                        message: "an exchange before the trace's first line".into(),
                    });
                }
                Line::Exchange(exchange) => exchanges.push(*exchange),
            }
        }
        if format.is_none() {
            return Err(TraceError::Line {
                line: 1,
                message: "not a trace: it has no first line of kind \"trace\"".into(),
            });
        }
        exchanges.sort_by_key(|e| e.seq);
        Ok(Self {
            exchanges,
            api_base,
            started,
        })
    }

    /// The recorded exchanges, in the order they were sent.
    pub fn exchanges(&self) -> &[Exchange] {
        &self.exchanges
    }

    /// The path of the recorded API base URL (`/v2.0/my` when the trace does not say).
    pub fn api_base_path(&self) -> String {
        self.api_base
            .as_deref()
            .and_then(|b| url::Url::parse(b).ok())
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/v2.0/my".into())
    }

    /// The recorded API origin: the client line's, else the first API exchange's.
    pub(crate) fn api_origin(&self) -> Option<String> {
        self.api_base
            .as_deref()
            .and_then(|b| url::Url::parse(b).ok())
            .map(|u| u.origin().ascii_serialization())
            .or_else(|| {
                self.exchanges
                    .iter()
                    .find(|e| e.service == "api")
                    .map(|e| e.origin.clone())
            })
    }
}
