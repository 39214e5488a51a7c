//! `hwdc package` and `hwdc submit DRIVER_DIR`: the CAB is read back by the `cab` crate and by
//! an independent reader (cabextract, or Windows' expand) with equal bytes, is reproducible, is
//! refused when the check finds errors, and goes through the whole flow against hw-sim.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use common::*;

async fn package(args: &[&str]) -> Run {
    let command = isolated_command();
    let mut all = vec!["--output", "json", "package"];
    all.extend(args);
    run(command, &all).await
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every file under `dir`, as (path with `/`, bytes), sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_str().unwrap());
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{name}/"), out);
            } else {
                out.push((name, std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

/// The files of a cabinet as the `cab` crate reads them: (name with `/`, bytes), sorted.
fn read_with_cab_crate(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut cabinet = cab::Cabinet::new(std::fs::File::open(path).unwrap()).unwrap();
    let names: Vec<String> = cabinet
        .folder_entries()
        .flat_map(|f| f.file_entries())
        .map(|f| f.name().to_owned())
        .collect();
    let mut out: Vec<(String, Vec<u8>)> = names
        .into_iter()
        .map(|name| {
            let mut bytes = Vec::new();
            cabinet
                .read_file(&name)
                .unwrap()
                .read_to_end(&mut bytes)
                .unwrap();
            (name.replace('\\', "/"), bytes)
        })
        .collect();
    out.sort();
    out
}

/// Two driver folders under `home/drivers` (one INF in UTF-16) with more kinds of content, so
/// that every kind of deflate block is written: the folders and the folder above them.
fn sample_drivers(home: &Scratch) -> (PathBuf, PathBuf, PathBuf) {
    let drivers = home.0.join("drivers");
    std::fs::create_dir_all(&drivers).unwrap();
    let touch = driver_folder(&drivers, "touch", INF.as_bytes());
    let wide = driver_folder(&drivers, "touch-utf16", &utf16(INF));
    // More kinds of content, so that every kind of deflate block is written: text, a long run,
    // and a file bigger than one 32 KiB MSZIP frame that ends mid-frame.
    let text: String = (0..4000)
        .map(|i| format!("line {i}: {}\n", i * 7919 % 104_729))
        .collect();
    std::fs::write(touch.join("notes.txt"), text).unwrap();
    std::fs::write(touch.join("zeros.bin"), vec![0u8; 100_001]).unwrap();
    (drivers, touch, wide)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_independent_reader_reads_the_cab_back() {
    let home = Scratch::new("package-reader");
    let (drivers, touch, wide) = sample_drivers(&home);
    let out = home.0.join("driver.cab");
    package(&[s(&touch), s(&wide), "--out", s(&out)]).await.ok();
    let extracted = home.0.join("extracted");
    hw_workspace_tests::cabextract::extract(&out, &extracted).unwrap();
    assert_eq!(
        tree(&extracted),
        tree(&drivers),
        "an independent reader reads it back"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cab_reads_back_with_equal_bytes_and_is_reproducible() {
    let home = Scratch::new("package");
    let (drivers, touch, wide) = sample_drivers(&home);
    let out = home.0.join("driver.cab");
    let run = package(&[s(&touch), s(&wide), "--out", s(&out)]).await.ok();
    let result = run.json();
    assert!(
        run.stderr.contains("[C11]"),
        "the signing reminder: {}",
        run.stderr
    );
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(result["bytes"].as_u64(), Some(bytes.len() as u64));
    let folders: Vec<&str> = result["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(folders, ["touch", "touch-utf16"]);
    // Compressed: the cabinet is smaller than its files.
    let expected = tree(&drivers);
    let total: usize = expected.iter().map(|(_, b)| b.len()).sum();
    assert!(bytes.len() < total, "{} of {total}", bytes.len());

    assert_eq!(
        read_with_cab_crate(&out),
        expected,
        "the cab crate reads it back"
    );

    // The same folders, given in the other order, with newer file times: the same bytes.
    std::fs::write(touch.join("touch.pdb"), b"symbols").unwrap();
    let again = home.0.join("again.cab");
    let second = package(&[s(&wide), s(&touch), "-o", s(&again)])
        .await
        .ok()
        .json();
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
    assert_eq!(second["sha256"], result["sha256"]);
    // A changed file: other bytes.
    std::fs::write(touch.join("touch.pdb"), b"other symbols").unwrap();
    let changed = package(&[s(&touch), s(&wide), "-o", s(&again)])
        .await
        .ok()
        .json();
    assert_ne!(changed["sha256"], result["sha256"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_package_the_check_refuses_is_not_written() {
    let home = Scratch::new("package-refused");
    let broken = driver_folder(
        &home.0,
        "broken",
        INF.replace("touch.sys=1", "gone.sys=1").as_bytes(),
    );
    let out = home.0.join("broken.cab");
    let run = package(&[s(&broken), "--out", s(&out)]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("[S5]"),
        "the findings are told: {}",
        run.stderr
    );
    assert!(!out.exists() && !home.0.join("broken.cab.new").exists());
    // --no-check writes it anyway.
    package(&[s(&broken), "--out", s(&out), "--no-check"])
        .await
        .ok();
    assert!(out.is_file());

    // Folders of different architectures may not share a cabinet (C4).
    let x64 = driver_folder(&home.0, "x64", INF.as_bytes());
    let x86_inf = INF.replace("NTamd64", "NTx86");
    let x86 = driver_folder(&home.0, "x86", x86_inf.as_bytes());
    let mixed = package(&[s(&x64), s(&x86), "--out", s(&home.0.join("mixed.cab"))]).await;
    assert_eq!(mixed.code, 5, "{}", mixed.stderr);
    assert!(mixed.stderr.contains("[C4]"), "{}", mixed.stderr);

    // A CAB written into its own folder would pack itself next time.
    let inside = package(&[s(&x64), "--out", s(&x64.join("x64.cab"))]).await;
    assert_eq!(inside.code, 2, "{}", inside.stderr);
    // The same folder name twice.
    let other = Scratch::new("package-twice");
    let twin = driver_folder(&other.0, "x64", INF.as_bytes());
    let twice = package(&[s(&x64), s(&twin), "--out", s(&home.0.join("t.cab"))]).await;
    assert_eq!(twice.code, 2, "{}", twice.stderr);
}

fn submit_args(folder: &Path, product: &str, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--output",
        "json",
        "submit",
        s(folder),
        "--create-product",
        product,
        "--harness",
        "attestation",
        "--signature",
        "WINDOWS_v100_X64_GE_FULL",
        "--name",
        "1.0",
        "--out",
        s(out),
        "--poll",
        "0.01",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_packages_checks_and_ships_a_driver_folder() {
    let sim = start(quick()).await;
    let home = Scratch::new("submit-folder");
    // A folder the check refuses: nothing is made.
    let arm_only = driver_folder(&home.0, "arm", INF.replace("NTamd64", "NTarm64").as_bytes());
    let out = home.0.join("signed.zip");
    let args = submit_args(&arm_only, "Touch", &out, &[]);
    let refused = hwdc(
        &sim,
        &home.0,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    assert!(refused.stderr.contains("[A1]"), "{}", refused.stderr);
    assert_eq!(
        sim.product_count(),
        0,
        "nothing is created for a refused package"
    );
    // `check --product` reads the signatures the product requests.
    let product = hwdc(
        &sim,
        &home.0,
        &[
            "--output",
            "json",
            "products",
            "create",
            "--name",
            "Arm64 only",
            "--signature",
            "WINDOWS_v100_ARM64_GE_FULL",
        ],
    )
    .await
    .ok()
    .json();
    let x64_folder = driver_folder(&home.0, "x64", INF.as_bytes());
    let checked = hwdc(
        &sim,
        &home.0,
        &[
            "--output",
            "json",
            "check",
            s(&x64_folder),
            "--product",
            &id(&product),
        ],
    )
    .await;
    assert_eq!(checked.code, 5, "{}", checked.stderr);
    assert!(checked.stdout.contains("\"A1\""), "{}", checked.stdout);
    std::fs::remove_dir_all(&x64_folder).unwrap();

    let touch = driver_folder(&home.0, "touch", INF.as_bytes());
    let args = submit_args(&touch, "Touch", &out, &[]);
    let done = hwdc(
        &sim,
        &home.0,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await
    .ok();
    let result = done.json();
    assert!(out.is_file());
    let cab: PathBuf = home.0.join("signed.zip.upload.cab");
    assert_eq!(
        read_with_cab_crate(&cab),
        tree(&home.0)
            .into_iter()
            .filter(|(name, _)| name.starts_with("touch/"))
            .collect::<Vec<_>>(),
        "the CAB holds the folder"
    );
    // What the service received is that CAB, byte for byte.
    let (p, sub) = (
        result["product"].to_string(),
        result["submission"].to_string(),
    );
    let initial = home.0.join("initial.cab");
    let args = ["download", &p, &sub, "--kind", "initial", "-o", s(&initial)];
    hwdc(&sim, &home.0, &args).await.ok();
    assert_eq!(
        std::fs::read(&initial).unwrap(),
        std::fs::read(&cab).unwrap()
    );
    assert_eq!(sim.product_count(), 2);

    // A journal inside the driver folder would be packed with it: refused.
    let inside = submit_args(
        &touch,
        "Touch",
        &out,
        &["--state", s(&touch.join("j.json"))],
    );
    let run = hwdc(
        &sim,
        &home.0,
        &inside.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    // A .cab given to submit is checked first: a cabinet with a file at its root is refused
    // before anything is made.
    let rooted = home.0.join("rooted.cab");
    let mut builder = cab::CabinetBuilder::new();
    builder
        .add_folder(cab::CompressionType::MsZip)
        .add_file("stray.txt");
    let mut writer = builder
        .build(std::fs::File::create(&rooted).unwrap())
        .unwrap();
    while let Some(mut entry) = writer.next_file().unwrap() {
        std::io::Write::write_all(&mut entry, b"x").unwrap();
    }
    writer.finish().unwrap();
    let args = submit_args(&rooted, "Rooted", &home.0.join("rooted-signed.zip"), &[]);
    let run = hwdc(
        &sim,
        &home.0,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("[C1]"), "{}", run.stderr);
    assert_eq!(sim.product_count(), 2, "nothing is made for a refused .cab");

    // --no-check submits what the check would refuse (the simulator does not judge it).
    let out = home.0.join("arm-signed.zip");
    let args = submit_args(&arm_only, "Unchecked", &out, &["--no-check"]);
    hwdc(
        &sim,
        &home.0,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await
    .ok();
    assert!(out.is_file());
}

/// `package --output github|sarif` print the findings as CI reads them, each placed in its
/// folder on disk (the signing reminder at the CAB written); the result is told on standard
/// error, and a refused package's errors are annotated too.
#[tokio::test(flavor = "multi_thread")]
async fn package_findings_in_the_formats_ci_reads() {
    let home = Scratch::new("package-ci");
    let good = driver_folder(&home.0, "good", INF.as_bytes());
    let out = home.0.join("good.cab");
    let written = run(
        isolated_command(),
        &["--output", "github", "package", s(&good), "--out", s(&out)],
    )
    .await
    .ok();
    // A property escapes `:` (a Windows drive's) as `%3A`, as GitHub reads it.
    let cab = s(&out).replace('\\', "/").replace(':', "%3A");
    let lines: Vec<&str> = written.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "only the signing reminder: {}",
        written.stdout
    );
    assert!(
        lines[0].starts_with(&format!("::warning file={cab},title=hwdc C11::")),
        "{}",
        lines[0]
    );
    assert!(written.stderr.contains("Wrote "), "{}", written.stderr);
    assert!(out.is_file());
    let broken = driver_folder(
        &home.0,
        "broken",
        INF.replace("touch.sys=1", "gone.sys=1").as_bytes(),
    );
    let refused = run(
        isolated_command(),
        &[
            "--output",
            "sarif",
            "package",
            s(&broken),
            "--out",
            s(&home.0.join("broken.cab")),
        ],
    )
    .await;
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    let log: serde_json::Value = serde_json::from_str(&refused.stdout).unwrap();
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "S5");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        format!("{}/touch.inf", s(&broken).replace('\\', "/"))
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        12
    );
}
