//! Benchmarks, the fault soak and the fuzz harness of the workspace; run through `cargo xtask`.

pub mod alloc;
pub mod chaos;
pub mod clients;
pub mod fleet;
pub mod fuzz;
pub mod soak;
