//! A short fuzz run, part of every test run; `cargo xtask fuzz` runs a long one.

#[global_allocator]
static ALLOCATOR: hw_bench::alloc::Counting = hw_bench::alloc::Counting;

#[test]
fn a_short_fuzz_run_finds_nothing() {
    assert!(hw_bench::alloc::enable());
    let seed = std::env::var("HW_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    match hw_bench::fuzz::run(std::time::Duration::from_secs(8), seed) {
        Ok(report) => {
            for (target, runs) in &report.runs {
                assert!(*runs > 50, "{target} ran only {runs} inputs");
            }
        }
        Err(finding) => panic!("{finding}"),
    }
}
