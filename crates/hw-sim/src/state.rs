//! Everything the simulator holds: products, submissions, blobs, issued tokens, and records for
//! inspection by tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use hw_api_gen::types::{Product, SubmissionType};

use crate::config::SimConfig;

/// The first private product id handed out (ids are in the service's ranges, above 2^53).
pub const FIRST_PRODUCT_ID: u64 = 14_631_253_285_588_838;
/// The first shared product id.
pub const FIRST_SHARED_PRODUCT_ID: u64 = 1_152_921_504_607_010_608;
/// The first shipping label id.
pub const FIRST_LABEL_ID: u64 = 1_152_921_504_606_978_422;
/// The seller id of the simulated account.
pub const SELLER_ID: u64 = 29_963_920;
/// The first submission id.
/// The id of the first submission the simulator makes.
pub const FIRST_SUBMISSION_ID: u64 = 1_152_921_504_621_465_124;

/// A submission and what the simulator needs to run its workflow.
#[derive(Clone, Debug)]
pub struct SubmissionRecord {
    /// Its id.
    pub id: u64,
    /// Its product's id.
    pub product_id: u64,
    /// Its name.
    pub name: String,
    /// Initial or derived.
    pub kind: SubmissionType,
    /// When it was created (RFC 3339).
    pub created: String,
    /// The blob the package is uploaded to.
    pub package_blob: String,
    /// When it was committed, if it was.
    pub committed_at: Option<Instant>,
    /// The step the package asked to fail at.
    pub fail_at: Option<usize>,
    /// Whether the error report of a failed submission was written.
    pub report_made: bool,
    /// In how many more answers its files' URLs are `null` (`SimConfig::withhold_urls`).
    pub urls_withheld: u32,
}

/// A shipping label and its workflow.
#[derive(Clone, Debug)]
pub struct LabelRecord {
    /// Its id.
    pub id: u64,
    /// Its product's id.
    pub product_id: u64,
    /// Its submission's id.
    pub submission_id: u64,
    /// The label as created (and updated), without its workflow status.
    pub label: hw_api_gen::types::ShippingLabel,
    /// When its current workflow started.
    pub started_at: Instant,
    /// How far its workflow had gone when cancellation was requested (it stays there).
    pub cancelled_at: Option<std::time::Duration>,
}

/// A package sent for pre-production signing.
#[derive(Clone, Debug)]
pub struct PreprodRecord {
    /// Its id.
    pub id: String,
    /// The package.
    pub data: Bytes,
    /// When it arrived.
    pub received_at: Instant,
    /// When it arrived (RFC 3339).
    pub received: String,
    /// Whether its signing is to fail.
    pub fail: bool,
}

/// A block blob.
#[derive(Clone, Debug, Default)]
pub struct Blob {
    /// The committed content.
    pub data: Bytes,
    /// The committed blocks, in order: id and size.
    pub committed: Vec<(Vec<u8>, u64)>,
    /// Blocks uploaded but not committed yet.
    pub uncommitted: HashMap<Vec<u8>, Bytes>,
    /// The MD5 of the whole content (base64), when known.
    pub content_md5: Option<String>,
    /// Changes with every write.
    pub etag: String,
    /// The bytes held in uncommitted blocks.
    pub uncommitted_bytes: u64,
    /// Whether content was ever committed.
    pub exists: bool,
}

/// One API response kept for conformance checks.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The spec's operation id.
    pub operation: String,
    /// The HTTP status.
    pub status: u16,
    /// The JSON body, if any.
    pub body: Option<serde_json::Value>,
}

/// The simulator's mutable state.
#[derive(Default)]
pub struct Store {
    /// The products, by id.
    pub products: BTreeMap<u64, Product>,
    /// The submissions, by id.
    pub submissions: BTreeMap<u64, SubmissionRecord>,
    /// The shipping labels, by id.
    pub labels: BTreeMap<u64, LabelRecord>,
    /// The pre-production packages, by id.
    pub preprod: BTreeMap<String, PreprodRecord>,
    /// The next shipping label id.
    pub next_label: u64,
    /// The blobs, by name.
    pub blobs: HashMap<String, Blob>,
    /// Issued access tokens and when they expire (expired ones are dropped as new ones are issued).
    pub tokens: HashMap<String, Instant>,
    /// The next product id.
    pub next_product: u64,
    /// The next submission id.
    pub next_submission: u64,
    /// A counter for names and ETags.
    pub counter: u64,
    /// Requests to the blob service that carried an `Authorization` header.
    pub blob_authorization_headers: u64,
    /// Requests per operation id.
    pub requests: BTreeMap<String, u64>,
    /// Requests per operation id being handled now, and the most there were at once.
    pub in_flight: BTreeMap<String, (u64, u64)>,
    /// The responses kept for conformance checks.
    pub recorded: Vec<Recorded>,
}

impl Store {
    /// A store with `config`'s seed data.
    pub fn new(config: &SimConfig) -> Self {
        let mut store = Store {
            next_product: FIRST_PRODUCT_ID,
            next_submission: FIRST_SUBMISSION_ID,
            next_label: FIRST_LABEL_ID,
            ..Store::default()
        };
        for n in 0..config.seed_products {
            store.add_product(&format!("Seed product {n}"));
        }
        if config.seed_submissions > 0 {
            let product = store
                .products
                .keys()
                .next()
                .copied()
                .unwrap_or_else(|| store.add_product("Seed product 0"));
            for n in 0..config.seed_submissions {
                let kind = if n == 0 {
                    SubmissionType::Initial
                } else {
                    SubmissionType::Derived
                };
                let name = format!("Seed submission {n}");
                store.insert_submission(product, name, kind, "2026-01-01T00:00:00Z".into());
            }
        }
        store
    }

    /// Adds a submission, not yet committed, with its own package blob; returns its id.
    pub fn insert_submission(
        &mut self,
        product: u64,
        name: String,
        kind: SubmissionType,
        created: String,
    ) -> u64 {
        let id = self.next_submission;
        self.next_submission += 1;
        // One blob per submission: its id is unique (a counter mixed in could collide).
        let package_blob = format!("ingestion/{}", guid(id));
        let record = SubmissionRecord {
            id,
            product_id: product,
            name,
            kind,
            created,
            package_blob,
            committed_at: None,
            fail_at: None,
            report_made: false,
            urls_withheld: 0,
        };
        self.submissions.insert(id, record);
        id
    }

    /// Adds a product and returns its id.
    pub fn add_product(&mut self, name: &str) -> u64 {
        self.insert_product(serde_json::json!({
            "productName": name,
            "isCommitted": false,
            "isTestSign": false,
            "isFlightSign": false,
            "deviceType": "internal",
            "testHarness": "hlk",
            "marketingNames": [name],
            "requestedSignatures": ["WINDOWS_v100_X64_RS5_FULL", "WINDOWS_v100_ARM64_GE_FULL"],
            "selectedProductTypes": {"windows_v100_RS5": "Unclassified"},
            "announcementDate": "2026-01-01T00:00:00Z",
        }))
    }

    /// Adds a product from the fields of `fields` (a JSON object), giving it its ids; returns
    /// the id.
    pub fn insert_product(&mut self, mut fields: serde_json::Value) -> u64 {
        let id = self.next_product;
        self.next_product += 1;
        fields["id"] = id.into();
        fields["sharedProductId"] = (FIRST_SHARED_PRODUCT_ID + (id - FIRST_PRODUCT_ID)).into();
        fields["isCommitted"] = false.into();
        let product = serde_json::from_value::<Product>(fields).expect("a well-formed product");
        self.products.insert(id, product);
        id
    }

    /// A fresh id for blob names, tokens and ETags.
    pub fn next_counter(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A fresh ETag.
    pub fn next_etag(&mut self) -> String {
        etag(self.next_counter())
    }

    /// Records an issued token, dropping the expired ones.
    pub fn issue_token(&mut self, token: String, expires: Instant) {
        let now = Instant::now();
        self.tokens.retain(|_, at| *at > now);
        self.tokens.insert(token, expires);
    }

    /// The submissions of a product, in creation order.
    pub fn submissions_of(&self, product: u64) -> impl Iterator<Item = &SubmissionRecord> {
        self.submissions
            .values()
            .filter(move |s| s.product_id == product)
    }
}

/// A lock on the store that survives a panicked holder.
pub fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An Azure-style ETag from a number.
pub fn etag(n: u64) -> String {
    format!("\"0x8D{n:013X}\"")
}

/// `now + duration`, or far in the future if that overflows the clock.
pub fn later(now: Instant, duration: std::time::Duration) -> Instant {
    now.checked_add(duration)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(100 * 365 * 24 * 3600))
}

/// A GUID-shaped id from a number.
pub fn guid(n: u64) -> String {
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
