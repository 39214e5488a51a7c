//! `hw-sim --replay FILE`: serves a trace that hw-api recorded (`docs/traces.md`) instead of
//! the simulated service, so that what a user saw can be reproduced by anyone with `hwdc`.
//!
//! - Each API and blob request is matched to the recorded exchanges with the same method and
//!   target (path and query; for blob reads, also the `Range`), in the order they were sent;
//!   a request the trace does not hold (or no longer holds) gets a 501 that says so, in the
//!   service's error shape (or storage's, for blob requests), and is listed in the report.
//! - The token endpoint is the simulator's own: clients sign in as usual, and the API asks for
//!   their tokens as it always does. Recorded token exchanges are not served.
//! - Links in replayed bodies are rewritten: the recorded API origin to the simulator's, each
//!   recorded blob origin to the simulator's blob service under `/o{N}`.
//! - The SAS URLs in replayed bodies have their start (`st`) and expiry (`se`) moved by the
//!   time since the trace was recorded, so that a URL that was valid then is valid now (and
//!   one that had expired still has); blob requests are matched without `sig`, `st` and `se`.
//! - A blob's content is not in a trace (only its size and MD5): a replayed read serves
//!   filler bytes of the recorded size (the same byte at the same offset in every read), and
//!   the MD5 headers are those of the filler, so that the client's checks hold.
//! - Exchanges that got no answer (a dropped connection) are not served: the client's retry
//!   meets the next recorded attempt.
//!
//! The parser is the simulator's own: it shares no code with the recorder.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use md5::{Digest, Md5};
use serde_json::Value;

use crate::trace::Body;
pub use crate::trace::{Exchange, Trace, TraceError};

/// How a replay went so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Exchanges served.
    pub served: usize,
    /// Exchanges of the trace not asked for (yet).
    pub left: usize,
    /// Requests the trace did not hold: `METHOD target`.
    pub misses: Vec<String>,
}

/// The key a request is matched by.
type Key = (&'static str, String, String, Option<String>);

/// A trace being served.
pub(crate) struct Replay {
    queues: Mutex<HashMap<Key, VecDeque<Exchange>>>,
    /// Recorded origin → the simulator's (blob origins with their `/o{N}` prefix).
    origins: Vec<(String, String)>,
    /// Recorded blob origin → its `/o{N}` prefix.
    blob_prefixes: Vec<(String, String)>,
    report: Mutex<ReplayReport>,
    /// The MD5 of the first N filler bytes, by N.
    filler_md5: Mutex<HashMap<u64, String>>,
    /// How long ago the trace was recorded: what SAS times are moved by.
    age: Duration,
}

impl Replay {
    /// Serves `trace` with the simulator at `api_origin` and `blob_origin`.
    pub(crate) fn new(trace: &Trace, api_origin: &str, blob_origin: &str) -> Self {
        let mut blob_prefixes: Vec<(String, String)> = Vec::new();
        for e in trace.exchanges.iter().filter(|e| e.service == "blob") {
            if !blob_prefixes.iter().any(|(o, _)| *o == e.origin) {
                let prefix = format!("/o{}", blob_prefixes.len() + 1);
                blob_prefixes.push((e.origin.clone(), prefix));
            }
        }
        let mut origins: Vec<(String, String)> = blob_prefixes
            .iter()
            .map(|(o, p)| (o.clone(), format!("{blob_origin}{p}")))
            .collect();
        if let Some(api) = trace.api_origin() {
            origins.push((api, api_origin.to_owned()));
        }
        // Longest first, so that an origin is never rewritten inside a longer one.
        origins.sort_by_key(|o| std::cmp::Reverse(o.0.len()));
        let mut queues: HashMap<Key, VecDeque<Exchange>> = HashMap::new();
        let mut total = 0;
        for e in &trace.exchanges {
            let (Some(_), Some(service)) = (e.status, service_of(&e.service)) else {
                continue;
            };
            let target = match service {
                "blob" => {
                    let prefix = blob_prefixes
                        .iter()
                        .find(|(o, _)| *o == e.origin)
                        .map(|(_, p)| p.as_str())
                        .unwrap_or_default();
                    without_sas_times(&format!("{prefix}{}", e.target))
                }
                _ => e.target.clone(),
            };
            let range = (service == "blob")
                .then(|| e.request.headers.get("range").cloned())
                .flatten();
            queues
                .entry((service, e.method.clone(), target, range))
                .or_default()
                .push_back(e.clone());
            total += 1;
        }
        Self {
            queues: Mutex::new(queues),
            origins,
            blob_prefixes,
            report: Mutex::new(ReplayReport {
                left: total,
                ..ReplayReport::default()
            }),
            filler_md5: Mutex::new(HashMap::new()),
            age: trace
                .started
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default(),
        }
    }

    /// The `/o{N}` prefixes of the recorded blob origins, for the start-up message.
    pub(crate) fn blob_origins(&self) -> &[(String, String)] {
        &self.blob_prefixes
    }

    /// How the replay went so far.
    pub(crate) fn report(&self) -> ReplayReport {
        lock(&self.report).clone()
    }

    /// The next recorded exchange for a request, if the trace holds one.
    fn take(&self, key: &Key) -> Option<Exchange> {
        let next = lock(&self.queues)
            .get_mut(key)
            .and_then(VecDeque::pop_front);
        let mut report = lock(&self.report);
        match &next {
            Some(_) => {
                report.served += 1;
                report.left -= 1;
            }
            None => report.misses.push(format!("{} {}", key.1, key.2)),
        }
        next
    }

    /// What the trace still holds for `service`, for the error of a miss: a few targets.
    fn still_held(&self, service: &str, method: &str) -> Vec<String> {
        let queues = lock(&self.queues);
        let mut held: Vec<(u64, String)> = queues
            .iter()
            .filter(|(k, q)| k.0 == service && k.1 == method && !q.is_empty())
            .map(|(k, q)| (q[0].seq, format!("{} ({})", k.2, q[0].operation)))
            .collect();
        held.sort();
        held.into_iter().take(3).map(|(_, t)| t).collect()
    }

    /// Recorded origins rewritten to the simulator's, and a SAS URL's times moved by the
    /// trace's age.
    fn rewrite(&self, text: &str) -> String {
        // One pass: a replacement is never looked at again (a local address may contain a
        // recorded one).
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while at < text.len() {
            let found = self
                .origins
                .iter()
                .find(|(recorded, _)| text[at..].starts_with(recorded.as_str()));
            match found {
                Some((recorded, local)) => {
                    out.push_str(local);
                    at += recorded.len();
                }
                None => {
                    let c = text[at..].chars().next().unwrap_or_default();
                    out.push(c);
                    at += c.len_utf8().max(1);
                }
            }
        }
        self.moved_sas_times(&out)
    }

    /// `text` with the value of each `st=` and `se=` query parameter moved by the trace's
    /// age; nothing else of it changes.
    fn moved_sas_times(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = ["?st=", "&st=", "?se=", "&se="]
            .iter()
            .filter_map(|m| rest.find(m))
            .min()
        {
            let value_start = i + 4;
            out.push_str(&rest[..value_start]);
            let len = rest[value_start..]
                .find(|c: char| matches!(c, '&' | '#' | '"' | '\'') || c.is_whitespace())
                .unwrap_or(rest.len() - value_start);
            let value = &rest[value_start..value_start + len];
            let encoded = value.contains("%3A") || value.contains("%3a");
            let decoded = value.replace("%3A", ":").replace("%3a", ":");
            match humantime::parse_rfc3339_weak(&decoded) {
                Ok(time) => {
                    let moved = humantime::format_rfc3339_seconds(time + self.age).to_string();
                    out.push_str(&if encoded {
                        moved.replace(':', "%3A")
                    } else {
                        moved
                    });
                }
                Err(_) => out.push_str(value),
            }
            rest = &rest[value_start + len..];
        }
        out.push_str(rest);
        out
    }

    fn rewrite_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.rewrite(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.rewrite_json(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.rewrite_json(v)),
            _ => {}
        }
    }

    /// The MD5 (base64) of the first `len` filler bytes.
    fn whole_filler_md5(&self, len: u64) -> String {
        if let Some(md5) = lock(&self.filler_md5).get(&len) {
            return md5.clone();
        }
        let md5 = md5_base64(&filler(0, len));
        lock(&self.filler_md5).insert(len, md5.clone());
        md5
    }

    /// The response of a recorded exchange.
    fn respond(&self, exchange: Exchange, head: bool) -> Response {
        let status = exchange
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = exchange.response.unwrap_or_default();
        let mut headers = message.headers;
        let content = matches!(message.body, Some(Body::Digest { .. }));
        let body = match message.body {
            None => Vec::new(),
            Some(Body::Json(mut value)) => {
                self.rewrite_json(&mut value);
                serde_json::to_vec(&value).unwrap_or_default()
            }
            Some(Body::Text(text)) => self.rewrite(&text).into_bytes(),
            Some(Body::Form(fields)) => url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish()
                .into_bytes(),
            Some(Body::Digest { size }) => {
                let start = headers
                    .get("content-range")
                    .and_then(|r| content_range(r))
                    .map_or(0, |(start, _)| start);
                filler(start, size)
            }
        };
        let total = headers
            .get("content-range")
            .and_then(|r| content_range(r))
            .map(|(_, total)| total)
            .or_else(|| headers.get("content-length").and_then(|l| l.parse().ok()));
        // MD5 headers of served content describe the filler, not the recorded content (the
        // MD5 storage echoes after a write stays as it was).
        if let Some(total) = total.filter(|_| content || head) {
            if headers.contains_key("x-ms-blob-content-md5") {
                headers.insert("x-ms-blob-content-md5".into(), self.whole_filler_md5(total));
            }
            if headers.contains_key("content-md5") {
                let md5 = if head {
                    self.whole_filler_md5(total)
                } else {
                    md5_base64(&body)
                };
                headers.insert("content-md5".into(), md5);
            }
        }
        let mut builder = Response::builder().status(status);
        for (name, value) in &headers {
            // The length is the served body's; a HEAD keeps the recorded one (the blob's size).
            if name == "content-length" && !head {
                continue;
            }
            let value = self.rewrite(value);
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                builder = builder.header(name, value);
            }
        }
        let body = if head { Vec::new() } else { body };
        builder
            .body(AxumBody::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }

    /// The answer to a request the trace does not hold.
    fn miss(&self, service: &'static str, method: &str, target: &str) -> Response {
        let held = self.still_held(service, method);
        let message = if held.is_empty() {
            format!(
                "the trace holds no further {method} {target}, nor any other {method} to the {service} service"
            )
        } else {
            format!(
                "the trace holds no further {method} {target}; its next {method} requests to the {service} service: {}",
                held.join(", ")
            )
        };
        eprintln!("hw-sim replay: {message}");
        if service == "blob" {
            let xml = crate::blob::error_body("NotInTrace", &message);
            let mut response = (
                StatusCode::NOT_IMPLEMENTED,
                [(header::CONTENT_TYPE, "application/xml")],
                xml,
            )
                .into_response();
            response
                .headers_mut()
                .insert("x-ms-error-code", HeaderValue::from_static("NotInTrace"));
            response
        } else {
            crate::api::errors::functional(StatusCode::NOT_IMPLEMENTED, "notInTrace", &message)
        }
    }

    /// Serves one request of `service`.
    async fn serve(&self, service: &'static str, request: Request) -> Response {
        let method = request.method().as_str().to_owned();
        let target = request.uri().path_and_query().map_or_else(
            || request.uri().path().to_owned(),
            |p| p.as_str().to_owned(),
        );
        let range = (service == "blob")
            .then(|| {
                request
                    .headers()
                    .get(header::RANGE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
            .flatten();
        let head = method == "HEAD";
        // The body is read to its end (and dropped as it comes: a package may be large), so
        // that the client's upload completes as it did.
        let mut body = request.into_body().into_data_stream();
        while let Some(Ok(_)) = futures_util::StreamExt::next(&mut body).await {}
        let target = if service == "blob" {
            without_sas_times(&target)
        } else {
            target
        };
        let key = (service, method, target, range);
        match self.take(&key) {
            Some(exchange) => self.respond(exchange, head),
            None => self.miss(service, &key.1, &key.2),
        }
    }
}

/// A lock, whether or not a holder panicked (the data stays consistent: each holder changes
/// it in one step).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The services a replay serves.
fn service_of(name: &str) -> Option<&'static str> {
    match name {
        "api" => Some("api"),
        "blob" => Some("blob"),
        _ => None,
    }
}

/// A blob target without the SAS fields that change between a recording and its replay (the
/// signature and the times, which a replay moves).
fn without_sas_times(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            !matches!(key, "sig" | "st" | "se")
        })
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// `bytes START-END/TOTAL` as (START, TOTAL).
fn content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// `len` filler bytes from offset `start`: the same byte at the same offset in every read.
fn filler(start: u64, len: u64) -> Vec<u8> {
    (start..start + len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn md5_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(bytes))
}

/// The router of `service` (`api` or `blob`) in a replay: every request goes to the trace.
pub(crate) fn router(replay: Arc<Replay>, service: &'static str) -> Router {
    Router::new()
        .fallback(
            move |State(replay): State<Arc<Replay>>, request: Request| async move {
                replay.serve(service, request).await
            },
        )
        .with_state(replay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(age: Duration) -> Replay {
        let trace = Trace::parse(concat!(
            "{\"kind\":\"trace\",\"format\":1}\n",
            "{\"kind\":\"client\",\"api_base\":\"https://api.test/v2.0/my\"}\n",
            "{\"kind\":\"exchange\",\"seq\":1,\"service\":\"blob\",\"operation\":\"getBlob\",\"method\":\"GET\",\"origin\":\"http://127.0.0.1:1\",\"target\":\"/c/b\",\"status\":200}\n",
        ))
        .unwrap();
        let mut replay = Replay::new(&trace, "http://127.0.0.1:10", "http://127.0.0.1:1000");
        replay.age = age;
        replay
    }

    #[test]
    fn sas_times_move_by_the_trace_age_and_nothing_else_changes() {
        let replay = replay(Duration::from_secs(86_400));
        let url = "http://127.0.0.1:1/c/b?sv=2019-12-12&st=2026-12-01T09:00:00Z&se=2026-12-01T10%3A00%3A00Z&sp=r&x=a%20b&sig=REDACTED";
        assert_eq!(
            replay.rewrite(url),
            "http://127.0.0.1:1000/o1/c/b?sv=2019-12-12&st=2026-12-02T09:00:00Z&se=2026-12-02T10%3A00%3A00Z&sp=r&x=a%20b&sig=REDACTED"
        );
        // `response=` is not `se=`; a value that is not a date stays.
        assert_eq!(
            replay.rewrite("a?response=1&se=soon"),
            "a?response=1&se=soon"
        );
    }

    #[test]
    fn origins_are_rewritten_in_one_pass() {
        // The simulator's API origin contains the recorded blob origin: never rewritten twice.
        let replay = replay(Duration::ZERO);
        assert_eq!(
            replay.rewrite("https://api.test/v2.0/my/x and http://127.0.0.1:1/c"),
            "http://127.0.0.1:10/v2.0/my/x and http://127.0.0.1:1000/o1/c"
        );
    }

    #[test]
    fn blob_targets_are_matched_without_signature_and_times() {
        assert_eq!(
            without_sas_times("/o1/c/b?sv=1&st=a&se=b&sp=r&comp=block&blockid=x&sig=s"),
            "/o1/c/b?sv=1&sp=r&comp=block&blockid=x"
        );
        assert_eq!(without_sas_times("/o1/c/b?sig=s"), "/o1/c/b");
    }
}
