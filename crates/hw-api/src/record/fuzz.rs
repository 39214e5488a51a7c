//! The redaction's own check, for the fuzz harness and the tests: an exchange made of
//! arbitrary text with secrets planted in every place a trace keeps (the URL, the headers, a
//! JSON, form or text body of either side, a token answer), recorded through the same steps as
//! a real one; no planted secret may appear in what is written.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;

use super::entry::Service;
use super::pending::synthetic;
use super::recorder::{RecordOptions, Recorder};

/// The planted secrets: one the recorder knows, a token after `Bearer `, a SAS signature, a
/// JWT, and a client secret in a form.
const KNOWN: &str = "Kn0wnS3cr3tValue";
const BEARER: &str = "B3arerT0kenValue";
const SIG: &str = "S1gnatureValue";
const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
const FORM_SECRET: &str = "F0rmS3cr3tValue";
/// An opaque (not JWT-shaped) token in an issuer's answer.
const OPAQUE: &str = "0paqueT0kenValue";

/// A writer into shared memory.
#[derive(Clone, Default)]
pub(crate) struct Memory(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Write for Memory {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Memory {
    /// What was written, as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

/// Records exchanges built from `input` with the secrets planted; `Err` names a secret that
/// survived, with the line it is in.
pub(crate) fn check(input: &[u8], anonymize: bool) -> Result<(), String> {
    let memory = Memory::default();
    let recorder = Recorder::to_writer(
        memory.clone(),
        RecordOptions::default().with_anonymize(anonymize),
    )
    .map_err(|e| e.to_string())?;
    recorder.add_secret(&SecretString::from(KNOWN));
    let text = String::from_utf8_lossy(input);
    let cut = text
        .char_indices()
        .nth(input.first().copied().unwrap_or(0) as usize % (text.chars().count() + 1))
        .map_or(text.len(), |(i, _)| i);
    let planted = format!(
        "{}{KNOWN} Bearer {BEARER} sig={SIG} {JWT} {}",
        &text[..cut],
        &text[cut..]
    );
    let query: String = url::form_urlencoded::byte_serialize(planted.as_bytes()).collect();
    let url = format!("https://h.test/v2.0/my/{}?q={query}&sig={SIG}", text.len());
    let url = url::Url::parse(&url).map_err(|e| e.to_string())?;
    let json_body = serde_json::json!({
        "text": planted,
        "client_secret": text,
        "nested": [{"access_token": text, "note": planted}],
    })
    .to_string();
    let form_body = format!(
        "grant_type=client_credentials&client_secret={FORM_SECRET}&scope={query}&{query}={FORM_SECRET}"
    );
    let token_answer = serde_json::json!({
        "token_type": planted,
        "access_token": text,
        "value": text,
        "expires_in": 3600,
    })
    .to_string();
    // Issuers' answers with an opaque token: as JSON fields the allow-list does not know, and
    // in a body that is not JSON (the token may be anywhere in it).
    let issuer_json = serde_json::json!({
        "token_type": "Bearer",
        "access_token": format!("{text}{OPAQUE}"),
        "value": OPAQUE,
        "oidcToken": OPAQUE,
        "expires_in": 3600,
    })
    .to_string();
    let issuer_text = format!("{text}\"access_token\" : \"{OPAQUE}\" {text}");
    let issuer_bodies: [(&str, &str, &str); 2] = [
        ("application/json", &planted, &issuer_json),
        ("text/plain", &planted, &issuer_text),
    ];
    let bodies: [(&str, &str, &str); 5] = [
        ("application/json", &json_body, &json_body),
        ("text/html", &planted, &planted),
        (
            "application/x-www-form-urlencoded",
            &form_body,
            &token_answer,
        ),
        ("application/json", &planted, &token_answer),
        ("application/xml", &planted, &planted),
    ];
    let exchanges = [Service::Api, Service::Token, Service::Blob]
        .into_iter()
        .flat_map(|s| bodies.iter().map(move |b| (s, b)))
        .chain(issuer_bodies.iter().map(|b| (Service::Token, b)));
    for (service, (content_type, request_body, answer)) in exchanges {
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
        let headers = request.headers_mut();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {BEARER}")).map_err(|e| e.to_string())?,
        );
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        if let Ok(value) = HeaderValue::from_str(&planted) {
            headers.insert(HeaderName::from_static("x-ms-request-id"), value.clone());
            headers.insert(HeaderName::from_static("x-unknown"), value);
        }
        *request.body_mut() = Some(reqwest::Body::from(request_body.to_string()));
        let mut answer_headers = HeaderMap::new();
        answer_headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        if let Ok(value) = HeaderValue::from_str(&planted) {
            answer_headers.insert(reqwest::header::LOCATION, value.clone());
            answer_headers.insert(HeaderName::from_static("x-ms-request-id"), value);
        }
        let status = 200 + u16::from(input.get(1).copied().unwrap_or(0)) % 400;
        // Cut short as well as whole: a part of a body is scrubbed as carefully.
        let answer = answer.as_bytes();
        let cut = answer.len() * usize::from(input.get(2).copied().unwrap_or(0)) / 255;
        for (body, ended) in [(answer, true), (&answer[..cut], false)] {
            synthetic(
                &recorder,
                service,
                &request,
                status,
                &answer_headers,
                body,
                ended,
            );
        }
    }
    recorder.finish().map_err(|e| e.to_string())?;
    let written = memory.text();
    for line in written.lines() {
        for secret in [KNOWN, BEARER, SIG, JWT, FORM_SECRET, OPAQUE] {
            if line.contains(secret) {
                return Err(format!("{secret} survived in {line}"));
            }
        }
        if line.to_ascii_lowercase().contains("\"authorization\"") {
            return Err(format!("an Authorization header survived in {line}"));
        }
    }
    Ok(())
}
