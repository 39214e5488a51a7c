//! Link shaping: the round-trip latency and bandwidth of the links people really have, so that
//! slow and long links can be tested and benchmarked on loopback without touching the machine's
//! network.
//!
//! Every request waits half the round trip before it is handled and its answer half the round
//! trip before it is sent; request and response bodies flow at the per-connection bandwidth
//! (one request at a time per HTTP/1.1 connection, so per request) and, when set, all share a
//! total bandwidth (a slow uplink).

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use tokio::time::Instant;

/// A link: its round-trip time and its bandwidth per connection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// The round-trip time.
    pub rtt: Duration,
    /// Megabits per second per connection.
    pub mbit: f64,
}

impl FromStr for Link {
    type Err = String;

    /// `RTT_MS:MBIT`, for example `40:100`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (rtt, mbit) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: expected RTT_MS:MBIT"))?;
        let rtt: u64 = rtt
            .parse()
            .map_err(|_| format!("{text:?}: {rtt:?} is not a number of milliseconds"))?;
        let mbit: f64 = mbit
            .parse()
            .ok()
            .filter(|m: &f64| *m > 0.0)
            .ok_or_else(|| format!("{text:?}: {mbit:?} is not a positive bandwidth"))?;
        Ok(Self {
            rtt: Duration::from_millis(rtt),
            mbit,
        })
    }
}

/// How the bodies of one service are shaped.
#[derive(Debug)]
pub struct Shaper {
    link: Option<Link>,
    /// Bytes per second all connections share, and when the shared link is next free.
    total: Option<(f64, Mutex<Instant>)>,
}

/// The most of a body sent in one piece (finer pieces shape more smoothly).
const PIECE: usize = 16 * 1024;

impl Shaper {
    /// A shaper for `link` per connection and `total_mbit` in all; `None` when neither is set.
    pub fn new(link: Option<Link>, total_mbit: Option<f64>) -> Option<Arc<Self>> {
        if link.is_none() && total_mbit.is_none() {
            return None;
        }
        Some(Arc::new(Self {
            link,
            total: total_mbit.map(|m| (m * 1e6 / 8.0, Mutex::new(Instant::now()))),
        }))
    }

    /// Waits until `bytes` may pass, on this connection (`own`: when it is next free) and on
    /// the shared link.
    async fn pass(&self, bytes: usize, own: &Mutex<Instant>) {
        let now = Instant::now();
        let mut until = now;
        if let Some(link) = self.link {
            let mut own = own.lock().unwrap_or_else(|p| p.into_inner());
            let start = (*own).max(now);
            *own = start + Duration::from_secs_f64(bytes as f64 * 8.0 / (link.mbit * 1e6));
            until = until.max(*own);
        }
        if let Some((rate, free)) = &self.total {
            let mut free = free.lock().unwrap_or_else(|p| p.into_inner());
            let start = (*free).max(now);
            *free = start + Duration::from_secs_f64(bytes as f64 / rate);
            until = until.max(*free);
        }
        tokio::time::sleep_until(until).await;
    }

    /// `body`, flowing no faster than the link lets it.
    fn shape(self: &Arc<Self>, body: Body) -> Body {
        let shaper = self.clone();
        let own = Arc::new(Mutex::new(Instant::now()));
        let pieces = body.into_data_stream().flat_map(|chunk| {
            let pieces: Vec<_> = match chunk {
                Ok(chunk) => (0..chunk.len().div_ceil(PIECE))
                    .map(|i| Ok(chunk.slice(i * PIECE..((i + 1) * PIECE).min(chunk.len()))))
                    .collect(),
                Err(e) => vec![Err(e)],
            };
            futures_util::stream::iter(pieces)
        });
        let shaped = pieces.then(move |piece| {
            let (shaper, own) = (shaper.clone(), own.clone());
            let len = piece.as_ref().map_or(0, bytes::Bytes::len);
            async move {
                shaper.pass(len, &own).await;
                piece
            }
        });
        Body::from_stream(shaped)
    }

    fn half_rtt(&self) -> Duration {
        self.link.map_or(Duration::ZERO, |l| l.rtt / 2)
    }
}

/// Middleware: the request and its answer cross the link.
pub async fn shape(State(shaper): State<Arc<Shaper>>, request: Request, next: Next) -> Response {
    tokio::time::sleep(shaper.half_rtt()).await;
    let request = request.map(|body| shaper.shape(body));
    let response = next.run(request).await;
    tokio::time::sleep(shaper.half_rtt()).await;
    response.map(|body| shaper.shape(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_parse() {
        assert_eq!(
            "40:100".parse::<Link>().unwrap(),
            Link {
                rtt: Duration::from_millis(40),
                mbit: 100.0
            }
        );
        assert!("40".parse::<Link>().is_err());
        assert!("40:0".parse::<Link>().is_err());
        assert!("x:1".parse::<Link>().is_err());
    }

    async fn drain(body: Body) -> usize {
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        bytes.len()
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_flows_at_the_link_rate() {
        // 1 Mbit/s per connection: 125,000 bytes take a second.
        let shaper = Shaper::new(
            Some(Link {
                rtt: Duration::ZERO,
                mbit: 1.0,
            }),
            None,
        )
        .unwrap();
        let started = Instant::now();
        let n = drain(shaper.shape(Body::from(vec![7u8; 125_000]))).await;
        assert_eq!(n, 125_000);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(990) && took <= Duration::from_millis(1100),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn connections_share_the_total() {
        // Two bodies of 62,500 bytes over a shared 1 Mbit/s: a second for both together.
        let shaper = Shaper::new(None, Some(1.0)).unwrap();
        let started = Instant::now();
        let (a, b) = tokio::join!(
            drain(shaper.shape(Body::from(vec![1u8; 62_500]))),
            drain(shaper.shape(Body::from(vec![2u8; 62_500])))
        );
        assert_eq!(a + b, 125_000);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(990) && took <= Duration::from_millis(1100),
            "{took:?}"
        );
    }
}
