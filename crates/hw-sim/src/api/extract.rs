//! What handlers take from a request: the version's prefix, ids from the path, and bodies read
//! as the service reads them (JSON objects, typed bodies refused field by field with the
//! service's validation errors).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::errors::{functional, validation};
use crate::shared::Shared;

/// The `/v2.0/my` prefix of a request's version, or 404 for an unknown version.
pub(super) fn prefix(sim: &Shared, version: &str) -> Result<String, Response> {
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
pub(super) fn id(segment: &str, what: &str) -> Result<u64, Response> {
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
pub(super) struct Target {
    pub(super) prefix: String,
    pub(super) product: u64,
    pub(super) submission: u64,
    pub(super) label: u64,
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
pub(super) struct JsonObject(pub(super) serde_json::Value);

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
pub(super) struct Typed<T> {
    pub(super) fields: serde_json::Value,
    pub(super) value: T,
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
pub(super) fn json_body(body: &[u8]) -> Result<serde_json::Value, Response> {
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
pub(super) fn text<'a>(value: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    value
        .get(field)
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
}
