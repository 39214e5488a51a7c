//! The commands.

pub(crate) mod batch;
pub(crate) mod check;
pub(crate) mod demo;
pub(crate) mod doctor;
pub(crate) mod labels;
pub(crate) mod os_codes;
pub(crate) mod package;
pub(crate) mod preflight;
pub(crate) mod preprod;
pub(crate) mod products;
pub(crate) mod schema;
pub(crate) mod settings;
pub(crate) mod submissions;
pub(crate) mod submit;
pub(crate) mod transfer;
pub(crate) mod verify;

use std::time::Duration;

use hw_api::{Client, Recorder, WaitOptions};

use crate::cli::{Global, WaitArgs};
use crate::config;
use crate::exit::Failure;
use crate::output::Output;

/// What every command has.
pub(crate) struct Ctx {
    pub global: Global,
    pub out: Output,
    /// Where exchanges are traced (`--record`).
    pub recorder: Option<Recorder>,
}

impl Ctx {
    /// The API client the settings describe.
    pub(crate) async fn client(&self) -> Result<Client, Failure> {
        Ok(self.connect().await?.client)
    }

    /// The API client the settings describe, and the account it signs in as.
    pub(crate) async fn connect(&self) -> Result<config::Connected, Failure> {
        Ok(config::connect(&self.global, self.recorder.as_ref()).await?)
    }

    /// Tells a person what is happening, on standard error (not with `--quiet`).
    pub(crate) fn say(&self, text: &str) {
        if !self.global.quiet {
            eprintln!("{text}");
        }
    }
}

impl WaitArgs {
    /// The wait options these arguments describe.
    pub(crate) fn options(&self) -> WaitOptions {
        let first = Duration::from_secs_f64(self.poll.clamp(0.01, 3600.0));
        WaitOptions::default()
            .with_first_interval(first)
            .with_max_interval(first.max(Duration::from_secs(60)))
            .with_deadline(Some(Duration::from_secs(self.timeout)))
    }
}
