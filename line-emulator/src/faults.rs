//! Fault injection: latency, 500s, 429s, timeouts and lost responses, per endpoint.
//!
//! The configuration is JSON (the body of `PUT /_emulator/faults`, or
//! [`FaultConfig`] in process). Its shape:
//!
//! ```json
//! {
//!   "seed": 42,
//!   "default": { "latencyMs": 0 },
//!   "endpoints": {
//!     "multicast": {
//!       "latencyMs": 5,
//!       "errorRate": 0.05,
//!       "rateLimitRate": 0.05,
//!       "timeoutRate": 0.0,
//!       "timeoutMs": 30000,
//!       "lostResponseRate": 0.01
//!     }
//!   }
//! }
//! ```
//!
//! - `endpoints` is keyed by LINE's operationId (`pushMessage`, `multicast`,
//!   `createRichMenu`, … as in the OpenAPI specs); `default` applies to every
//!   endpoint without its own entry. Both are optional.
//! - `latencyMs`: added before the request is handled.
//! - `errorRate`: share of requests answered `500` without being handled.
//! - `rateLimitRate`: share answered LINE's rate-limit `429` without being handled.
//! - `timeoutRate`: share held for `timeoutMs` (default 30,000) without being
//!   handled, after which the connection is dropped.
//! - `lostResponseRate`: share that is handled (a send is delivered and its
//!   retry key recorded) and whose connection is then dropped before the
//!   answer arrives: the case retry keys exist for.
//! - Rates are in `0.0..=1.0` and their sum is at most `1.0`. One uniform draw
//!   per request from an RNG seeded with `seed` (default 0) picks the fault, so
//!   a run is reproducible for the same sequence of requests.
//!
//! A new configuration replaces the old one and reseeds the RNG.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// The fault configuration. See the [module docs](self) for its JSON shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct FaultConfig {
    /// Seed of the RNG that picks faults (default 0).
    #[serde(default)]
    pub seed: u64,
    /// The rule for endpoints without their own.
    #[serde(default)]
    pub default: FaultRule,
    /// Rules by operationId.
    #[serde(default)]
    pub endpoints: BTreeMap<String, FaultRule>,
}

/// The faults of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct FaultRule {
    /// Added latency in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of requests answered 500.
    #[serde(default)]
    pub error_rate: f64,
    /// Share of requests answered LINE's rate-limit 429.
    #[serde(default)]
    pub rate_limit_rate: f64,
    /// Share of requests held for `timeout_ms`, then dropped.
    #[serde(default)]
    pub timeout_rate: f64,
    /// How long a timed-out request is held (default 30,000 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Share of requests handled whose answer is then lost (connection dropped).
    #[serde(default)]
    pub lost_response_rate: f64,
}

impl FaultConfig {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses the JSON shape of the [module docs](self). Errors name the JSON
    /// pointer of the offending value.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let config: Self = line_core::error::from_json_slice(bytes).map_err(|e| {
            let (pointer, reason) = match e.kind() {
                line_core::ErrorKind::Parse { pointer, reason } => (pointer.clone(), reason.clone()),
                other => (String::new(), format!("{other:?}")),
            };
            Error::new(ErrorKind::Parse { pointer, reason })
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the default rule.
    pub fn with_default(mut self, rule: FaultRule) -> Self {
        self.default = rule;
        self
    }

    /// Sets the rule of one endpoint (by operationId, e.g. `"multicast"`).
    pub fn with_endpoint(mut self, operation_id: impl Into<String>, rule: FaultRule) -> Self {
        self.endpoints.insert(operation_id.into(), rule);
        self
    }

    /// Checks every rate. Errors name the pointer (`/endpoints/multicast/errorRate`).
    pub fn validate(&self) -> Result<(), Error> {
        self.default.validate("/default")?;
        for (op, rule) in &self.endpoints {
            rule.validate(&format!("/endpoints/{}", op.replace('~', "~0").replace('/', "~1")))?;
        }
        Ok(())
    }

    fn rule(&self, operation_id: &str) -> &FaultRule {
        self.endpoints.get(operation_id).unwrap_or(&self.default)
    }
}

impl FaultRule {
    /// No faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds latency.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Sets the 500 rate.
    pub fn error_rate(mut self, rate: f64) -> Self {
        self.error_rate = rate;
        self
    }

    /// Sets the rate-limit 429 rate.
    pub fn rate_limit_rate(mut self, rate: f64) -> Self {
        self.rate_limit_rate = rate;
        self
    }

    /// Sets the timeout rate and how long a timed-out request is held.
    pub fn timeout_rate(mut self, rate: f64, hold: Duration) -> Self {
        self.timeout_rate = rate;
        self.timeout_ms = Some(u64::try_from(hold.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Sets the lost-response rate.
    pub fn lost_response_rate(mut self, rate: f64) -> Self {
        self.lost_response_rate = rate;
        self
    }

    fn validate(&self, at: &str) -> Result<(), Error> {
        let rates = [
            ("errorRate", self.error_rate),
            ("rateLimitRate", self.rate_limit_rate),
            ("timeoutRate", self.timeout_rate),
            ("lostResponseRate", self.lost_response_rate),
        ];
        for (name, r) in rates {
            if !(0.0..=1.0).contains(&r) {
                return Err(Error::new(ErrorKind::Parse {
                    pointer: format!("{at}/{name}"),
                    reason: format!("must be between 0.0 and 1.0, got {r}"),
                }));
            }
        }
        let sum: f64 = rates.iter().map(|(_, r)| r).sum();
        if sum > 1.0 + 1e-9 {
            return Err(Error::new(ErrorKind::Parse {
                pointer: at.to_owned(),
                reason: format!("the rates add up to {sum}, more than 1.0"),
            }));
        }
        Ok(())
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    Error500,
    RateLimit,
    Timeout(Duration),
    LostResponse,
}

/// How many faults were applied since the configuration was set. A lost
/// response counts only when the request was handled and its answer dropped
/// (not when, say, the emulator's own rate limit answered first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FaultCounts {
    /// 500s answered.
    pub errors: u64,
    /// Rate-limit 429s answered.
    pub rate_limits: u64,
    /// Requests held and dropped.
    pub timeouts: u64,
    /// Requests handled whose answer was dropped.
    pub lost_responses: u64,
}

/// The configuration with its RNG.
#[derive(Debug)]
pub(crate) struct Faults {
    config: FaultConfig,
    rng: StdRng,
    counts: FaultCounts,
}

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let rng = StdRng::seed_from_u64(config.seed);
        Self {
            config,
            rng,
            counts: FaultCounts::default(),
        }
    }

    pub(crate) fn counts(&self) -> FaultCounts {
        self.counts
    }

    pub(crate) fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// The added latency and the fault for one request to `operation_id`.
    pub(crate) fn draw(&mut self, operation_id: &str) -> (Duration, Fault) {
        let rule = self.config.rule(operation_id).clone();
        let latency = Duration::from_millis(rule.latency_ms);
        let any = rule.error_rate + rule.rate_limit_rate + rule.timeout_rate + rule.lost_response_rate;
        if any <= 0.0 {
            return (latency, Fault::None);
        }
        let u: f64 = self.rng.random();
        let mut edge = rule.error_rate;
        let fault = if u < edge {
            Fault::Error500
        } else if u < {
            edge += rule.rate_limit_rate;
            edge
        } {
            Fault::RateLimit
        } else if u < {
            edge += rule.timeout_rate;
            edge
        } {
            Fault::Timeout(Duration::from_millis(rule.timeout_ms.unwrap_or(30_000)))
        } else if u < edge + rule.lost_response_rate {
            Fault::LostResponse
        } else {
            Fault::None
        };
        (latency, fault)
    }

    /// Counts a fault that was applied.
    pub(crate) fn count(&mut self, fault: Fault) {
        match fault {
            Fault::Error500 => self.counts.errors += 1,
            Fault::RateLimit => self.counts.rate_limits += 1,
            Fault::Timeout(_) => self.counts.timeouts += 1,
            Fault::LostResponse => self.counts.lost_responses += 1,
            Fault::None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let json = br#"{"seed": 7, "default": {"latencyMs": 3},
            "endpoints": {"multicast": {"errorRate": 0.05, "rateLimitRate": 0.05, "lostResponseRate": 0.01}}}"#;
        let c = FaultConfig::from_json(json).unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.default.latency_ms, 3);
        assert_eq!(c.endpoints["multicast"].lost_response_rate, 0.01);
    }

    #[test]
    fn bad_rates_name_their_pointer() {
        let e = FaultConfig::from_json(br#"{"endpoints": {"pushMessage": {"errorRate": 1.5}}}"#).unwrap_err();
        assert_eq!(
            e.kind(),
            &ErrorKind::Parse {
                pointer: "/endpoints/pushMessage/errorRate".into(),
                reason: "must be between 0.0 and 1.0, got 1.5".into()
            }
        );
        let e = FaultConfig::from_json(br#"{"default": {"errorRate": 0.6, "timeoutRate": 0.6}}"#).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Parse { pointer, .. } if pointer == "/default"));
        let e = FaultConfig::from_json(br#"{"default": {"errorRat": 0.1}}"#).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Parse { pointer, .. } if pointer == "/default/errorRat"),
            "{e}"
        );
    }

    #[test]
    fn draws_are_reproducible_and_near_their_rates() {
        let config = FaultConfig::none().with_seed(1).with_endpoint(
            "multicast",
            FaultRule::new()
                .error_rate(0.1)
                .rate_limit_rate(0.2)
                .lost_response_rate(0.05),
        );
        let run = || {
            let mut f = Faults::new(config.clone());
            (0..10_000).map(|_| f.draw("multicast").1).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let count = |k: Fault| a.iter().filter(|f| **f == k).count();
        assert!(
            (800..1200).contains(&count(Fault::Error500)),
            "{}",
            count(Fault::Error500)
        );
        assert!((1700..2300).contains(&count(Fault::RateLimit)));
        assert!((350..650).contains(&count(Fault::LostResponse)));
        let mut other = Faults::new(config);
        assert_eq!(other.draw("pushMessage").1, Fault::None);
    }
}
