//! Injected faults, seeded and reproducible: throttling with `Retry-After`, 500s, 503s,
//! connections dropped partway through the response, and slow responses — for all requests or
//! for one operation.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::server::Shared;
use crate::{api, blob, state};

/// A fault to inject.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// 429 with `Retry-After` (seconds, rounded up) and `x-ms-retry-after-ms`.
    Throttle {
        /// How long the client is asked to wait.
        retry_after: Duration,
    },
    /// 500 in the gateway's flat JSON shape.
    InternalError,
    /// 503 with an HTML page, as gateways send.
    Unavailable,
    /// The request is processed, then the connection is dropped partway through the response.
    DropConnection,
    /// The response is delayed.
    Slow(Duration),
}

/// When to inject a fault.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// The operation id (`createSubmission`, `putBlock`, `token`, …), or every request.
    pub operation: Option<String>,
    /// What to inject.
    pub fault: Fault,
    /// The chance per matching request, from 0 to 1.
    pub probability: f64,
    /// The most times this rule fires.
    pub limit: Option<u64>,
}

impl FaultRule {
    /// A rule for every request.
    pub fn new(fault: Fault, probability: f64) -> Self {
        Self {
            operation: None,
            fault,
            probability: probability.clamp(0.0, 1.0),
            limit: None,
        }
    }

    /// Only for `operation`.
    pub fn only(mut self, operation: &str) -> Self {
        self.operation = Some(operation.to_owned());
        self
    }

    /// At most `times` times.
    pub fn at_most(mut self, times: u64) -> Self {
        self.limit = Some(times);
        self
    }
}

impl FromStr for FaultRule {
    type Err = String;

    /// `KIND:PROBABILITY[:OPERATION]`, where KIND is `429[=SECONDS]`, `500`, `503`, `drop` or
    /// `slow=MILLISECONDS`; e.g. `429=2:0.1`, `drop:0.05:createSubmission`, `slow=1500:0.2`.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut parts = text.split(':');
        let kind = parts.next().unwrap_or_default();
        let probability: f64 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .filter(|p| (0.0..=1.0).contains(p))
            .ok_or_else(|| format!("{text:?}: the probability must be a number from 0 to 1"))?;
        let (name, param) = kind
            .split_once('=')
            .map_or((kind, None), |(k, p)| (k, Some(p)));
        let number = |default: u64| -> Result<u64, String> {
            param.map_or(Ok(default), |p| {
                p.parse()
                    .map_err(|_| format!("{text:?}: {p:?} is not a number"))
            })
        };
        let fault = match name {
            "429" | "throttle" => Fault::Throttle {
                retry_after: Duration::from_secs(number(1)?),
            },
            "500" => Fault::InternalError,
            "503" => Fault::Unavailable,
            "drop" => Fault::DropConnection,
            "slow" => Fault::Slow(Duration::from_millis(number(1000)?)),
            other => {
                return Err(format!(
                    "{text:?}: unknown fault {other:?} (429, 500, 503, drop, slow)"
                ));
            }
        };
        let mut rule = FaultRule::new(fault, probability);
        if let Some(op) = parts.next().filter(|o| !o.is_empty()) {
            rule = rule.only(op);
        }
        Ok(rule)
    }
}

/// The rules with their seeded generator and how often each fired.
pub struct Faults {
    rules: Vec<FaultRule>,
    state: Mutex<(fastrand::Rng, Vec<u64>)>,
}

impl Faults {
    /// Faults from `rules`, drawn from a generator seeded with `seed`.
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        let fired = vec![0; rules.len()];
        Self {
            rules,
            state: Mutex::new((fastrand::Rng::with_seed(seed), fired)),
        }
    }

    /// The fault to inject into a request of `operation`, if any.
    pub fn pick(&self, operation: &str) -> Option<Fault> {
        if self.rules.is_empty() {
            return None;
        }
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (rng, fired) = &mut *guard;
        for (i, rule) in self.rules.iter().enumerate() {
            let applies = rule
                .operation
                .as_deref()
                .is_none_or(|op| op.eq_ignore_ascii_case(operation));
            let spent = rule.limit.is_some_and(|limit| fired[i] >= limit);
            if applies && !spent && rng.f64() < rule.probability {
                fired[i] += 1;
                return Some(rule.fault.clone());
            }
        }
        None
    }
}

/// The operation a request is, for fault rules and request counts.
pub fn operation_of(request: &Request) -> String {
    let path = request.uri().path();
    if path.ends_with("/token") {
        return "token".into();
    }
    api::operation_id(request.method(), path)
        .or_else(|| blob::operation(request.method(), request.uri().query()))
        .unwrap_or("other")
        .to_owned()
}

/// Middleware: counts the request and injects a fault if a rule says so.
pub async fn inject(State(sim): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let operation = operation_of(&request);
    *state::lock(&sim.store)
        .requests
        .entry(operation.clone())
        .or_default() += 1;
    let is_blob = blob::operation(request.method(), request.uri().query()).is_some()
        && api::operation_id(request.method(), request.uri().path()).is_none();
    match sim.faults.pick(&operation) {
        None => next.run(request).await,
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(Fault::DropConnection) => drop_partway(next.run(request).await).await,
        Some(Fault::Throttle { retry_after }) => {
            let mut response = failure(&sim, is_blob, StatusCode::TOO_MANY_REQUESTS, "Rate limit is exceeded. Try again later.");
            let seconds = retry_after.as_millis().div_ceil(1000).to_string();
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from_str(&seconds).unwrap_or(HeaderValue::from_static("1")));
            if let Ok(ms) = HeaderValue::from_str(&retry_after.as_millis().to_string()) {
                headers.insert("x-ms-retry-after-ms", ms);
            }
            response
        }
        Some(Fault::InternalError) => failure(&sim, is_blob, StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
        Some(Fault::Unavailable) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>",
        )
            .into_response(),
    }
}

fn failure(sim: &Shared, is_blob: bool, status: StatusCode, message: &str) -> Response {
    if is_blob {
        let code = if status == StatusCode::TOO_MANY_REQUESTS {
            "ServerBusy"
        } else {
            "InternalError"
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        );
        (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
    } else {
        api::gateway(status, message, &sim.activity_id())
    }
}

/// The response with its headers (and declared length) but only part of its body, then a
/// broken connection.
pub async fn drop_partway(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(bytes.len().max(1)),
    );
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
        Ok(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "hw-sim dropped the connection",
        )),
    ];
    Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse() {
        assert_eq!(
            "429=2:0.5".parse::<FaultRule>().unwrap(),
            FaultRule::new(
                Fault::Throttle {
                    retry_after: Duration::from_secs(2)
                },
                0.5
            )
        );
        assert_eq!(
            "drop:1:createSubmission".parse::<FaultRule>().unwrap(),
            FaultRule::new(Fault::DropConnection, 1.0).only("createSubmission")
        );
        assert!("500:2".parse::<FaultRule>().is_err());
        assert!("teapot:0.1".parse::<FaultRule>().is_err());
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let draw = |seed| {
            let faults = Faults::new(vec![FaultRule::new(Fault::InternalError, 0.3)], seed);
            (0..50)
                .map(|_| faults.pick("getProduct").is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let limited = Faults::new(
            vec![
                FaultRule::new(Fault::InternalError, 1.0)
                    .only("getProduct")
                    .at_most(2),
            ],
            1,
        );
        let fired: Vec<bool> = (0..4)
            .map(|_| limited.pick("getProduct").is_some())
            .collect();
        assert_eq!(fired, vec![true, true, false, false]);
        assert!(limited.pick("listProducts").is_none());
    }
}
