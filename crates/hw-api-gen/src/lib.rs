//! The generated core of the Hardware Dev Center API client.
//!
//! [`generated`] is written by `cargo xtask generate` from `openapi/hardware.yaml` with
//! progenitor; do not edit it. This hand-written half holds only what must live in the same
//! crate: the [`Hooks`] every generated call runs through (progenitor's `ClientHooks` can only be
//! implemented here) and the [`RequestFactory`] that takes the request a call builds, the
//! [`open_enum!`] macro behind the spec's enumerations, and the exact
//! integer types [`Id`] and [`LenientInteger`].
//!
//! Downstream code should use the hand-written `hw-api` crate, which hides the types of
//! progenitor and reqwest behind its own.

#![warn(missing_docs)]

mod factory;
mod hooks;
mod integers;
mod open_enum;
mod secret_url;

/// The progenitor output. `CurrentStep::from_str` cannot reach its numeric case because every
/// string is a valid (open) `WorkflowStep`; decoding JSON numbers is unaffected.
#[allow(irrefutable_let_patterns)]
// progenitor documents what the spec describes, not every field and variant it writes.
#[allow(missing_docs)]
pub mod generated;

pub use factory::{Built, RequestFactory};
pub use generated::*;
pub use hooks::{Hooks, declare_empty_body};
pub use integers::{Id, LenientInteger};
pub use secret_url::SecretUrl;
