//! `hwdc verify` on signed packages made as Microsoft makes them: the driver folder's PE files
//! signed with osslsigncode (a real Authenticode signer) by a test authority, a catalog in
//! place of the partner's, the folder under a `Signed_<id>/` root of a ZIP. The identical
//! package passes; each mismatch fails (exit 5) with the file named; a hostile archive is
//! refused with the entry named.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use hw_workspace_tests::signing::{TestSigner, pe};
use serde_json::Value;

const CATALOG: &[u8] = b"0\x82 a partner's catalog";
const MS_CATALOG: &[u8] = b"0\x82 Microsoft's catalog";

/// The submitted driver folder and its files, signed once.
struct Fixture {
    home: Scratch,
    submitted: PathBuf,
    /// The returned files (path under the driver folder, bytes), as Microsoft would return
    /// them.
    returned: Vec<(String, Vec<u8>)>,
    signer: TestSigner,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let home = Scratch::new(name);
        let signer = TestSigner::new(&home.0.join("pki"), "Test");
        let submitted = driver_folder(&home.0, "drv", INF.as_bytes());
        // A driver whose length is a multiple of eight, and a helper whose is not (signing
        // pads it).
        std::fs::write(submitted.join("touch.sys"), pe(b"touch code", 0)).unwrap();
        std::fs::write(submitted.join("helper.dll"), pe(b"helper code", 3)).unwrap();
        std::fs::write(submitted.join("touch.cat"), CATALOG).unwrap();
        let mut fixture = Fixture {
            home,
            submitted,
            returned: Vec::new(),
            signer,
        };
        // The driver comes back with a nested signature (as when a partner's own signature is
        // kept and Microsoft's added).
        let once = fixture.sign("touch.sys", false);
        let nested = fixture.home.0.join("touch.nested.sys");
        fixture.signer.sign(&once, &nested, true);
        fixture.returned = vec![
            ("touch.inf".into(), INF.as_bytes().to_vec()),
            ("touch.pdb".into(), b"symbols".to_vec()),
            ("touch.sys".into(), std::fs::read(&nested).unwrap()),
            (
                "helper.dll".into(),
                std::fs::read(fixture.sign("helper.dll", false)).unwrap(),
            ),
            ("touch.cat".into(), MS_CATALOG.to_vec()),
        ];
        fixture
    }

    /// The submitted file `name`, signed.
    fn sign(&self, name: &str, nest: bool) -> PathBuf {
        let out = self.home.0.join(format!("signed-{name}"));
        self.signer.sign(&self.submitted.join(name), &out, nest);
        out
    }

    /// The returned files as a ZIP under `Signed_42/drv/`, changed by `edit`.
    fn zip(&self, name: &str, edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> PathBuf {
        let mut files = self.returned.clone();
        edit(&mut files);
        let path = self.home.0.join(format!("{name}.zip"));
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (file, bytes) in files {
            zip.start_file(format!("Signed_42/drv/{file}"), options)
                .unwrap();
            zip.write_all(&bytes).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    async fn verify(&self, signed: &Path) -> Run {
        let command = isolated_command();
        let args = [
            "--output",
            "json",
            "verify",
            signed.to_str().unwrap(),
            "--against",
            self.submitted.to_str().unwrap(),
        ];
        run(command, &args).await
    }
}

/// The outcome of each file of the package Microsoft would return.
const GOOD: &[(&str, &str)] = &[
    ("drv/helper.dll", "same_code"),
    ("drv/touch.cat", "catalog_replaced"),
    ("drv/touch.inf", "same"),
    ("drv/touch.pdb", "same"),
    ("drv/touch.sys", "same_code"),
];

/// Each file's outcome, by path.
fn outcomes(result: &Value) -> Vec<(String, String)> {
    result["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The message digest osslsigncode reads from the signature of the PE file at `path`.
fn signed_digest(path: &Path) -> String {
    let mut command = hw_workspace_tests::signing::osslsigncode().unwrap();
    let output = command.arg("verify").arg("-in").arg(path).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("Current message digest"))
        .and_then(|rest| rest.split(':').nth(1))
        .map(|hex| hex.trim().to_ascii_lowercase())
        .unwrap_or_else(|| panic!("no message digest in: {text}"))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(p, o)| ((*p).to_owned(), (*o).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_package_microsoft_would_return_passes_and_each_mismatch_fails_with_its_file() {
    let fixture = Fixture::new("verify");
    let good = fixture.zip("good", |_| {});
    let run = fixture.verify(&good).await.ok();
    let result = run.json();
    validates("verify", &result);
    assert_eq!(result["passed"], true);
    assert_eq!(result["signed_root"], "Signed_42/");
    assert_eq!(outcomes(&result), pairs(GOOD));
    let sys = &result["files"][4];
    assert_eq!(sys["kind"], "pe");
    assert_ne!(sys["submitted_sha256"], sys["signed_sha256"]);
    // The signers each returned PE file's signatures name: the test signer, twice for the
    // driver (its nested signature).
    let thumbprint = sha256_hex(&fixture.signer.signer_der);
    for (index, count) in [(0, 1), (4, 2)] {
        let signers = result["files"][index]["signers"].as_array().unwrap();
        assert_eq!(signers.len(), count, "{signers:#?}");
        for (i, signer) in signers.iter().enumerate() {
            assert_eq!(signer["sha256"], thumbprint.as_str());
            assert_eq!(signer["hardware_eku"], "attestation");
            assert_eq!(signer["nested"], i > 0);
            assert!(
                signer["subject"]
                    .as_str()
                    .unwrap()
                    .contains("Test Windows Hardware"),
                "{signer}"
            );
        }
    }
    // The digests are the Authenticode digests osslsigncode signed, not merely equal to each
    // other: its own reading of each returned PE file's signature says the same.
    for (index, name) in [(0, "helper.dll"), (4, "touch.sys")] {
        let file = fixture
            .returned
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, bytes)| bytes.clone())
            .unwrap();
        let path = fixture.home.0.join(format!("returned-{name}"));
        std::fs::write(&path, file).unwrap();
        let shown = signed_digest(&path);
        assert_eq!(
            result["files"][index]["authenticode_sha256"], shown,
            "{name}"
        );
    }

    let replace = |name: &'static str, bytes: Vec<u8>| {
        move |files: &mut Vec<(String, Vec<u8>)>| {
            files.iter_mut().find(|(n, _)| n == name).unwrap().1 = bytes;
        }
    };
    let other_code = fixture.home.0.join("other.sys");
    std::fs::write(&other_code, pe(b"other code", 0)).unwrap();
    let other_signed = fixture.home.0.join("other.signed.sys");
    fixture.signer.sign(&other_code, &other_signed, false);
    let unsigned = std::fs::read(fixture.submitted.join("touch.sys")).unwrap();
    let cases: Vec<(&str, PathBuf, &str, &str)> = vec![
        (
            "a changed INF",
            fixture.zip(
                "inf",
                replace("touch.inf", INF.replace("Touch", "Touch!").into_bytes()),
            ),
            "drv/touch.inf",
            "changed",
        ),
        (
            "a changed driver binary, signed",
            fixture.zip(
                "code",
                replace("touch.sys", std::fs::read(&other_signed).unwrap()),
            ),
            "drv/touch.sys",
            "changed",
        ),
        (
            "a driver binary returned unsigned",
            fixture.zip("unsigned", replace("touch.sys", unsigned)),
            "drv/touch.sys",
            "unsigned",
        ),
        (
            "a missing file",
            fixture.zip("missing", |files| files.retain(|(n, _)| n != "helper.dll")),
            "drv/helper.dll",
            "missing",
        ),
        (
            "an added file",
            fixture.zip("added", |files| {
                files.push(("extra.txt".into(), b"not sent".to_vec()))
            }),
            "Signed_42/drv/extra.txt",
            "added",
        ),
        (
            "no catalog returned",
            fixture.zip("nocat", |files| files.retain(|(n, _)| n != "touch.cat")),
            "drv/touch.cat",
            "missing",
        ),
    ];
    for (case, zip, file, outcome) in cases {
        let run = fixture.verify(&zip).await;
        assert_eq!(run.code, 5, "{case}: {}", run.stderr);
        let result = run.json();
        validates("verify", &result);
        assert_eq!(result["passed"], false, "{case}");
        let failed: Vec<(String, String)> = result["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["passed"] == false)
            .map(|f| {
                (
                    f["path"].as_str().unwrap().to_owned(),
                    f["outcome"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(failed, pairs(&[(file, outcome)]), "{case}");
        assert!(
            run.stderr.contains("not what was submitted"),
            "{case}: {}",
            run.stderr
        );
    }
}

/// A catalog Microsoft names differently (lower-cased, as one user saw) replaces the
/// partner's; a table lists every file for a person.
#[tokio::test(flavor = "multi_thread")]
async fn a_catalog_under_another_name_replaces_the_partners_and_a_table_lists_each_file() {
    let fixture = Fixture::new("verify-catname");
    let renamed = fixture.zip("renamed", |files| {
        files.iter_mut().find(|(n, _)| n == "touch.cat").unwrap().0 = "microsoft.cat".into();
    });
    let result = fixture.verify(&renamed).await.ok().json();
    let mut expected = pairs(GOOD);
    expected.push(("Signed_42/drv/microsoft.cat".into(), "catalog_added".into()));
    assert_eq!(outcomes(&result), expected);
    let table = run(
        isolated_command(),
        &[
            "verify",
            renamed.to_str().unwrap(),
            "--against",
            fixture.submitted.to_str().unwrap(),
        ],
    )
    .await
    .ok();
    assert!(table.stdout.starts_with("FILE"), "{}", table.stdout);
    assert_eq!(table.stdout.lines().count(), 7, "{}", table.stdout);
    assert!(
        table
            .stderr
            .contains("6 file(s): the signed package holds what was submitted")
    );
}

/// A ZIP whose entry would land outside the folder, or a link, is refused with the entry named
/// (exit 5); a submitted package that is missing or none is said to be the submitted one (exit 4,
/// exit 2).
#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_signed_package_is_refused_with_the_entry_named() {
    let home = Scratch::new("verify-hostile");
    let submitted = driver_folder(&home.0, "drv", INF.as_bytes());
    let verify = |signed: PathBuf| {
        let args = [
            "--output".to_owned(),
            "json".into(),
            "verify".into(),
            signed.to_string_lossy().into_owned(),
            "--against".into(),
            submitted.to_string_lossy().into_owned(),
        ];
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(isolated_command(), &args).await
        }
    };
    let names = [
        "../evil.sys",
        "/etc/passwd",
        "C:evil.sys",
        "Signed_42/drv/TOUCH.INF",
    ];
    for name in names {
        let path = home.0.join("hostile.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("Signed_42/drv/touch.inf", options).unwrap();
        zip.write_all(INF.as_bytes()).unwrap();
        zip.start_file(name, options).unwrap();
        zip.write_all(b"x").unwrap();
        zip.finish().unwrap();
        let run = verify(path.clone()).await;
        assert_eq!(run.code, 5, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
    }
    let path = home.0.join("link.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.add_symlink(
        "Signed_42/drv/touch.inf",
        "/etc/passwd",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    zip.finish().unwrap();
    let run = verify(path.clone()).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    let signed = path.to_string_lossy().into_owned();
    for (against, code) in [(home.0.join("absent"), 4), (submitted.join("touch.inf"), 2)] {
        let against = against.to_string_lossy().into_owned();
        let run = common::run(
            isolated_command(),
            &["verify", &signed, "--against", &against],
        )
        .await;
        assert_eq!(run.code, code, "{against}: {}", run.stderr);
        assert!(
            run.stderr.contains("the submitted package"),
            "{}",
            run.stderr
        );
    }
}
