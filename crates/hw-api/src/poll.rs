//! How patiently to read something again until it changes: growing pauses up to a deadline.
//! The waits for Microsoft's processing (`wait.rs`) and for a file's URL (`package.rs`) use it.

use std::time::Duration;

use crate::error::Error;

/// How patiently to wait for Microsoft's processing. Start from [`WaitOptions::default`] and
/// change what you need with the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// The first pause between two reads.
    pub first_interval: Duration,
    /// The longest pause (pauses grow by half each time up to it).
    pub max_interval: Duration,
    /// The most time to wait in all (`None`: no limit).
    pub deadline: Option<Duration>,
}

impl Default for WaitOptions {
    /// 5 s growing to 60 s, for at most 24 hours.
    fn default() -> Self {
        Self {
            first_interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(60),
            deadline: Some(Duration::from_secs(24 * 3600)),
        }
    }
}

impl WaitOptions {
    /// The first pause between two reads.
    pub fn with_first_interval(mut self, interval: Duration) -> Self {
        self.first_interval = interval;
        self
    }

    /// The longest pause between two reads.
    pub fn with_max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval;
        self
    }

    /// The most time to wait in all (`None`: no limit).
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }
}

/// Growing pauses between reads, up to a deadline; the last pause ends at the deadline so that
/// one more read happens there.
pub(crate) struct Poller<'a> {
    options: &'a WaitOptions,
    started: tokio::time::Instant,
    pause: Duration,
}

/// The shortest pause between two reads.
const MIN_PAUSE: Duration = Duration::from_millis(10);

impl<'a> Poller<'a> {
    pub(crate) fn new(options: &'a WaitOptions) -> Self {
        Self {
            options,
            started: tokio::time::Instant::now(),
            pause: options.first_interval.max(MIN_PAUSE),
        }
    }

    /// Pauses before the next read, or fails when the deadline has passed.
    pub(crate) async fn pause(&mut self, what: &str, last: String) -> Result<(), Error> {
        let waited = self.started.elapsed();
        let remaining = self
            .options
            .deadline
            .map(|deadline| deadline.saturating_sub(waited));
        if remaining == Some(Duration::ZERO) {
            return Err(Error::WaitTimedOut {
                what: what.to_owned(),
                waited,
                last: Some(last),
            });
        }
        let pause = remaining.map_or(self.pause, |r| r.min(self.pause));
        tracing::debug!(what, %last, pause_ms = pause.as_millis() as u64, "waiting");
        tokio::time::sleep(pause).await;
        self.pause = (self.pause + self.pause / 2).min(self.options.max_interval.max(MIN_PAUSE));
        Ok(())
    }
}
