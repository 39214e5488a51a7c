//! The Hardware Dev Center API: routes, authentication, and which operation a request is.

pub(crate) mod errors;
mod labels;
mod outputs;
mod paging;
mod preprod;
mod products;
mod quota;
mod submissions;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bytes::Bytes;

pub use errors::{functional, gateway, validation};
pub use paging::MAX_PAGE_SIZE;

use crate::shared::Shared;
use crate::state;

/// The API router (state and middleware attached by the server).
pub fn router(sim: Arc<Shared>) -> Router {
    const PRODUCTS: &str = "/{version}/my/hardware/products";
    const SUBMISSIONS: &str = "/{version}/my/hardware/products/{product}/submissions";
    const SUBMISSION: &str = "/{version}/my/hardware/products/{product}/submissions/{submission}";
    const LABELS: &str =
        "/{version}/my/hardware/products/{product}/submissions/{submission}/shippingLabels";
    const LABEL: &str =
        "/{version}/my/hardware/products/{product}/submissions/{submission}/shippingLabels/{label}";
    const PREPROD: &str = "/{version}/my/hardware/preprod/packages";
    let hardware = Router::new()
        .route(PRODUCTS, get(products::list).post(products::create))
        .route(&format!("{PRODUCTS}/"), get(products::list).post(products::create))
        .route(&format!("{PRODUCTS}/{{product}}"), get(products::get).patch(products::update))
        .route(SUBMISSIONS, get(submissions::list).post(submissions::create))
        .route(SUBMISSION, get(submissions::get).patch(submissions::update))
        .route(&format!("{SUBMISSION}/commit"), post(submissions::commit))
        .route(&format!("{SUBMISSION}/createpublishermetadata"), post(submissions::create_publisher_metadata))
        .route(LABELS, get(labels::list).post(labels::create))
        .route(&format!("{LABELS}/"), get(labels::list).post(labels::create))
        .route(LABEL, get(labels::get).patch(labels::update))
        .route(&format!("{LABEL}/cancel"), put(labels::cancel))
        .route("/{version}/my/hardware/audiences", get(labels::audiences))
        .route("/{version}/my/hardware/audiences/", get(labels::audiences))
        .route(
            "/{version}/my/hardware/products/relationships/sourcepubliherid/{publisher}/sourceproductid/{product}/sourcesubmissionid/{submission}",
            get(submissions::partner),
        )
        .route(PREPROD, put(preprod::upload))
        .route(&format!("{PREPROD}/"), put(preprod::upload))
        .route(&format!("{PREPROD}/{{package}}"), get(preprod::get))
        .route(&format!("{PREPROD}/{{package}}/assets"), get(preprod::assets))
        .route(&format!("{PREPROD}/{{package}}/assets/{{asset}}"), get(preprod::get_asset))
        .route(&format!("{PREPROD}/{{package}}/assets/{{asset}}/download"), get(preprod::download))
        // The media type is judged last, on a signed-in request within the quota.
        .route_layer(middleware::from_fn_with_state(sim.clone(), media_type))
        // The quota counts signed-in requests: it runs after `authenticate`, which wraps it.
        .route_layer(middleware::from_fn_with_state(sim.clone(), quota::enforce))
        .route_layer(middleware::from_fn_with_state(sim.clone(), authenticate))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_API_BODY));
    Router::new()
        .merge(hardware)
        .route(
            "/dashboard/hardware/Driver/DownloadCertificationReport/{seller}/{product}/{submission}",
            get(outputs::certification_report),
        )
        .with_state(sim)
}

/// The largest API request body (preprod packages are sent to the API itself).
const MAX_API_BODY: usize = 512 * 1024 * 1024;

/// The spec's operation id of an API request, if it is one.
pub fn operation_id(method: &Method, path: &str) -> Option<&'static str> {
    let rest = path
        .strip_prefix("/v2.0/my")
        .or_else(|| path.strip_prefix("/v1.0/my"))?;
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let op = match (method.as_str(), segments.as_slice()) {
        ("GET", ["hardware", "products"]) => "listProducts",
        ("POST", ["hardware", "products"]) => "createProduct",
        (
            "GET",
            [
                "hardware",
                "products",
                "relationships",
                "sourcepubliherid",
                _,
                "sourceproductid",
                _,
                "sourcesubmissionid",
                _,
            ],
        ) => "getPartnerSubmission",
        ("GET", ["hardware", "products", _]) => "getProduct",
        ("PATCH", ["hardware", "products", _]) => "updateProduct",
        ("GET", ["hardware", "products", _, "submissions"]) => "listSubmissions",
        ("POST", ["hardware", "products", _, "submissions"]) => "createSubmission",
        ("GET", ["hardware", "products", _, "submissions", _]) => "getSubmission",
        ("PATCH", ["hardware", "products", _, "submissions", _]) => "updateSubmission",
        ("POST", ["hardware", "products", _, "submissions", _, "commit"]) => "commitSubmission",
        (
            "POST",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "createpublishermetadata",
            ],
        ) => "createPublisherMetadata",
        (
            "GET",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "shippingLabels",
            ],
        ) => "listShippingLabels",
        (
            "POST",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "shippingLabels",
            ],
        ) => "createShippingLabel",
        (
            "GET",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "shippingLabels",
                _,
            ],
        ) => "getShippingLabel",
        (
            "PATCH",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "shippingLabels",
                _,
            ],
        ) => "updateShippingLabel",
        (
            "PUT",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "shippingLabels",
                _,
                "cancel",
            ],
        ) => "cancelShippingLabel",
        ("GET", ["hardware", "audiences"]) => "listAudiences",
        ("PUT", ["hardware", "preprod", "packages"]) => "uploadPreprodPackage",
        ("GET", ["hardware", "preprod", "packages", _]) => "getPreprodPackage",
        ("GET", ["hardware", "preprod", "packages", _, "assets"]) => "listPreprodAssets",
        ("GET", ["hardware", "preprod", "packages", _, "assets", _]) => "getPreprodAsset",
        (
            "GET",
            [
                "hardware",
                "preprod",
                "packages",
                _,
                "assets",
                _,
                "download",
            ],
        ) => "downloadPreprodAsset",
        _ => return None,
    };
    Some(op)
}

/// The media type the spec gives the body of a request with `method` to the operation
/// `operation`: JSON for every POST, PUT and PATCH (a bodiless one included: the service wants an
/// empty JSON body, `docs/service-notes.md`, "Hardware API: base URL and headers"), the package's
/// bytes for a preprod upload; `None` for a read.
fn request_media_type(method: &Method, operation: &str) -> Option<&'static str> {
    match *method {
        Method::POST | Method::PUT | Method::PATCH if operation == "uploadPreprodPackage" => {
            Some("application/octet-stream")
        }
        Method::POST | Method::PUT | Method::PATCH => Some("application/json"),
        _ => None,
    }
}

/// 415, as the service's gateway answers it, to a request whose `Content-Type` is missing or is
/// not the one the spec gives its operation (parameters such as `charset` aside).
async fn media_type(State(sim): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let expected = operation_id(request.method(), request.uri().path())
        .and_then(|operation| request_media_type(request.method(), operation));
    let Some(expected) = expected else {
        return next.run(request).await;
    };
    let sent = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if sent.is_some_and(|sent| sent.eq_ignore_ascii_case(expected)) {
        next.run(request).await
    } else {
        gateway(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            &sim.activity_id(),
        )
    }
}

/// 401 unless the request carries a token the token endpoint issued (and that has not expired)
/// or one of the configured static tokens.
pub(crate) async fn authenticate(
    State(sim): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let valid = token.is_some_and(|token| {
        if sim.config.static_tokens.iter().any(|t| t == token) {
            return true;
        }
        let store = state::lock(&sim.store);
        store
            .tokens
            .get(token)
            .is_some_and(|expires| Instant::now() < *expires)
    });
    if valid {
        next.run(request).await
    } else {
        let activity = sim.activity_id();
        let mut response = gateway(StatusCode::UNAUTHORIZED, "Unauthorized", &activity);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        response
    }
}

/// The `/v2.0/my` prefix of a request's version, or 404 for an unknown version.
fn prefix(sim: &Shared, version: &str) -> Result<String, Response> {
    if version == "v2.0" || version == "v1.0" {
        Ok(format!("{}/{version}/my", sim.urls.api_origin))
    } else {
        Err(functional(
            StatusCode::NOT_FOUND,
            "entityNotFound",
            "Resource not found",
        ))
    }
}

/// An id from a path segment.
fn id(segment: &str, what: &str) -> Result<u64, Response> {
    segment.parse().map_err(|_| {
        functional(
            StatusCode::BAD_REQUEST,
            "invalidInput",
            &format!("The {what} id is not a number"),
        )
    })
}

/// What a request's path names: its version prefix and ids (0 where the route has none). An
/// extractor: a handler that takes it gets a valid target or the request gets the service's
/// error for the first bad segment.
struct Target {
    prefix: String,
    product: u64,
    submission: u64,
    label: u64,
}

impl FromRequestParts<Arc<Shared>> for Target {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, sim: &Arc<Shared>) -> Result<Self, Response> {
        let Path(segments) = Path::<HashMap<String, String>>::from_request_parts(parts, sim)
            .await
            .map_err(IntoResponse::into_response)?;
        let id_of = |name: &str, what: &str| {
            segments
                .get(name)
                .map(|segment| id(segment, what))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let version = segments.get("version").map(String::as_str).unwrap_or("");
        Ok(Target {
            prefix: prefix(sim, version)?,
            product: id_of("product", "product")?,
            submission: id_of("submission", "submission")?,
            label: id_of("label", "shipping label")?,
        })
    }
}

/// The JSON object of a request body, as an extractor (see [`json_body`]).
struct JsonObject(serde_json::Value);

impl FromRequest<Arc<Shared>> for JsonObject {
    type Rejection = Response;

    async fn from_request(request: Request, sim: &Arc<Shared>) -> Result<Self, Response> {
        let body = Bytes::from_request(request, sim)
            .await
            .map_err(IntoResponse::into_response)?;
        json_body(&body).map(JsonObject)
    }
}

/// A request body decoded as `T`, with its JSON object: 422 `invalidInput` when it does not fit.
struct Typed<T> {
    fields: serde_json::Value,
    value: T,
}

impl<T: serde::de::DeserializeOwned> FromRequest<Arc<Shared>> for Typed<T> {
    type Rejection = Response;

    async fn from_request(request: Request, sim: &Arc<Shared>) -> Result<Self, Response> {
        let JsonObject(fields) = JsonObject::from_request(request, sim).await?;
        match serde_json::from_value(fields.clone()) {
            Ok(value) => Ok(Typed { fields, value }),
            Err(e) => Err(functional(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalidInput",
                &format!("The body does not fit the request's schema: {e}"),
            )),
        }
    }
}

/// The JSON object of a request body: 400 unless the body is a JSON object (its media type was
/// judged before, by [`media_type`]).
fn json_body(body: &[u8]) -> Result<serde_json::Value, Response> {
    let value = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) if value.is_object() => value,
        _ => {
            return Err(functional(
                StatusCode::BAD_REQUEST,
                "invalidInput",
                "The request body is not a valid JSON object",
            ));
        }
    };
    match refused_value(&value, "") {
        Some((target, why)) => Err(validation(&[(target.as_str(), why.as_str())])),
        None => Ok(value),
    }
}

/// The properties of the spec's request bodies (`openapi/hardware.yaml`), kept here as a list
/// rather than read from the spec. None may be `null` but `restrictedToAudiences` (`nullable:
/// true` in a label update); properties the spec does not declare are ignored, as
/// `additionalProperties` allows them. The list is by name, not by schema: a property declared
/// in one request schema and sent as an extra property of another is held to the same rule,
/// which is stricter than the spec only for such a body.
const DECLARED: &[&str] = &[
    "acpiVersion",
    "action",
    "additionalAttributes",
    "additionalInfo",
    "additionalInfoForMsApproval",
    "affectedOems",
    "announcementDate",
    "biosVersion",
    "bundleId",
    "businessJustification",
    "ceiling",
    "ceilingBuildNumber",
    "chid",
    "chids",
    "chipsetName",
    "coEngDriverPublishInfo",
    "destination",
    "deviceMetadataIds",
    "deviceType",
    "deviceVersion",
    "distributionState",
    "driverName",
    "driverVersion",
    "enforceChidTargeting",
    "filterVersion",
    "firmwareVersion",
    "flooring",
    "flooringBuildNumber",
    "goLiveDate",
    "guestOs",
    "hardwareIds",
    "hasUiSoftware",
    "inServicePublishInfo",
    "infId",
    "isAutoInstallDuringOSUpgrade",
    "isAutoInstallOnApplicableSystems",
    "isCoEngineered",
    "isDisclosureRestricted",
    "isFlightSign",
    "isForUnreleasedHardware",
    "isRebootRequired",
    "isSAFTE",
    "isSES",
    "isTestSign",
    "isThirdPartyNeeded",
    "manualAcquisition",
    "marketingNames",
    "maxMemory",
    "maxProcessors",
    "microsoftContact",
    "microsoftName",
    "microsoftVersion",
    "name",
    "operatingSystemCode",
    "pnpString",
    "processorArchitecture",
    "productName",
    "productVersion",
    "proprietaryName",
    "proprietaryVersion",
    "publishToWindows10s",
    "publishingSpecifications",
    "raidController",
    "receiverPublisherId",
    "recipientSpecifications",
    "requestedSignatures",
    "selectedProductTypes",
    "storageController",
    "supportLink",
    "supportsDifferential",
    "supportsSector4K4K",
    "supportsSector4K512E",
    "svvp",
    "targeting",
    "testHarness",
    "type",
    "uefiVersion",
    "usedBetterBoot",
    "usedBootSupport",
    "usedMicrosoft",
    "usedProprietary",
    "validationsPerformed",
    "visibleToAccounts",
];

/// Whether `value` is one the spec's enum of property `key` lists, when `key` has one (the
/// generated open enums know the spec's values).
fn known_enum_value(key: &str, value: &str) -> bool {
    use hw_api_gen::types as t;
    match key {
        "action" => t::TargetingAction::from(value).is_known(),
        "ceiling" | "flooring" => t::OsRelease::from(value).is_known(),
        "destination" => t::Destination::from(value).is_known(),
        "deviceType" => t::DeviceType::from(value).is_known(),
        "distributionState" => t::DistributionState::from(value).is_known(),
        "guestOs" => t::SvvpGuestOs::from(value).is_known(),
        "operatingSystemCode" | "requestedSignatures" => t::OsCode::from(value).is_known(),
        "processorArchitecture" => t::ProcessorArchitecture::from(value).is_known(),
        "testHarness" => t::TestHarness::from(value).is_known(),
        // A submission's `type` is judged by its handler, with the other fields' validation
        // errors (a 422 that lists them all).
        _ => true,
    }
}

/// `key` as a JSON Pointer segment (`~` and `/` escaped).
fn pointer(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// What the spec forbids in a request body: a `null` for a declared property that is not
/// nullable, or a value outside a declared enum. As the JSON Pointer of the field and why.
fn refused_value(value: &serde_json::Value, path: &str) -> Option<(String, String)> {
    let enum_value = |key: &str, at: &str, text: &str| {
        (!known_enum_value(key, text))
            .then(|| (at.to_owned(), format!("{text:?} is not one of its values")))
    };
    let check = |key: &str, field: &serde_json::Value, here: String| -> Option<(String, String)> {
        if !DECLARED.contains(&key) {
            return None;
        }
        let null = |at: &str| Some((at.to_owned(), "may not be null".to_owned()));
        match field {
            // A map from OS family to product type: each value is a product type.
            serde_json::Value::Object(types) if key == "selectedProductTypes" => {
                types.iter().find_map(|(family, kind)| match kind.as_str() {
                    Some(kind) if hw_api_gen::types::ProductType::from(kind).is_known() => None,
                    _ => Some((pointer(&here, family), "is not a product type".to_owned())),
                })
            }
            serde_json::Value::Null if key == "restrictedToAudiences" => None,
            serde_json::Value::Null => null(&here),
            serde_json::Value::String(text) => enum_value(key, &here, text),
            serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let at = format!("{here}/{i}");
                match item {
                    serde_json::Value::Null => null(&at),
                    serde_json::Value::String(text) => enum_value(key, &at, text),
                    other => refused_value(other, &at),
                }
            }),
            other => refused_value(other, &here),
        }
    };
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .find_map(|(key, field)| check(key, field, pointer(path, key))),
        _ => None,
    }
}

/// The text of a JSON field, if it is a non-empty string.
fn text<'a>(value: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    value
        .get(field)
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
}
