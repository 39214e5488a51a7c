//! Progress bars on standard error: bytes for transfers, a spinner with the workflow step for
//! waits. Hidden when standard error is not a terminal, with `--no-progress`, `--quiet` or JSON
//! output.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting bytes.
pub(crate) struct Bytes(ProgressBar);

impl Bytes {
    /// A bar titled `label`, or a hidden one.
    pub(crate) fn new(enabled: bool, label: &str) -> Self {
        let bar = if enabled {
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:12} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(label.to_owned());
        Self(bar)
    }

    /// Ends the bar.
    pub(crate) fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl hw_api::transfer::Progress for Bytes {
    fn update(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
}

/// A spinner showing a waiting message.
pub(crate) struct Spinner(ProgressBar);

impl Spinner {
    /// A spinner titled `label`, or a hidden one.
    pub(crate) fn new(enabled: bool, label: &str) -> Self {
        let bar = if enabled {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }

    /// Shows `message`.
    pub(crate) fn set(&self, message: String) {
        self.0.set_message(message);
    }

    /// Ends the spinner.
    pub(crate) fn finish(&self) {
        self.0.finish_and_clear();
    }
}
