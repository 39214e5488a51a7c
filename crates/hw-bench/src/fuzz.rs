//! A fuzz harness that runs on stable Rust: seeded, structure-aware mutation of the spec's
//! examples and of hand-made seeds, fed to every decoder that reads what the network sends.
//!
//! Targets: the error-body decoder, the decoding of every resource, the driver-metadata parser,
//! SAS URL parsing and redaction, `next_link` resolution, and the package readers (INF, CAB,
//! HLKX, the signed package's ZIP, the PE digest and the signatures). A finding is a panic, a redaction
//! that lets a signature through, a `Display` that is not one line, or an input that makes the
//! code allocate far more than its own size (measured with [`crate::alloc::Counting`] when it is
//! the global allocator).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use hw_api_gen::types;
use serde_json::{Value, json};

use crate::alloc;

/// The largest input tried.
const MAX_INPUT: usize = 16 * 1024;

/// What an input may allocate: a generous multiple of its size, plus a floor.
fn allocation_bound(input: usize) -> usize {
    4 * 1024 * 1024 + 256 * input
}

/// A problem the harness found.
#[derive(Debug)]
pub struct Finding {
    /// The target that failed.
    pub target: &'static str,
    /// What went wrong.
    pub problem: String,
    /// The input, escaped and cut to 2 KiB.
    pub input: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}\ninput: {}",
            self.target, self.problem, self.input
        )
    }
}

/// How many inputs each target ran.
#[derive(Debug, Default)]
pub struct Report {
    /// Inputs per target.
    pub runs: Vec<(&'static str, u64)>,
}

type Target = fn(&[u8]) -> Result<(), String>;

const TARGETS: [(&str, Target); 12] = [
    ("error-body", error_body),
    ("resources", resources),
    ("driver-metadata", driver_metadata),
    ("sas-and-redaction", sas_and_redaction),
    ("next-link", next_link),
    ("inf", inf),
    ("cabinet", cabinet),
    ("hlkx", hlkx),
    ("signed-package", signed_package),
    ("pe-digest", pe_digest),
    ("signatures", signatures),
    ("trace-redaction", hw_api::fuzzing::trace_redaction),
];

/// Reads any bytes as a CAB and checks the package: no panic, bounded memory.
fn cabinet(input: &[u8]) -> Result<(), String> {
    let path = std::path::Path::new("fuzz.cab");
    let read = hw_package::cabinet::read_cabinet_from(path, std::io::Cursor::new(input));
    if let Ok(package) = read {
        let _ = hw_package::driver_check::check_package(&package, &Default::default());
    }
    Ok(())
}

/// Checks any bytes as an HLKX: no panic, bounded memory.
fn hlkx(input: &[u8]) -> Result<(), String> {
    let path = std::path::Path::new("fuzz.hlkx");
    let _ = hw_package::hlkx::check_hlkx_from(path, std::io::Cursor::new(input));
    Ok(())
}

/// Reads any bytes as a signed package (a ZIP, or a CAB), digesting every file: no panic,
/// bounded memory, every name kept inside the package.
fn signed_package(input: &[u8]) -> Result<(), String> {
    let path = std::path::Path::new("fuzz.zip");
    let Ok(contents) = hw_package::verify::contents::read_from(path, std::io::Cursor::new(input))
    else {
        return Ok(());
    };
    for file in contents.files.values() {
        if file.path.split('/').any(|p| p == ".." || p.is_empty()) || file.path.contains(':') {
            return Err(format!(
                "a name that leaves the package was kept: {:?}",
                file.path
            ));
        }
    }
    Ok(())
}

/// Digests any bytes as a PE file: no panic, bounded memory.
fn pe_digest(input: &[u8]) -> Result<(), String> {
    let _ = hw_package::verify::pe::authenticode_digest(input);
    Ok(())
}

/// Reads any bytes as a PE file's certificate table and as a CMS signature: no panic, bounded
/// memory.
fn signatures(input: &[u8]) -> Result<(), String> {
    let _ = hw_package::verify::signature::certificate_table_signers(input);
    let _ = hw_package::verify::signature::cms_signers(input);
    Ok(())
}

/// A PE file signed twice by osslsigncode (hw-package's test fixture): its certificate table,
/// and the file itself.
const SIGNED_PE: &[u8] = include_bytes!("../../hw-package/tests/fixtures/signed-pe/nested.sys");

/// A signed package's shape: a ZIP holding a driver folder under `Signed_1/`, its INF and a
/// minimal driver image, deflated.
fn signed_package_seed() -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let files: [(&str, Vec<u8>); 2] = [
        ("Signed_1/drv/a.inf", INF_SEED.as_bytes().to_vec()),
        (
            "Signed_1/drv/a.sys",
            hw_package::verify::pe::minimal_image(b"code", 5),
        ),
    ];
    for (name, bytes) in files {
        if zip.start_file(name, options).is_err() || zip.write_all(&bytes).is_err() {
            return Vec::new();
        }
    }
    zip.finish().map(|c| c.into_inner()).unwrap_or_default()
}

/// A small cabinet with two driver folders, written by hw-package, for the corpus.
fn cabinet_seed() -> Vec<u8> {
    use hw_package::driver_package::DriverPackage;
    let dir = std::env::temp_dir().join(format!("hw-bench-cab-seed-{}", std::process::id()));
    for (folder, file, text) in [
        ("a", "a.inf", INF_SEED),
        ("a", "a.sys", "MZ"),
        ("b", "b.inf", INF_SEED),
    ] {
        let _ = std::fs::create_dir_all(dir.join(folder));
        let _ = std::fs::write(dir.join(folder).join(file), text);
    }
    let out = dir.join("seed.cab");
    let written = DriverPackage::from_folders(&[dir.join("a"), dir.join("b")])
        .ok()
        .and_then(|package| hw_package::cabinet::write_cabinet(&package, &out).ok())
        .and_then(|_| std::fs::read(&out).ok());
    let _ = std::fs::remove_dir_all(&dir);
    written.unwrap_or_default()
}

/// A ZIP of stored parts with an OPC content-types part, for the corpus.
fn hlkx_seed() -> Vec<u8> {
    let parts: [(&str, &[u8]); 2] = [
        ("[Content_Types].xml", b"<Types/>"),
        ("_rels/.rels", b"<Relationships><Relationship Type=\"http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/origin\"/></Relationships>"),
    ];
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data) in parts {
        let offset = out.len() as u32;
        let len = (data.len() as u32).to_le_bytes();
        let name_len = (name.len() as u16).to_le_bytes();
        out.extend(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0");
        out.extend(len);
        out.extend(len);
        out.extend(name_len);
        out.extend([0, 0]);
        out.extend(name.as_bytes());
        out.extend(data);
        central.extend(b"PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0\0\0\0\0");
        central.extend(len);
        central.extend(len);
        central.extend(name_len);
        central.extend([0u8; 12]);
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let dir_offset = (out.len() as u32).to_le_bytes();
    let dir_len = (central.len() as u32).to_le_bytes();
    out.extend(&central);
    out.extend(b"PK\x05\x06\0\0\0\0\x02\0\x02\0");
    out.extend(dir_len);
    out.extend(dir_offset);
    out.extend([0, 0]);
    out
}

/// Runs every target for `budget` in all, from `seed`.
pub fn run(budget: Duration, seed: u64) -> Result<Report, Finding> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let corpus = corpus();
    let measure = alloc::enable();
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let mut runs = vec![0u64; TARGETS.len()];
    let outcome = loop {
        if started.elapsed() >= budget {
            break Ok(());
        }
        let which = rng.usize(..TARGETS.len());
        let (name, target) = TARGETS[which];
        let seed_index = rng.usize(..corpus.len());
        let input = mutate(&mut rng, &corpus[seed_index], &corpus);
        let before = alloc::start();
        let result = catch_unwind(AssertUnwindSafe(|| target(&input)));
        let peak = alloc::peak_since(before);
        runs[which] += 1;
        let problem = match result {
            Err(panic) => Some(format!("panicked: {}", panic_text(&panic))),
            Ok(Err(problem)) => Some(problem),
            Ok(Ok(())) if measure && peak > allocation_bound(input.len()) => Some(format!(
                "allocated {peak} bytes for an input of {} bytes",
                input.len()
            )),
            Ok(Ok(())) => None,
        };
        if let Some(problem) = problem {
            break Err(Finding {
                target: name,
                problem,
                input: escape(&input),
            });
        }
    };
    std::panic::set_hook(previous_hook);
    outcome.map(|()| Report {
        runs: TARGETS.iter().map(|(name, _)| *name).zip(runs).collect(),
    })
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

fn escape(input: &[u8]) -> String {
    let cut = &input[..input.len().min(2048)];
    String::from_utf8_lossy(cut).escape_debug().to_string()
}

/// The seeds: the spec's examples, hand-made error bodies, metadata, SAS URLs and links.
fn corpus() -> Vec<Vec<u8>> {
    let spec: Value = serde_norway::from_str(include_str!("../../../openapi/hardware.yaml"))
        .unwrap_or(Value::Null);
    let mut seeds: Vec<Value> = Vec::new();
    collect_examples(&spec, &mut seeds);
    seeds.extend([
        json!({"error": {"code": "invalidInput", "message": "m", "validationErrors": [{"target": "t", "message": "x\r\ny"}]}}),
        json!({"statusCode": 500, "message": "Internal server error", "activityId": "a"}),
        json!({"BundleInfoMap": {"b": {"InfInfoMap": {"a.inf": {"ExtensionId": null, "OSPnPInfoMap": {"WINDOWS_v100_X64_RS5_FULL": {"PCI\\VEN_1": {}}}}}}}}),
        json!({"links": [{"rel": "next_link", "href": "products?continuationToken=abc"}]}),
        json!({"links": [{"rel": "next_link", "href": "https://other.example:8443/p?sig=SECRET-SIG"}]}),
        json!({"id": 1, "productId": 2, "downloads": {"items": [{"type": "signedPackage", "url": "https://a/b?sv=1&sig=SECRET-SIG&sp=r"}]},
               "workflowStatus": {"errorReport": "https://a/r?sig=SECRET-SIG"}}),
    ]);
    let mut corpus: Vec<Vec<u8>> = seeds.iter().map(|v| v.to_string().into_bytes()).collect();
    corpus.extend(
        [
            "https://a.blob.core.windows.net/c/b?sv=2019-12-12&sr=b&sp=rw&se=2030-01-01T00:00:00Z&sig=SECRET-SIG",
            "http://127.0.0.1:1/c/b?sr=b&sp=r&se=2030-01-01&sig=SECRET-SIG#frag",
            "<html><body>502 Bad Gateway</body></html>",
            "",
            INF_SEED,
        ]
        .map(|s| s.as_bytes().to_vec()),
    );
    // The same INF in UTF-16 LE with its byte-order mark.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(INF_SEED.encode_utf16().flat_map(u16::to_le_bytes));
    corpus.push(utf16);
    corpus.push(cabinet_seed());
    corpus.push(hlkx_seed());
    corpus.push(signed_package_seed());
    corpus.push(hw_package::verify::pe::minimal_image(b"code", 3));
    corpus.push(SIGNED_PE.to_vec());
    if let Ok(digest) = hw_package::verify::pe::authenticode_digest(SIGNED_PE)
        && let Some(table) = digest.certificate_table_of(SIGNED_PE)
    {
        corpus.push(table.to_vec());
    }
    corpus
}

/// An INF with every construct the reader knows.
const INF_SEED: &str = "; comment\r\n[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Extension\r\nProvider=%P%\r\n[Manufacturer]\r\n%P%=M, NTamd64.10.0...17763, \\\r\n NTarm64\r\n[M.NTamd64.10.0...17763]\r\n%D%=Install, PCI\\VEN_1234&DEV_5678\r\n[Strings]\r\nP=\"Contoso \"\"x\"\"; y\"\r\nD=100%%\r\n";

/// Reads any bytes as an INF and checks them as a package's: no panic, every field and every
/// substitution within the bound, every line number within the input.
fn inf(input: &[u8]) -> Result<(), String> {
    // The package checks read the same bytes: they may find anything, never panic.
    for mode in hw_package::driver_check::Mode::ALL {
        let _ = hw_package::driver_check::check_inf(
            std::path::Path::new("f.inf"),
            input,
            &|_| false,
            mode,
        );
    }
    let Ok(inf) = hw_package::inf::Inf::parse(input) else {
        return Ok(());
    };
    let lines = input.len() + 1;
    for section in inf.sections() {
        for entry in &section.entries {
            if entry.line == 0 || entry.line > lines {
                return Err(format!("entry at line {} of {lines}", entry.line));
            }
            for field in &entry.fields {
                if field.len() > hw_package::inf::MAX_FIELD {
                    return Err(format!("a field of {} bytes", field.len()));
                }
                let expanded = inf.expand(field);
                if expanded.len() > hw_package::inf::MAX_FIELD {
                    return Err(format!("a substitution of {} bytes", expanded.len()));
                }
            }
        }
    }
    Ok(())
}

fn collect_examples(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match key.as_str() {
                    "example" => out.push(child.clone()),
                    "examples" => out.extend(
                        child
                            .as_object()
                            .into_iter()
                            .flat_map(|m| m.values())
                            .filter_map(|e| e.get("value").cloned()),
                    ),
                    _ => collect_examples(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|child| collect_examples(child, out)),
        _ => {}
    }
}

/// A mutation of `seed`: byte-level (flip, insert, delete, splice, truncate) or, for JSON,
/// structural (a value replaced by another kind, a huge number, a long or odd string).
fn mutate(rng: &mut fastrand::Rng, seed: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = if rng.bool() {
        serde_json::from_slice::<Value>(seed)
            .ok()
            .map(|mut value| {
                for _ in 0..rng.usize(1..4) {
                    mutate_json(rng, &mut value);
                }
                value.to_string().into_bytes()
            })
            .unwrap_or_else(|| seed.to_vec())
    } else {
        seed.to_vec()
    };
    for _ in 0..rng.usize(0..6) {
        match rng.u8(0..5) {
            0 if !out.is_empty() => {
                let i = rng.usize(..out.len());
                out[i] ^= 1 << rng.u8(0..8);
            }
            1 => {
                let i = rng.usize(..=out.len());
                let byte = *rng
                    .choice(b"{}[]\":,\\0-9eE+.%&?=#/ \x00\xff".iter())
                    .unwrap_or(&b'x');
                out.insert(i, byte);
            }
            2 if !out.is_empty() => {
                let i = rng.usize(..out.len());
                out.remove(i);
            }
            3 => {
                let other = &corpus[rng.usize(..corpus.len())];
                let at = rng.usize(..=out.len());
                let from = rng.usize(..=other.len());
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            _ if !out.is_empty() => {
                let at = rng.usize(..out.len());
                out.truncate(at);
            }
            _ => {}
        }
    }
    out.truncate(MAX_INPUT);
    out
}

fn mutate_json(rng: &mut fastrand::Rng, value: &mut Value) {
    match value {
        Value::Object(map) if !map.is_empty() && rng.u8(0..4) > 0 => {
            let key = map
                .keys()
                .nth(rng.usize(..map.len()))
                .cloned()
                .unwrap_or_default();
            if let Some(child) = map.get_mut(&key) {
                mutate_json(rng, child);
            }
        }
        Value::Array(items) if !items.is_empty() && rng.u8(0..4) > 0 => {
            let i = rng.usize(..items.len());
            mutate_json(rng, &mut items[i]);
        }
        _ => {
            *value = match rng.u8(0..9) {
                0 => Value::Null,
                1 => json!(rng.bool()),
                2 => json!(u64::MAX),
                3 => json!(-1.5e300),
                4 => json!("x".repeat(rng.usize(0..2000))),
                5 => json!("PCI\\VEN_\u{0}\u{202e}&sig=SECRET-SIG\r\n"),
                6 => json!([]),
                7 => json!({}),
                _ => json!("1152921504621465124"),
            }
        }
    }
}

fn error_body(input: &[u8]) -> Result<(), String> {
    let status = 400 + u16::from(input.first().copied().unwrap_or(0)) % 200;
    let error = hw_api::fuzzing::decode_error_body(status, input);
    let shown = error.to_string();
    if shown.contains('\n') || shown.contains('\r') {
        return Err(format!("Display is not one line: {shown:?}"));
    }
    if let Some(excerpt) = &error.body_excerpt
        && excerpt.chars().count() > 600
    {
        return Err(format!(
            "the body excerpt is not bounded: {} characters",
            excerpt.chars().count()
        ));
    }
    no_signature(&shown)
}

/// Fails when `shown` holds a `sig` parameter (after `?` or `&`, plain or percent-encoded)
/// with the marker value.
fn no_signature(shown: &str) -> Result<(), String> {
    let lower = shown.to_ascii_lowercase();
    let leaks = [
        "?sig=secret-sig",
        "&sig=secret-sig",
        "%3fsig%3dsecret-sig",
        "%26sig%3dsecret-sig",
    ];
    if leaks.iter().any(|leak| lower.contains(leak)) {
        return Err(format!("a signature got through: {shown:?}"));
    }
    Ok(())
}

/// Whether `input` carries the marker signature as a URL parameter (`?sig=` or `&sig=`).
fn has_signature(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input).to_ascii_lowercase();
    text.contains("?sig=secret-sig") || text.contains("&sig=secret-sig")
}

/// Decodes `input` as `T` and, when it decodes, encodes it again and formats it.
fn decode<T: serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug>(
    input: &[u8],
) -> Result<(), String> {
    if let Ok(value) = serde_json::from_slice::<T>(input) {
        let _ =
            serde_json::to_vec(&value).map_err(|e| format!("decoded but does not encode: {e}"))?;
        let _ = format!("{value:?}");
    }
    Ok(())
}

/// The SAS URL fields of the spec (download items, error reports) never show a signature in
/// `Debug`. (Fields the spec does not know are kept verbatim in `extra`, as data.)
fn known_urls(input: &[u8]) -> Result<(), String> {
    if let Ok(submission) = serde_json::from_slice::<types::Submission>(input) {
        let urls = submission
            .downloads
            .iter()
            .flat_map(|d| d.items.iter().map(|i| format!("{:?}", i.url)));
        let report = submission
            .workflow_status
            .iter()
            .filter_map(|w| w.error_report.as_ref().map(|u| format!("{u:?}")));
        for shown in urls.chain(report).filter(|_| has_signature(input)) {
            no_signature(&shown)?;
        }
    }
    Ok(())
}

fn resources(input: &[u8]) -> Result<(), String> {
    decode::<types::Product>(input)?;
    decode::<types::ProductList>(input)?;
    decode::<types::Submission>(input)?;
    decode::<types::SubmissionList>(input)?;
    decode::<types::ShippingLabel>(input)?;
    decode::<types::ShippingLabelList>(input)?;
    decode::<types::AudienceList>(input)?;
    decode::<types::PreprodPackage>(input)?;
    decode::<types::PreprodAssetList>(input)?;
    decode::<types::ErrorResponse>(input)?;
    decode::<types::NewShippingLabel>(input)?;
    known_urls(input)
}

fn driver_metadata(input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    if let Ok(metadata) = hw_api::targeting::DriverMetadata::parse(&text) {
        let ids = metadata.hardware_ids(&hw_api::targeting::Filter::default());
        if ids.len() > input.len() {
            return Err(format!(
                "{} hardware ids from {} bytes",
                ids.len(),
                input.len()
            ));
        }
        let _ = metadata.has_extension_inf(&hw_api::targeting::Filter::default());
    }
    Ok(())
}

fn sas_and_redaction(input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    if !has_signature(input) {
        let _ = hw_api::transfer::SasUrl::parse(&text, hw_api::transfer::Access::Read);
        let _ = hw_api::redact::text(&text);
        let _ = hw_api_gen::SecretUrl::from(text.as_ref()).to_string();
        return Ok(());
    }
    for access in [
        hw_api::transfer::Access::Read,
        hw_api::transfer::Access::Write,
    ] {
        match hw_api::transfer::SasUrl::parse(&text, access) {
            Ok(sas) => no_signature(&format!("{sas} {sas:?}"))?,
            Err(e) => no_signature(&e.to_string())?,
        }
    }
    no_signature(&hw_api::redact::url_text(&text))?;
    no_signature(&hw_api::redact::text(&text))?;
    no_signature(&hw_api_gen::SecretUrl::from(text.as_ref()).to_string())
}

fn next_link(input: &[u8]) -> Result<(), String> {
    let base = url::Url::parse("https://manage.devcenter.microsoft.com/v2.0/my")
        .map_err(|e| e.to_string())?;
    let page = url::Url::parse(
        "https://manage.devcenter.microsoft.com/v2.0/my/hardware/products?pageSize=50",
    )
    .map_err(|e| e.to_string())?;
    let links: Vec<types::Link> = match serde_json::from_slice::<Value>(input) {
        Ok(value) => serde_json::from_value(value.get("links").cloned().unwrap_or(Value::Null))
            .unwrap_or_default(),
        Err(_) => vec![
            serde_json::from_value(
                json!({"rel": "next_link", "href": String::from_utf8_lossy(input)}),
            )
            .map_err(|e| e.to_string())?,
        ],
    };
    match hw_api::fuzzing::next_link(&base, &page, &links) {
        Ok(Some((url, trusted))) => {
            if trusted && url.origin() != base.origin() {
                return Err(format!("{url} was trusted"));
            }
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(message) if has_signature(input) => no_signature(&message),
        Err(_) => Ok(()),
    }
}
