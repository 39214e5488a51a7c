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
//!
//! # Replaying a trace
//!
//! [`SimConfig::replay`] (`hw-sim --replay FILE`) serves a trace that hw-api recorded
//! (`hwdc --record`) instead of the simulated API and blob storage; see [`replay`].
//!
//! # In a downstream crate's tests
//!
//! Add `hw-sim` as a dev-dependency, start one simulator per test (each on its own free
//! ports), point the code under test at [`SimHandle::api_url`] and
//! [`SimHandle::authority_url`] with the credentials of [`SimHandle::app`], and assert on what
//! the service then holds ([`SimHandle::products`], [`SimHandle::submissions_of`],
//! [`SimHandle::blob`], [`SimHandle::requests`]). [`SimConfig`] sets the seed data, the
//! workflow's pace ([`SimConfig::step_duration`]) and the faults to inject; a package that
//! holds the text `HWSIM-FAIL-AT:<step>` fails the workflow at that step. hw-api's
//! `test_against_hw_sim` example is a whole test.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! let sim = hw_sim::start(hw_sim::SimConfig {
//!     seed_products: 1,
//!     step_duration: Duration::from_millis(20),
//!     ..hw_sim::SimConfig::default()
//! })
//! .await?;
//! let app = sim.app().expect("the default application");
//! // … run the code under test against sim.api_url(), signing in at sim.authority_url() as
//! // app.tenant_id / app.client_id / app.secret, then:
//! assert_eq!(sim.product_count(), 1);
//! sim.stop().await;
//! # Ok(()) }
//! ```

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
pub mod quota;
mod record;
pub mod replay;
pub mod sas;
mod server;
mod shared;
pub mod state;
pub mod tls;
mod token;
mod trace;
pub mod workflow;

pub use config::{AppCredential, BlobLimits, FederatedCredential, SimConfig};
pub use faults::{Fault, FaultRule};
pub use replay::{ReplayReport, Trace, TraceError};
pub use server::{SimHandle, start};
pub use shared::Urls;
pub use state::{Recorded, SubmissionRecord};
pub use tls::{SimFront, SimTls};
