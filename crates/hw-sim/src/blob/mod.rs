//! The blob service behind the SAS URLs, with the Azure Block Blob rules that matter to a client:
//! Put Blob, Put Block, Put Block List, Get Block List, Get Blob (with `Range`) and its HEAD;
//! the SAS `sig`, `se` and `sp` checked; `Content-Length` required (411); block ids of one blob of
//! equal length; `Content-MD5` verified; size limits by the SAS version; and any request with an
//! `Authorization` header refused (and counted, so tests can assert it never happens).

mod xml;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};
use std::collections::HashMap;

pub(crate) use crate::state::Blob;
pub(crate) use xml::error as error_body;

use crate::config::BlobLimits;
use crate::sas::{Sas, SasProblem};
use crate::shared::Shared;
use crate::state::{self, Store};

/// The most uncommitted blocks a blob may have.
const MAX_UNCOMMITTED_BLOCKS: usize = 100_000;

/// The most of a too-large body that is read before refusing it.
const MAX_DRAINED: u64 = 64 * 1024 * 1024;

/// The longest block id, decoded.
const MAX_BLOCK_ID: usize = 64;

impl Blob {
    /// A blob holding `data` as if written by Put Blob (so with no committed block list); the
    /// ETag is set by whoever stores it.
    pub fn committed(data: Bytes) -> Self {
        let md5 = md5_base64(&data);
        Self::committed_with_md5(data, md5)
    }

    /// As [`Blob::committed`], with the content's MD5 (base64) already computed.
    fn committed_with_md5(data: Bytes, md5: String) -> Self {
        Blob {
            content_md5: Some(md5),
            data,
            exists: true,
            ..Blob::default()
        }
    }
}

/// The blob service router.
pub(crate) fn router(sim: Arc<Shared>) -> Router {
    Router::new()
        .route("/{container}/{name}", any(handle))
        .layer(DefaultBodyLimit::disable())
        .with_state(sim)
}

/// The blob operation of a request, by method and `comp`.
pub(crate) fn operation(method: &Method, query: Option<&str>) -> Option<&'static str> {
    let comp = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "comp")
            .map(|(_, v)| v.into_owned())
    });
    Some(match (method.as_str(), comp.as_deref()) {
        ("PUT", None) => "putBlob",
        ("PUT", Some("block")) => "putBlock",
        ("PUT", Some("blocklist")) => "putBlockList",
        ("GET", Some("blocklist")) => "getBlockList",
        ("GET", None) => "getBlob",
        ("HEAD", None) => "getBlobProperties",
        _ => return None,
    })
}

/// An Azure-style error: XML body and `x-ms-error-code`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = xml::error(code, message);
    let mut response = (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response();
    if let Ok(value) = HeaderValue::from_str(code) {
        response.headers_mut().insert("x-ms-error-code", value);
    }
    response
}

fn md5_base64(data: &[u8]) -> String {
    STANDARD.encode(Md5::digest(data))
}

fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn handle(
    State(sim): State<Arc<Shared>>,
    Path((container, name)): Path<(String, String)>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        state::lock(&sim.store).blob_authorization_headers += 1;
        return error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailure",
            "This request is not authorized to perform this operation: a SAS request must not carry an Authorization header.",
        );
    }
    let key = format!("{container}/{name}");
    let Some(op) = operation(&method, query.as_deref()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "UnsupportedHttpVerb",
            "The resource doesn't support the specified HTTP verb or comp value.",
        );
    };
    let permission = if method == Method::PUT { 'w' } else { 'r' };
    let sas = Sas::from_query(query.as_deref().unwrap_or_default());
    if let Err(problem) = sas.check(&sim.sas_key, &key, permission, SystemTime::now()) {
        let message = match problem {
            SasProblem::Missing(field) => {
                format!("Server failed to authenticate the request. The SAS lacks `{field}`.")
            }
            SasProblem::BadSignature => {
                "Server failed to authenticate the request. Signature did not match.".into()
            }
            SasProblem::Expired => {
                "Server failed to authenticate the request. Signed expiry time has passed.".into()
            }
            SasProblem::Permission(p) => format!(
                "This request is not authorized to perform this operation using this permission ({p})."
            ),
        };
        let code = if matches!(problem, SasProblem::Permission(_)) {
            "AuthorizationPermissionMismatch"
        } else {
            "AuthenticationFailed"
        };
        return error(StatusCode::FORBIDDEN, code, &message);
    }
    let limits = BlobLimits::for_version(&sas.sv);
    let mut response = match op {
        "getBlob" | "getBlobProperties" => get_blob(&sim, &key, &headers, method == Method::HEAD),
        "getBlockList" => get_block_list(&sim, &key, query.as_deref()),
        _ => match read_body(&sim, op, &headers, body, limits).await {
            Err(e) => e,
            Ok(body) if op == "putBlockList" => {
                put_block_list(&sim, &key, &headers, &body.data, limits).await
            }
            Ok(body) => {
                let mut store = state::lock(&sim.store);
                match op {
                    "putBlob" => put_blob(&mut store, &key, &headers, body),
                    "putBlock" => put_block(
                        &mut store,
                        &key,
                        query.as_deref(),
                        body,
                        sim.config.max_blob_bytes,
                    ),
                    _ => error(
                        StatusCode::BAD_REQUEST,
                        "UnsupportedHttpVerb",
                        "Unsupported operation.",
                    ),
                }
            }
        },
    };
    let headers = response.headers_mut();
    headers.insert(
        "x-ms-request-id",
        HeaderValue::from_str(&sim.activity_id()).unwrap_or(HeaderValue::from_static("0")),
    );
    if let Ok(v) = HeaderValue::from_str(&sas.sv) {
        headers.insert("x-ms-version", v);
    }
    response
}

/// A PUT body and its MD5 (base64), computed once and outside the store's lock.
struct Received {
    data: Bytes,
    md5: String,
}

/// Reads a PUT body after checking `Content-Length`, the size limits and `Content-MD5`.
async fn read_body(
    sim: &Shared,
    op: &str,
    headers: &HeaderMap,
    body: Body,
    limits: BlobLimits,
) -> Result<Received, Response> {
    let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return Err(error(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "Content-Length HTTP header is required.",
        ));
    };
    let limit = match op {
        "putBlob" => limits.max_put_blob,
        "putBlock" => limits.max_block,
        _ => 16 * 1024 * 1024,
    };
    if length > limit || length > sim.config.max_blob_bytes {
        // Read (and drop) a moderate body first, so that the client sees the 413 rather than a
        // reset connection.
        if length <= MAX_DRAINED {
            let _ = axum::body::to_bytes(body, MAX_DRAINED as usize).await;
        }
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            "The request body is too large and exceeds the maximum permissible limit.",
        ));
    }
    let data = axum::body::to_bytes(body, length as usize + 1)
        .await
        .map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                "InvalidInput",
                "The request body could not be read.",
            )
        })?;
    if data.len() as u64 != length {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            "The body length does not match Content-Length.",
        ));
    }
    let md5 = md5_base64(&data);
    if let Some(expected) = headers.get("content-md5").and_then(|v| v.to_str().ok())
        && expected != md5
    {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Md5Mismatch",
            "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
        ));
    }
    Ok(Received { data, md5 })
}

fn written(status: StatusCode, etag: &str, md5: Option<&str>) -> Response {
    let mut response = status.into_response();
    if let Ok(v) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    if let Some(v) = md5.and_then(|m| HeaderValue::from_str(m).ok()) {
        response.headers_mut().insert("content-md5", v);
    }
    response.headers_mut().insert(
        "x-ms-request-server-encrypted",
        HeaderValue::from_static("true"),
    );
    response
}

fn put_blob(store: &mut Store, key: &str, headers: &HeaderMap, body: Received) -> Response {
    if headers.get("x-ms-blob-type").and_then(|v| v.to_str().ok()) != Some("BlockBlob") {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingRequiredHeader",
            "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type.",
        );
    }
    let mut blob = Blob::committed_with_md5(body.data, body.md5);
    blob.etag = store.next_etag();
    let (etag, md5) = (blob.etag.clone(), blob.content_md5.clone());
    store.blobs.insert(key.to_owned(), blob);
    written(StatusCode::CREATED, &etag, md5.as_deref())
}

fn put_block(
    store: &mut Store,
    key: &str,
    query: Option<&str>,
    body: Received,
    max_bytes: u64,
) -> Response {
    let Received { data, md5 } = body;
    let Some(id) = query_value(query, "blockid").and_then(|id| STANDARD.decode(id).ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameterValue",
            "Value for one of the query parameters specified in the request URI is invalid: blockid.",
        );
    };
    if id.is_empty() || id.len() > MAX_BLOCK_ID {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameterValue",
            "The block id must be at most 64 bytes.",
        );
    }
    let blob = store.blobs.entry(key.to_owned()).or_default();
    // The rule is against the blob's uncommitted blocks: once a commit or a Put Blob has
    // discarded them, ids of another length are accepted (`docs/service-notes.md`,
    // "Blob REST rules").
    if blob
        .uncommitted
        .keys()
        .next()
        .is_some_and(|held| held.len() != id.len())
    {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidBlobOrBlock",
            "The specified blob or block content is invalid: all block ids of a blob must have the same length.",
        );
    }
    if !blob.uncommitted.contains_key(&id) && blob.uncommitted.len() >= MAX_UNCOMMITTED_BLOCKS {
        return error(
            StatusCode::CONFLICT,
            "BlockCountExceedsLimit",
            "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.",
        );
    }
    let replaced = blob.uncommitted.get(&id).map_or(0, |d| d.len() as u64);
    let held = blob.uncommitted_bytes - replaced + data.len() as u64;
    if held > max_bytes {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            "The uncommitted blocks of this blob exceed the simulator's memory limit.",
        );
    }
    blob.uncommitted_bytes = held;
    blob.uncommitted.insert(id, data);
    let mut response = written(StatusCode::CREATED, "", Some(&md5));
    response.headers_mut().remove(header::ETAG);
    response
}

/// The blocks a Put Block List body names, in order (read under the store's lock; cheap).
fn resolve_block_list(
    store: &Store,
    key: &str,
    body: &[u8],
    limits: BlobLimits,
    max_bytes: u64,
) -> Result<Vec<(Vec<u8>, Bytes)>, Response> {
    let Some(entries) = std::str::from_utf8(body).ok().and_then(xml::parse) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "InvalidXmlDocument",
            "XML specified is not syntactically valid.",
        ));
    };
    if entries.len() > limits.max_blocks {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "InvalidBlockList",
            "The block list may not contain more than 50,000 blocks.",
        ));
    }
    let empty = Blob::default();
    let blob = store.blobs.get(key).unwrap_or(&empty);
    let mut offsets = HashMap::new();
    let mut at = 0u64;
    for (id, size) in &blob.committed {
        offsets.insert(id.as_slice(), (at, *size));
        at += size;
    }
    let committed = |id: &[u8]| {
        offsets
            .get(id)
            .map(|(at, size)| blob.data.slice(*at as usize..(*at + *size) as usize))
    };
    let mut parts = Vec::with_capacity(entries.len());
    for (source, encoded) in &entries {
        let Ok(id) = STANDARD.decode(encoded) else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "InvalidBlockList",
                "The specified block list is invalid: a block id is not base64.",
            ));
        };
        let uncommitted = || blob.uncommitted.get(&id).cloned();
        let found = match source {
            xml::Source::Latest => uncommitted().or_else(|| committed(&id)),
            xml::Source::Committed => committed(&id),
            xml::Source::Uncommitted => uncommitted(),
        };
        let Some(data) = found else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "InvalidBlockList",
                "The specified block list is invalid: it names a block that was not uploaded.",
            ));
        };
        parts.push((id, data));
    }
    let total: u64 = parts.iter().map(|(_, d)| d.len() as u64).sum();
    if total > limits.max_block.saturating_mul(limits.max_blocks as u64) || total > max_bytes {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            "The blob would exceed the maximum size.",
        ));
    }
    Ok(parts)
}

/// Put Block List: resolves the blocks under the lock, joins them outside it, then commits.
async fn put_block_list(
    sim: &Shared,
    key: &str,
    headers: &HeaderMap,
    body: &[u8],
    limits: BlobLimits,
) -> Response {
    let parts = {
        let store = state::lock(&sim.store);
        match resolve_block_list(&store, key, body, limits, sim.config.max_blob_bytes) {
            Ok(parts) => parts,
            Err(e) => return e,
        }
    };
    let mut data = BytesMut::with_capacity(parts.iter().map(|(_, d)| d.len()).sum());
    for (_, part) in &parts {
        data.extend_from_slice(part);
    }
    let mut store = state::lock(&sim.store);
    let etag = store.next_etag();
    let blob = store.blobs.entry(key.to_owned()).or_default();
    blob.committed = parts
        .into_iter()
        .map(|(id, d)| (id, d.len() as u64))
        .collect();
    blob.data = data.freeze();
    blob.uncommitted.clear();
    blob.uncommitted_bytes = 0;
    blob.content_md5 = headers
        .get("x-ms-blob-content-md5")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    blob.etag = etag.clone();
    blob.exists = true;
    written(StatusCode::CREATED, &etag, None)
}

fn get_block_list(sim: &Shared, key: &str, query: Option<&str>) -> Response {
    let kind = query_value(query, "blocklisttype").unwrap_or_else(|| "committed".into());
    let store = state::lock(&sim.store);
    let Some(blob) = store.blobs.get(key) else {
        return error(
            StatusCode::NOT_FOUND,
            "BlobNotFound",
            "The specified blob does not exist.",
        );
    };
    let committed: Vec<(String, u64)> = blob
        .committed
        .iter()
        .map(|(id, size)| (STANDARD.encode(id), *size))
        .collect();
    let mut uncommitted: Vec<(String, u64)> = blob
        .uncommitted
        .iter()
        .map(|(id, d)| (STANDARD.encode(id), d.len() as u64))
        .collect();
    uncommitted.sort();
    let (c, u) = match kind.as_str() {
        "committed" => (Some(committed.as_slice()), None),
        "uncommitted" => (None, Some(uncommitted.as_slice())),
        "all" => (Some(committed.as_slice()), Some(uncommitted.as_slice())),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidQueryParameterValue",
                "blocklisttype must be committed, uncommitted or all.",
            );
        }
    };
    let mut response = (
        [(header::CONTENT_TYPE, "application/xml")],
        xml::render(c, u),
    )
        .into_response();
    if blob.exists
        && let Ok(v) = HeaderValue::from_str(&blob.etag)
    {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// Get Blob and Get Blob Properties (HEAD), with `Range`/`x-ms-range` and `If-Match`.
/// The largest range whose MD5 the service computes.
const RANGE_MD5_LIMIT: u64 = 4 * 1024 * 1024;

fn get_blob(sim: &Shared, key: &str, headers: &HeaderMap, head: bool) -> Response {
    // What the answer needs, taken out of the store's lock (the data is reference-counted), so
    // that hashing and sending a range holds up no other request.
    let found = state::lock(&sim.store)
        .blobs
        .get(key)
        .filter(|b| b.exists)
        .map(|b| (b.data.clone(), b.etag.clone(), b.content_md5.clone()));
    let Some((data, etag, content_md5)) = found else {
        return error(
            StatusCode::NOT_FOUND,
            "BlobNotFound",
            "The specified blob does not exist.",
        );
    };
    if let Some(expected) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
        && expected != "*"
        && expected != etag
    {
        return error(
            StatusCode::PRECONDITION_FAILED,
            "ConditionNotMet",
            "The condition specified using HTTP conditional header(s) is not met.",
        );
    }
    let total = data.len() as u64;
    let range = headers
        .get("x-ms-range")
        .or_else(|| headers.get(header::RANGE))
        .and_then(|v| v.to_str().ok())
        .and_then(|r| parse_range(r, total));
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, total),
        Some(Some((start, end))) => (StatusCode::PARTIAL_CONTENT, start, end),
        Some(None) => {
            let mut response = error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The range specified is invalid for the current size of the resource.",
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return response;
        }
    };
    // `x-ms-range-get-content-md5: true` asks for the MD5 of the range, which the service
    // computes only for a range of at most 4 MiB (`docs/service-notes.md`, "Blob REST rules").
    let range_md5 = headers
        .get("x-ms-range-get-content-md5")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
    if range_md5 && status != StatusCode::PARTIAL_CONTENT {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidHeaderValue",
            "x-ms-range-get-content-md5 needs a Range header.",
        );
    }
    if range_md5 && end - start > RANGE_MD5_LIMIT {
        return error(
            StatusCode::BAD_REQUEST,
            "OutOfRangeInput",
            "The range is larger than 4 MiB: its MD5 cannot be computed.",
        );
    }
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, end - start)
        .header(header::ETAG, &etag)
        .header(header::ACCEPT_RANGES, "bytes")
        .header("x-ms-blob-type", "BlockBlob");
    if status == StatusCode::PARTIAL_CONTENT {
        builder = builder.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{total}", end.saturating_sub(1)),
        );
    }
    if range_md5 {
        builder = builder.header(
            "content-md5",
            md5_base64(&data[start as usize..end as usize]),
        );
    }
    if let Some(md5) = &content_md5 {
        builder = builder.header("x-ms-blob-content-md5", md5);
        if status == StatusCode::OK {
            builder = builder.header("content-md5", md5);
        }
    }
    let body = if head {
        Body::empty()
    } else {
        Body::from(data.slice(start as usize..end as usize))
    };
    builder
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range: `None` when the header is not one (it
/// is then ignored, as HTTP says), `Some(None)` when it cannot be satisfied, else the half-open
/// range within `total`.
fn parse_range(value: &str, total: u64) -> Option<Option<(u64, u64)>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (total.saturating_sub(n), total)
        }
        (a, "") => (a.parse().ok()?, total),
        (a, b) => {
            let a: u64 = a.parse().ok()?;
            let b: u64 = b.parse().ok()?;
            if b < a {
                return None;
            }
            (a, b.saturating_add(1).min(total))
        }
    };
    Some((start < end && start < total).then_some((start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Some((0, 10))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Some((90, 100))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Some((90, 100))));
        assert_eq!(parse_range("bytes=95-200", 100), Some(Some((95, 100))));
        assert_eq!(parse_range("bytes=100-", 100), Some(None));
        assert_eq!(
            parse_range("items=0-1", 100),
            None,
            "not a byte range: ignored"
        );
        assert_eq!(
            parse_range("bytes=0-1,5-6", 100),
            None,
            "several ranges: ignored"
        );
        assert_eq!(parse_range("bytes=9-2", 100), None);
    }

    #[test]
    fn limits_by_version() {
        assert_eq!(
            BlobLimits::for_version("2019-12-12").max_block,
            4000 * 1024 * 1024
        );
        assert_eq!(
            BlobLimits::for_version("2017-04-17").max_put_blob,
            256 * 1024 * 1024
        );
        assert_eq!(
            BlobLimits::for_version("2015-12-11").max_block,
            4 * 1024 * 1024
        );
    }
}
