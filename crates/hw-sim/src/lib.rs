//! A stateful simulator of the Hardware Dev Center API for the demo, examples, tests, benchmarks
//! and users' own CI: the API itself, the Entra token endpoint and the blob storage behind the
//! SAS URLs, each a real HTTP server on loopback.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let sim = hw_sim::start(hw_sim::SimConfig::default()).await?;
//! println!("API at {}, tokens at {}", sim.api_url(), sim.authority_url());
//! sim.stop().await;
//! # Ok(()) }
//! ```
//!
//! It keeps products, submissions and blobs in memory, enforces the documented rules with the
//! service's error shapes, paginates like the service, runs the signing workflow of committed
//! submissions on a configurable clock, and can inject faults (see [`faults`]).

#![warn(missing_docs)]
// Handlers return `Result<_, Response>`: the error is the response to send, built once per
// failed request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod api;
pub mod assertion;
mod blob;
pub mod config;
mod fault_layer;
pub mod faults;
mod identity;
pub mod link;
mod record;
pub mod sas;
mod server;
mod shared;
pub mod state;
mod token;
pub mod workflow;

pub use config::{AppCredential, BlobLimits, FederatedCredential, SimConfig};
pub use faults::{Fault, FaultRule};
pub use server::{SimHandle, start};
pub use shared::Urls;
pub use state::{Recorded, SubmissionRecord};
