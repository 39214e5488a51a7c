//! A corpus of Microsoft's own driver samples (`tests/fixtures/windows-driver-samples`, MS-PL)
//! run through the INF rules, as each INF is on its own (every file it names taken as present:
//! the folder rules are not about these INFs). Every finding is written down with why it is
//! there: a difference of purpose (a stampinf template is not a packaged INF; a legacy filter
//! INF installs no device) or a defect of the sample. A change of the rules that moves any of
//! them fails here, to be looked at.

use std::path::Path;

use hw_package::driver_check::{Finding, Severity, check_inf};

/// A sample's findings as (rule, line, error).
fn findings(name: &str) -> Vec<(&'static str, Option<usize>, bool)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/windows-driver-samples")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let found: Vec<Finding> = check_inf(Path::new(name), &bytes, &|_| true);
    if std::env::var_os("HW_PRINT_FINDINGS").is_some() {
        for f in &found {
            println!("{name}: {f}");
        }
    }
    found
        .iter()
        .map(|f| (f.rule, f.line, f.severity == Severity::Error))
        .collect()
}

/// In the samples' repository every INF, `.inx` or `.inf`, is a source the WDK build stamps:
/// stampinf replaces `$ARCH$`, `$KMDFVERSION$` and `$UMDFVERSION$` as it builds. Checked as
/// they are, before that, each variable is T1 at its line; that is the difference between a
/// template and a packaged INF, not a defect of the sample.
const TEMPLATE: &str = "a stampinf variable, which the WDK build replaces";

/// A finding written down: rule, line, whether it is an error, and why it is there.
type Written = (&'static str, Option<usize>, bool, &'static str);

#[test]
fn each_sample_has_exactly_the_findings_written_down() {
    let expected: [(&str, &[Written]); 6] = [
        (
            "echo.inx",
            &[
                ("T1", Some(51), true, TEMPLATE),
                ("T1", Some(53), true, TEMPLATE),
                ("T1", Some(79), true, TEMPLATE),
            ],
        ),
        // A device INF with [ClassInstall32]: nothing the current rules see (the universal
        // and declarative modes of issue 29 will).
        ("toastpkg.inf", &[]),
        (
            "nullFilter.inf",
            &[
                ("T1", Some(32), true, TEMPLATE),
                ("T1", Some(36), true, TEMPLATE),
                ("T1", Some(67), true, TEMPLATE),
                ("T1", Some(71), true, TEMPLATE),
                ("T1", Some(78), true, TEMPLATE),
                ("T1", Some(82), true, TEMPLATE),
            ],
        ),
        (
            "osrfx2_DCHU_extension.inx",
            &[
                // An extension INF is published as an automatic update in a submission of its
                // own: advice for any extension INF (a warning), as documented.
                ("E4", Some(20), false, "an extension INF"),
                ("T1", Some(31), true, TEMPLATE),
                ("T1", Some(33), true, TEMPLATE),
            ],
        ),
        (
            "netlwf.inf",
            &[
                ("T1", Some(28), true, TEMPLATE),
                ("T1", Some(33), true, TEMPLATE),
                ("T1", Some(36), true, TEMPLATE),
            ],
        ),
        (
            "VhidminiUm.inx",
            &[
                ("T1", Some(40), true, TEMPLATE),
                ("T1", Some(42), true, TEMPLATE),
                ("T1", Some(77), true, TEMPLATE),
            ],
        ),
    ];
    for (name, written) in expected {
        let written: Vec<(&str, Option<usize>, bool)> =
            written.iter().map(|(r, l, e, _)| (*r, *l, *e)).collect();
        assert_eq!(findings(name), written, "{name}");
    }
}

/// Stamped as the WDK build would (its variables replaced), a template has no T1 left, and
/// no finding the stamping hides.
#[test]
fn a_stamped_template_has_no_template_finding() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/windows-driver-samples/echo.inx");
    let stamped = std::fs::read_to_string(path)
        .unwrap()
        .replace("$ARCH$", "amd64")
        .replace("$KMDFVERSION$", "1.33");
    let found = check_inf(Path::new("echo.inf"), stamped.as_bytes(), &|_| true);
    assert!(found.is_empty(), "{found:#?}");
}
