//! The tidy checks of `tests/tidy.rs`: the rules `ARCHITECTURE.md` states about the code, read
//! from the sources (`modules.rs`), the document (`doc.rs`) and the manifests (`manifests.rs`),
//! so that a test
//! fails when the code or the document drifts from the other.

pub mod circles;
pub mod doc;
pub mod manifests;
pub mod modules;
pub mod public;

pub use circles::{Graph, circles};
pub use doc::{Architecture, missing_paths};
pub use modules::Crate;
pub use public::{PublicApi, public_api};
