//! hw-api's public API, as a downstream crate sees it with the default features: every path
//! it can name, in a snapshot reviewed when it changes (`cargo insta review`), and each item by
//! one path only.

use hw_workspace_tests::tidy::public_api;
use hw_workspace_tests::workspace_root;

const DEFAULT_FEATURES: [&str; 2] = ["rustls", "certificate"];

#[test]
fn hw_apis_public_api() {
    let src = workspace_root().join("crates/hw-api/src");
    let api = public_api(&src, "hw_api", &DEFAULT_FEATURES).unwrap();
    let listing: String = api
        .items
        .iter()
        .map(|(path, kind)| format!("{kind} {path}\n"))
        .collect();
    insta::assert_snapshot!(listing);
}

#[test]
fn each_public_item_of_hw_api_has_one_path() {
    let src = workspace_root().join("crates/hw-api/src");
    let api = public_api(&src, "hw_api", &DEFAULT_FEATURES).unwrap();
    assert!(api.items.len() > 100, "{:?}", api.items);
    assert_eq!(api.several_paths, Vec::<Vec<String>>::new());
}

#[test]
fn the_default_build_has_no_test_or_fuzz_hook() {
    let src = workspace_root().join("crates/hw-api/src");
    let default = public_api(&src, "hw_api", &DEFAULT_FEATURES).unwrap();
    for hook in [
        "hw_api::fuzzing",
        "hw_api::operations",
        "hw_api::Client::resend_recorded",
    ] {
        assert!(!default.items.contains_key(hook), "{hook}");
    }
    let all = ["rustls", "certificate", "test-util", "fuzzing"];
    let with_hooks = public_api(&src, "hw_api", &all).unwrap();
    for hook in [
        "hw_api::fuzzing",
        "hw_api::operations",
        "hw_api::Client::resend_recorded",
    ] {
        assert!(
            with_hooks.items.contains_key(hook),
            "{hook}: {:?}",
            with_hooks.items.keys()
        );
    }
}

/// A made-up crate whose item is public at two paths, with a private module re-exported, a
/// glob, another crate's re-export and a feature-gated item.
#[test]
fn a_made_up_crate_is_listed_and_its_second_path_found() {
    let dir = hw_workspace_tests::tempdir::Dir::new("public-api");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("inner")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "mod inner;\npub mod open;\npub use inner::Thing;\npub use secrecy::SecretString;\npub use open::*;\n#[cfg(feature = \"hooks\")]\npub fn hook() {}\n",
    )
    .unwrap();
    std::fs::write(
        src.join("inner/mod.rs"),
        "mod deep;\npub use deep::Thing;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("inner/deep.rs"),
        "pub struct Thing;\nimpl Thing {\n    pub fn new() -> Self { Thing }\n    fn private(&self) {}\n}\n",
    )
    .unwrap();
    std::fs::write(
        src.join("open.rs"),
        "pub use crate::inner::Thing as Same;\npub fn f() {}\n",
    )
    .unwrap();
    let api = public_api(&src, "made_up", &[]).unwrap();
    let listed: Vec<String> = api.items.iter().map(|(p, k)| format!("{k} {p}")).collect();
    assert_eq!(
        listed,
        [
            "struct made_up::Same",
            "fn made_up::Same::new",
            "pub use secrecy::SecretString as made_up::SecretString",
            "struct made_up::Thing",
            "fn made_up::Thing::new",
            "fn made_up::f",
            "mod made_up::open",
            "struct made_up::open::Same",
            "fn made_up::open::Same::new",
            "fn made_up::open::f",
        ]
    );
    assert_eq!(
        api.several_paths,
        [
            vec!["made_up::Same", "made_up::Thing", "made_up::open::Same"],
            vec!["made_up::f", "made_up::open::f"],
        ]
    );
    let hooked = public_api(&src, "made_up", &["hooks"]).unwrap();
    assert_eq!(hooked.items["made_up::hook"], "fn");
}
