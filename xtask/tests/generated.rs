//! The generated core matches the spec, and its surface is what the snapshot says.

use xtask::{GENERATED_PATH, SPEC_PATH, codegen, digest, spec::Spec, workspace_root};

#[test]
fn generated_rs_is_fresh() {
    let root = workspace_root();
    let spec = Spec::load(&root.join(SPEC_PATH)).expect("spec loads");
    let fresh = codegen::render(&spec).expect("spec generates");
    let current = std::fs::read_to_string(root.join(GENERATED_PATH)).expect("generated.rs exists");
    assert!(
        current == fresh,
        "{GENERATED_PATH} is stale: run `cargo xtask generate`.\n{}",
        codegen::diff(&current, &fresh)
    );
}

#[test]
fn generated_header_names_the_spec_hash() {
    let root = workspace_root();
    let spec = Spec::load(&root.join(SPEC_PATH)).expect("spec loads");
    let current = std::fs::read_to_string(root.join(GENERATED_PATH)).expect("generated.rs exists");
    let first = current.lines().next().unwrap_or_default();
    assert!(first.starts_with("// @generated"), "{first}");
    assert!(first.contains(&spec.hash()), "{first}");
}

#[test]
fn api_surface_digest() {
    let source = std::fs::read_to_string(workspace_root().join(GENERATED_PATH)).unwrap();
    insta::assert_snapshot!(digest::digest(&source).unwrap());
}

#[test]
fn check_mode_reports_a_readable_diff() {
    let diff = codegen::diff("a\nb\nc\n", "a\nB\nc\n");
    assert!(diff.contains("-b\n+B"), "{diff}");
    let long_old: String = (0..1000).map(|i| format!("{i}\n")).collect();
    let bounded = codegen::diff(&long_old, "");
    assert!(bounded.contains("more diff lines"), "{bounded}");
    assert!(bounded.lines().count() <= 202);
}
