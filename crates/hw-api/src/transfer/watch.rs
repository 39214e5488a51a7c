//! Requests whose body is sent under watch: one fails when nothing has moved for the stall
//! timeout, or (when asked) when it moves slower than a minimum throughput, instead of after a
//! fixed total time that a slow uplink shared by several blocks can never meet.
//!
//! Once a body is all handed to the connection, its bytes may still be draining from the
//! operating system's buffers (several MiB on a fast machine) over a slow link, and nothing more
//! can be seen until the answer: the wait for it may then last the stall timeout plus what the
//! buffers can hold of the body (at most [`BUFFERED`]) at [`ANSWER_FLOOR`], the slowest drain a
//! connection is allowed (storage itself allows a write ten minutes per MiB:
//! `docs/service-notes.md`, "Blob REST rules").
//!
//! Hand-written because reqwest offers a total timeout and a read timeout, and neither sees a
//! body that stops being taken by the connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

/// How a body upload is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Watch {
    /// The most time without progress.
    pub(crate) stall: Duration,
    /// The least average throughput, in bytes per second, once a stall timeout has passed.
    pub(crate) min_throughput: Option<u64>,
}

/// The slowest a connection may drain a body it has taken, in bytes per second (64 kbit/s).
pub(crate) const ANSWER_FLOOR: u64 = 8 * 1024;

/// The most of a body the operating system's buffers hold (send and receive, a few MiB each on
/// a fast machine): what may still be draining once all of it is handed over.
pub(crate) const BUFFERED: u64 = 8 * 1024 * 1024;

/// When a watched body last moved, and how much of it has.
#[derive(Debug)]
pub(crate) struct Clock {
    started: Instant,
    /// Milliseconds from `started` to the last progress.
    last: AtomicU64,
    sent: AtomicU64,
    /// The body's length, once it is known.
    total: AtomicU64,
}

impl Clock {
    pub(crate) fn start() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            last: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            total: AtomicU64::new(0),
        })
    }

    fn moved(&self, bytes: u64) {
        self.sent.fetch_add(bytes, Ordering::Relaxed);
        let now = self.started.elapsed().as_millis() as u64;
        self.last.store(now, Ordering::Relaxed);
    }

    /// Why the transfer should be given up, if it should.
    fn verdict(&self, watch: &Watch) -> Option<String> {
        let elapsed = self.started.elapsed();
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        let idle = elapsed.saturating_sub(last);
        let (sent, total) = (
            self.sent.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        );
        // All handed over: it may still be draining towards storage.
        let draining = if total > 0 && sent >= total {
            Duration::from_secs(total.min(BUFFERED).div_ceil(ANSWER_FLOOR))
        } else {
            Duration::ZERO
        };
        if idle >= watch.stall + draining {
            return Some(format!(
                "stalled: nothing moved for {} s",
                idle.as_secs_f32().round()
            ));
        }
        let min = watch.min_throughput?;
        if elapsed < watch.stall {
            return None;
        }
        let rate = sent as f64 / elapsed.as_secs_f64();
        (rate < min as f64)
            .then(|| format!("too slow: {rate:.0} bytes/s, below the minimum of {min} bytes/s"))
    }
}

/// The body `data`, handed to the connection in pieces that each count as progress on `clock`.
pub(crate) fn body(data: Bytes, clock: &Arc<Clock>) -> reqwest::Body {
    const PIECE: usize = 64 * 1024;
    clock.total.store(data.len() as u64, Ordering::Relaxed);
    let clock = clock.clone();
    let pieces = (0..data.len().div_ceil(PIECE)).map(move |i| {
        let piece = data.slice(i * PIECE..((i + 1) * PIECE).min(data.len()));
        clock.moved(piece.len() as u64);
        Ok::<_, std::io::Error>(piece)
    });
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
}

/// Runs `send` while watching `clock`; `Err` says why it was given up.
pub(crate) async fn watched<T>(
    watch: &Watch,
    clock: &Clock,
    send: impl Future<Output = T>,
) -> Result<T, String> {
    let mut send = std::pin::pin!(send);
    let tick = (watch.stall / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        tokio::select! {
            done = &mut send => return Ok(done),
            () = tokio::time::sleep(tick) => {
                if let Some(why) = clock.verdict(watch) {
                    return Err(why);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_request_that_stops_moving_is_given_up() {
        let watch = Watch {
            stall: Duration::from_secs(5),
            min_throughput: None,
        };
        let clock = Clock::start();
        let never = std::future::pending::<()>();
        let why = watched(&watch, &clock, never).await.unwrap_err();
        assert!(why.contains("stalled"), "{why}");
        assert!(clock.started.elapsed() >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_all_handed_over_may_drain_at_the_floor_before_its_answer() {
        let watch = Watch {
            stall: Duration::from_secs(5),
            min_throughput: None,
        };
        let clock = Clock::start();
        // 80 KiB taken at once (into the operating system's buffers), then no sign of life.
        drop(body(Bytes::from(vec![0; 80 * 1024]), &clock));
        clock.moved(80 * 1024);
        let never = std::future::pending::<()>();
        let why = watched(&watch, &clock, never).await.unwrap_err();
        assert!(why.contains("stalled"), "{why}");
        let waited = clock.started.elapsed();
        // 5 s of stall and 10 s of draining 80 KiB at 8 KiB/s.
        assert!(waited >= Duration::from_secs(15), "{waited:?}");
        assert!(waited < Duration::from_secs(17), "{waited:?}");
    }

    /// A request that moves 1,000 bytes a second for 20 seconds.
    fn trickle(clock: &Arc<Clock>) -> impl Future<Output = ()> + use<> {
        let clock = clock.clone();
        async move {
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                clock.moved(1000);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_moving_request_lives_unless_below_the_minimum() {
        let clock = Clock::start();
        let moving = trickle(&clock);
        let patient = Watch {
            stall: Duration::from_secs(5),
            min_throughput: None,
        };
        assert!(watched(&patient, &clock, moving).await.is_ok());
        let clock = Clock::start();
        let moving = trickle(&clock);
        let demanding = Watch {
            stall: Duration::from_secs(5),
            min_throughput: Some(10_000),
        };
        let why = watched(&demanding, &clock, moving).await.unwrap_err();
        assert!(why.contains("too slow"), "{why}");
    }
}
