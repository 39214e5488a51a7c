//! One exchange on its way to the trace: its request noted as it goes out, its answer's
//! status and headers as they come, its body as the [`Tee`] saw it; written once, when the body
//! ends, the request fails or the exchange is given up.

use std::time::Instant;

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Request, Response};
use secrecy::SecretString;

use super::entry::{Body, BodyDigest, Entry, Message, Service};
use super::recorder::Recorder;
use super::scrub;
use super::tee::{Capture, Tee};

/// An exchange whose request is noted and whose answer is still to come.
pub(super) struct Pending {
    recorder: Recorder,
    service: Service,
    entry: Entry,
    sent: Instant,
    secrets: Vec<SecretString>,
    /// The exchange is written; dropped unwritten, it is written as abandoned.
    written: bool,
}

impl Pending {
    pub(super) fn begin(
        recorder: &Recorder,
        service: Service,
        operation: &'static str,
        request: &Request,
        streamed: Option<BodyDigest>,
    ) -> Self {
        let secrets = recorder.secrets();
        let sent = Instant::now();
        let url = request.url();
        let mut target = url.path().to_owned();
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        let headers = request.headers();
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let bytes = request.body().and_then(reqwest::Body::as_bytes);
        let body = match (service, bytes) {
            // A block list is text; any other blob body is content.
            (Service::Blob, Some(bytes)) if !operation.ends_with("BlockList") => {
                Some(Body::Digest(BodyDigest::of(bytes)))
            }
            (_, Some([])) => None,
            (_, Some(bytes)) => Some(scrub::body(service, content_type, bytes, &secrets)),
            (_, None) => streamed
                .or_else(|| streamed_digest(headers))
                .map(Body::Digest),
        };
        let entry = Entry {
            kind: "exchange",
            seq: recorder.next_seq(),
            service: service.name(),
            operation,
            method: request.method().as_str().to_owned(),
            origin: url.origin().ascii_serialization(),
            target: scrub::text(&target, &secrets),
            request: Message {
                headers: scrub::headers(headers, scrub::REQUEST_HEADERS, &secrets),
                body,
                truncated: false,
            },
            status: None,
            response: None,
            error: None,
            at_ms: recorder.elapsed_ms(sent),
            ms: 0,
        };
        Self {
            recorder: recorder.clone(),
            service,
            entry,
            sent,
            secrets,
            written: false,
        }
    }

    /// Records a request that got no answer.
    pub(super) fn failed(mut self, error: &reqwest::Error) {
        self.entry.error = Some(scrub::text(&crate::report::chain(error), &self.secrets));
        self.finish();
    }

    /// The answer, its body watched: the exchange is written when the body ends or is dropped.
    pub(super) fn answered(mut self, response: Response) -> Response {
        let capture = self.note_answer(response.status().as_u16(), response.headers());
        let response: http::Response<reqwest::Body> = response.into();
        let (parts, body) = response.into_parts();
        let tee = Tee::new(body, capture, move |captured, error| {
            self.finish_with(captured, error)
        });
        Response::from(http::Response::from_parts(parts, reqwest::Body::wrap(tee)))
    }

    /// Notes an answer's status and headers; says how its body is kept: as text (the API's
    /// JSON, errors, token answers, block lists) or as a digest (content).
    fn note_answer(&mut self, status: u16, headers: &reqwest::header::HeaderMap) -> Capture {
        self.entry.status = Some(status);
        self.entry.response = Some(Message {
            headers: scrub::headers(headers, scrub::RESPONSE_HEADERS, &self.secrets),
            body: None,
            truncated: false,
        });
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let text = match self.service {
            Service::Token => true,
            Service::Api => {
                status >= 400
                    || ["json", "text", "xml", "html"]
                        .iter()
                        .any(|t| content_type.contains(t))
            }
            Service::Blob => status >= 400 || self.entry.target.contains("comp=blocklist"),
        };
        if text {
            Capture::text()
        } else {
            Capture::digest()
        }
    }

    /// Writes the exchange with the body `captured` (if any) and the error `error` (if any).
    fn finish_with(mut self, captured: Option<(Body, bool)>, error: Option<String>) {
        if let Some(response) = &mut self.entry.response {
            let content_type = response.headers.get("content-type").cloned();
            if let Some((body, truncated)) = captured {
                response.body = match body {
                    Body::Text(raw) if !truncated => Some(scrub::body(
                        self.service,
                        content_type.as_deref(),
                        raw.as_bytes(),
                        &self.secrets,
                    )),
                    // Part of an issuer's answer cannot go through its allow-list.
                    Body::Text(raw) if self.service == Service::Token => {
                        Some(scrub::token_digest(raw.as_bytes()))
                    }
                    Body::Text(raw) => Some(Body::Text(scrub::text(&raw, &self.secrets))),
                    other => Some(other),
                };
                response.truncated = truncated;
            }
        }
        if let Some(error) = error {
            self.entry.error = Some(scrub::text(&error, &self.secrets));
        }
        self.finish();
    }

    fn finish(&mut self) {
        if std::mem::replace(&mut self.written, true) {
            return;
        }
        self.entry.ms = self.sent.elapsed().as_millis() as u64;
        self.recorder.write_entry(std::mem::take(&mut self.entry));
    }
}

impl Drop for Pending {
    /// A request given up before its answer (a stall timeout, a cancelled call, Ctrl-C) is
    /// written too: such failures are what a trace is for.
    fn drop(&mut self) {
        if !self.written {
            self.entry.error = Some(
                "the request was given up before its answer (a stall timeout or a cancelled call)"
                    .into(),
            );
            self.finish();
        }
    }
}

/// What the headers of a streamed body say of it: its length and `Content-MD5`.
fn streamed_digest(headers: &reqwest::header::HeaderMap) -> Option<BodyDigest> {
    let size = headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse::<u64>()
        .ok()?;
    let md5 = headers
        .get("content-md5")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (size > 0).then_some(BodyDigest { size, md5 })
}

/// Records one exchange without sending it: `request`, answered with `status`, `headers` and
/// `body` (read to its end, or not: `ended`), through the same steps as a real one (for the
/// fuzz harness and the tests).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn synthetic(
    recorder: &Recorder,
    service: Service,
    request: &Request,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    ended: bool,
) {
    let mut pending = Pending::begin(recorder, service, "synthetic", request, None);
    let mut capture = pending.note_answer(status, headers);
    capture.add(body);
    pending.finish_with(capture.into_body(ended), None);
}
