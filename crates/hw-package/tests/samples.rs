//! A corpus of Microsoft's own driver samples (`tests/fixtures/windows-driver-samples`, MS-PL)
//! run through the INF rules in every mode, as each INF is on its own (every file it names taken
//! as present: the folder rules are not about these INFs). Every finding is written down with
//! why it is there: a difference of purpose (a stampinf template is not a packaged INF), of
//! mode (a Desktop driver is not a universal INF) or a defect of the sample (none so far). A change of the rules that moves any of
//! them fails here, to be looked at.

use std::path::Path;

use hw_package::driver_check::{Finding, Mode, Severity, check_inf};

/// A sample's findings as (rule, line, error).
fn findings(name: &str, mode: Mode) -> Vec<(&'static str, Option<usize>, bool)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/windows-driver-samples")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let found: Vec<Finding> = check_inf(Path::new(name), &bytes, &|_| true, mode);
    if std::env::var_os("HW_PRINT_FINDINGS").is_some() {
        for f in &found {
            println!("{mode} {name}: {f}");
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

/// A sample meant for Windows Desktop (InfVerif `/h`), not written as a universal INF: a
/// legacy section or directive is a warning where InfVerif reports it without `/u`, and an
/// error in the universal, declarative and Windows Driver modes. A difference of mode, not a
/// defect of the sample.
const DESKTOP: &str = "a Desktop driver's legacy construct, refused only by the universal modes";

/// A Desktop sample's destination other than DIRID 13: `/h` lists DIRID 12 among its
/// exceptions; driver package isolation (`/w`) accepts only 13 (1322). A difference of mode.
const ISOLATION: &str = "DIRID 12, which only driver package isolation refuses";

/// A finding written down: rule, line, what it is in each mode (in the order of
/// [`Mode::ALL`]: submission, desktop, universal, declarative, windows-driver; `E` an error,
/// `w` a warning, `-` no finding), and why it is there.
type Written = (&'static str, Option<usize>, &'static str, &'static str);

#[test]
fn each_sample_has_exactly_the_findings_written_down_in_every_mode() {
    let expected: [(&str, &[Written]); 6] = [
        (
            "echo.inx",
            &[
                ("D6", Some(39), "wwEEE", DESKTOP),
                ("T1", Some(51), "EEEEE", TEMPLATE),
                ("T1", Some(53), "EEEEE", TEMPLATE),
                ("T1", Some(79), "EEEEE", TEMPLATE),
            ],
        ),
        // A device INF of a class of its own, which [ClassInstall32] installs.
        ("toastpkg.inf", &[("D6", Some(43), "wwEEE", DESKTOP)]),
        (
            // A file system minifilter, installed by [DefaultInstall] and removed by
            // [DefaultUninstall] (DelFiles, DelService).
            "nullFilter.inf",
            &[
                ("D2", Some(24), "----E", ISOLATION),
                ("D2", Some(25), "----E", ISOLATION),
                ("T1", Some(32), "EEEEE", TEMPLATE),
                ("T1", Some(36), "EEEEE", TEMPLATE),
                ("T1", Some(67), "EEEEE", TEMPLATE),
                ("T1", Some(71), "EEEEE", TEMPLATE),
                ("T1", Some(78), "EEEEE", TEMPLATE),
                ("D6", Some(80), "wwEEE", DESKTOP),
                ("T1", Some(82), "EEEEE", TEMPLATE),
                ("D6", Some(83), "wwEEE", DESKTOP),
            ],
        ),
        (
            "osrfx2_DCHU_extension.inx",
            &[
                // An extension INF is published as an automatic update in a submission of its
                // own: advice for any extension INF (a warning), as documented. The sample is
                // universal: no mode finds more.
                ("E4", Some(20), "wwwww", "an extension INF"),
                ("T1", Some(31), "EEEEE", TEMPLATE),
                ("T1", Some(33), "EEEEE", TEMPLATE),
            ],
        ),
        (
            // An NDIS filter: its service is removed by DelService in the network class's
            // .Remove sections, and its files go to DIRID 12 below build 25319 (its comment
            // says so).
            "netlwf.inf",
            &[
                ("T1", Some(28), "EEEEE", TEMPLATE),
                ("T1", Some(33), "EEEEE", TEMPLATE),
                ("T1", Some(36), "EEEEE", TEMPLATE),
                ("D2", Some(78), "----E", ISOLATION),
                ("D6", Some(197), "wwEEE", DESKTOP),
                ("D6", Some(203), "wwEEE", DESKTOP),
            ],
        ),
        (
            // A UMDF HID minidriver written as a Windows Driver: no mode finds more.
            "VhidminiUm.inx",
            &[
                ("T1", Some(40), "EEEEE", TEMPLATE),
                ("T1", Some(42), "EEEEE", TEMPLATE),
                ("T1", Some(77), "EEEEE", TEMPLATE),
            ],
        ),
    ];
    for (name, written) in expected {
        for (index, mode) in Mode::ALL.into_iter().enumerate() {
            let mut want: Vec<(&str, Option<usize>, bool)> = written
                .iter()
                .filter_map(|(rule, line, modes, _)| match modes.as_bytes()[index] {
                    b'E' => Some((*rule, *line, true)),
                    b'w' => Some((*rule, *line, false)),
                    _ => None,
                })
                .collect();
            let mut got = findings(name, mode);
            want.sort();
            got.sort();
            assert_eq!(got, want, "{name} in mode {mode}");
        }
    }
}

/// Stamped as the WDK build would (its variables replaced), a template has no T1 left, and
/// no finding the stamping hides: only its class installer, a warning.
#[test]
fn a_stamped_template_has_no_template_finding() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/windows-driver-samples/echo.inx");
    let stamped = std::fs::read_to_string(path)
        .unwrap()
        .replace("$ARCH$", "amd64")
        .replace("$KMDFVERSION$", "1.33");
    let found = check_inf(
        Path::new("echo.inf"),
        stamped.as_bytes(),
        &|_| true,
        Mode::Submission,
    );
    let found: Vec<_> = found.iter().map(|f| (f.rule, f.line, f.severity)).collect();
    assert_eq!(found, [("D6", Some(39), Severity::Warning)]);
}
