//! Injected faults, seeded and reproducible: throttling with `Retry-After`, 500s, 503s,
//! connections dropped partway through the response, and slow responses — for all requests or
//! for one operation.

//!
//! This module is the plan: which fault, when. The middleware that carries it out is in
//! `fault_layer.rs`.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

/// A fault to inject.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// 429 with `Retry-After` (seconds, rounded up) and `x-ms-retry-after-ms`.
    Throttle {
        /// How long the client is asked to wait.
        retry_after: Duration,
    },
    /// 500 in the gateway's flat JSON shape, before the request is processed.
    InternalError,
    /// The request is processed, then answered with a 500 in the gateway's flat JSON shape
    /// (the client cannot tell this from [`Fault::InternalError`]).
    InternalErrorAfter,
    /// 503 with an HTML page, as gateways send.
    Unavailable,
    /// The request is processed, then the connection is dropped partway through the response.
    DropConnection,
    /// The request is processed, then one byte in the middle of its response body is changed
    /// (its length and headers kept): data damaged on the way.
    Corrupt,
    /// The request is processed, then its response is held back this long (a client with a
    /// shorter timeout sees a timeout although the work was done).
    Slow(Duration),
}

/// When to inject a fault.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// The operation id (`createSubmission`, `putBlock`, `token`, …), or every request.
    pub operation: Option<String>,
    /// What to inject.
    pub fault: Fault,
    /// The chance per matching request, from 0 to 1.
    pub probability: f64,
    /// The most times this rule fires.
    pub limit: Option<u64>,
    /// The requests of the operation to leave alone before the rule may fire.
    pub skip: u64,
}

impl FaultRule {
    /// A rule for every request.
    pub fn new(fault: Fault, probability: f64) -> Self {
        Self {
            operation: None,
            fault,
            probability: probability.clamp(0.0, 1.0),
            limit: None,
            skip: 0,
        }
    }

    /// Only for `operation`.
    pub fn only(mut self, operation: &str) -> Self {
        self.operation = Some(operation.to_owned());
        self
    }

    /// Not for the first `requests` requests of the operation.
    pub fn after(mut self, requests: u64) -> Self {
        self.skip = requests;
        self
    }

    /// At most `times` times.
    pub fn at_most(mut self, times: u64) -> Self {
        self.limit = Some(times);
        self
    }
}

impl FromStr for FaultRule {
    type Err = String;

    /// `KIND:PROBABILITY[:OPERATION]`, where KIND is `429[=SECONDS]`, `500`, `503`, `drop` or
    /// `slow=MILLISECONDS`; e.g. `429=2:0.1`, `drop:0.05:createSubmission`, `slow=1500:0.2`.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut parts = text.split(':');
        let kind = parts.next().unwrap_or_default();
        let probability: f64 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .filter(|p| (0.0..=1.0).contains(p))
            .ok_or_else(|| format!("{text:?}: the probability must be a number from 0 to 1"))?;
        let (name, param) = kind
            .split_once('=')
            .map_or((kind, None), |(k, p)| (k, Some(p)));
        let number = |default: u64| -> Result<u64, String> {
            param.map_or(Ok(default), |p| {
                p.parse()
                    .map_err(|_| format!("{text:?}: {p:?} is not a number"))
            })
        };
        let fault = match name {
            "429" | "throttle" => Fault::Throttle {
                retry_after: Duration::from_secs(number(1)?),
            },
            "500" => Fault::InternalError,
            "500after" => Fault::InternalErrorAfter,
            "503" => Fault::Unavailable,
            "drop" => Fault::DropConnection,
            "corrupt" => Fault::Corrupt,
            "slow" => Fault::Slow(Duration::from_millis(number(1000)?)),
            other => {
                return Err(format!(
                    "{text:?}: unknown fault {other:?} (429, 500, 500after, 503, drop, corrupt, slow)"
                ));
            }
        };
        let mut rule = FaultRule::new(fault, probability);
        if let Some(op) = parts.next().filter(|o| !o.is_empty()) {
            rule = rule.only(op);
        }
        Ok(rule)
    }
}

/// The rules, their seed, and how often each fired.
///
/// Whether a rule fires for the n-th request of an operation is a function of the seed, the rule,
/// the operation and n: the same seed gives the same faults for the same sequence of requests of
/// each operation, whatever else runs concurrently.
pub struct Faults {
    rules: Vec<FaultRule>,
    seed: u64,
    fired: Mutex<Vec<u64>>,
}

impl Faults {
    /// Faults from `rules`, drawn with `seed`.
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        let fired = Mutex::new(vec![0; rules.len()]);
        Self { rules, seed, fired }
    }

    /// The fault to inject into the `nth` request of `operation`, if any.
    pub fn pick(&self, operation: &str, nth: u64) -> Option<Fault> {
        if self.rules.is_empty() {
            return None;
        }
        let mut fired = self.fired.lock().unwrap_or_else(|p| p.into_inner());
        for (i, rule) in self.rules.iter().enumerate() {
            let applies = rule
                .operation
                .as_deref()
                .is_none_or(|op| op.eq_ignore_ascii_case(operation));
            let spent = rule.limit.is_some_and(|limit| fired[i] >= limit);
            if applies
                && !spent
                && nth > rule.skip
                && draw(self.seed, i as u64, operation, nth) < rule.probability
            {
                fired[i] += 1;
                return Some(rule.fault.clone());
            }
        }
        None
    }
}

/// A number in [0, 1) from the seed, the rule, the operation and the request's ordinal.
fn draw(seed: u64, rule: u64, operation: &str, nth: u64) -> f64 {
    let mut x =
        seed ^ rule.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ nth.wrapping_mul(0xD1B5_4A32_D192_ED03);
    for b in operation.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Which of the simulator's servers a request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The Hardware API.
    Api,
    /// The token endpoint (and the identity endpoints).
    Token,
    /// Blob storage.
    Blob,
}

/// Marks a response whose connection is dropped on purpose (the recorder leaves it alone).
#[derive(Clone, Copy, Debug)]
pub struct Dropped;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse() {
        assert_eq!(
            "429=2:0.5".parse::<FaultRule>().unwrap(),
            FaultRule::new(
                Fault::Throttle {
                    retry_after: Duration::from_secs(2)
                },
                0.5
            )
        );
        assert_eq!(
            "drop:1:createSubmission".parse::<FaultRule>().unwrap(),
            FaultRule::new(Fault::DropConnection, 1.0).only("createSubmission")
        );
        assert!("500:2".parse::<FaultRule>().is_err());
        assert!("teapot:0.1".parse::<FaultRule>().is_err());
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let draw_all = |seed| {
            let faults = Faults::new(vec![FaultRule::new(Fault::InternalError, 0.3)], seed);
            (1..=50)
                .map(|n| faults.pick("getProduct", n).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw_all(7), draw_all(7));
        assert_ne!(draw_all(7), draw_all(8));
        let limited = Faults::new(
            vec![
                FaultRule::new(Fault::InternalError, 1.0)
                    .only("getProduct")
                    .at_most(2),
            ],
            1,
        );
        let fired: Vec<bool> = (1..=4)
            .map(|n| limited.pick("getProduct", n).is_some())
            .collect();
        assert_eq!(fired, vec![true, true, false, false]);
        assert!(limited.pick("listProducts", 1).is_none());
        let rate = (1..=10_000)
            .filter(|n| draw(3, 0, "putBlock", *n) < 0.1)
            .count();
        assert!((800..1200).contains(&rate), "about 10%: {rate}");
    }
}
