//! How an emulator is set up.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use line_core::clock::{Clock, SystemClock};
use line_core::secret::{ChannelAccessToken, ChannelSecret};

use crate::error::Error;
use crate::faults::FaultConfig;

/// The channel secret an emulator signs webhooks with unless told otherwise.
pub const DEFAULT_CHANNEL_SECRET: &str = "line-emulator-channel-secret";

/// Settings of an [`Emulator`](crate::Emulator). Start from
/// [`EmulatorConfig::new`] and chain the setters.
///
/// ```
/// use line_emulator::EmulatorConfig;
/// let config = EmulatorConfig::new().friends(3).token("test-token").seed(7);
/// assert_eq!(config.port_value(), 0);
/// ```
#[derive(Clone)]
#[must_use]
pub struct EmulatorConfig {
    pub(crate) port: u16,
    pub(crate) friends: usize,
    pub(crate) channels: usize,
    pub(crate) token: Option<ChannelAccessToken>,
    pub(crate) channel_secret: ChannelSecret,
    pub(crate) webhook_url: Option<String>,
    pub(crate) redeliveries: u32,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) time_scale: f64,
    pub(crate) rate_limits: bool,
    pub(crate) monthly_quota: Option<u64>,
    pub(crate) faults: FaultConfig,
    pub(crate) seed: u64,
    pub(crate) reply_token_ttl: Duration,
    pub(crate) job_delay: Duration,
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("port", &self.port)
            .field("friends", &self.friends)
            .field("channels", &self.channels)
            .field("token", &self.token)
            .field("channel_secret", &self.channel_secret)
            .field("webhook_url", &self.webhook_url)
            .field("redeliveries", &self.redeliveries)
            .field("clock", &self.clock)
            .field("time_scale", &self.time_scale)
            .field("rate_limits", &self.rate_limits)
            .field("monthly_quota", &self.monthly_quota)
            .field("faults", &self.faults)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl EmulatorConfig {
    /// A random port on 127.0.0.1, no friends, any bearer token accepted,
    /// [`DEFAULT_CHANNEL_SECRET`], no webhook, the system clock, LINE's rate
    /// limits at time scale 1, no monthly quota, no faults, seed 0.
    pub fn new() -> Self {
        Self {
            port: 0,
            friends: 0,
            channels: 0,
            token: None,
            channel_secret: ChannelSecret::new(DEFAULT_CHANNEL_SECRET),
            webhook_url: None,
            redeliveries: 0,
            clock: Arc::new(SystemClock),
            time_scale: 1.0,
            rate_limits: true,
            monthly_quota: None,
            faults: FaultConfig::default(),
            seed: 0,
            reply_token_ttl: Duration::from_secs(60),
            job_delay: Duration::ZERO,
        }
    }

    /// The port to listen on (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The configured port.
    pub fn port_value(&self) -> u16 {
        self.port
    }

    /// Seeds `n` simulated friends (with profiles and demographics drawn from
    /// the seed).
    pub fn friends(mut self, n: usize) -> Self {
        self.friends = n;
        self
    }

    /// Adds `n` channels at start (besides the default channel), each with its own
    /// generated credentials and `friends` friends, the monthly quota and the webhook URL of
    /// this configuration. See [`Emulator::add_channel`](crate::Emulator::add_channel) and
    /// [`Emulator::channels`](crate::Emulator::channels).
    pub fn channels(mut self, n: usize) -> Self {
        self.channels = n;
        self
    }

    /// Accepts only this bearer token; any other gets LINE's 401. Without it,
    /// any bearer token is accepted.
    pub fn token(mut self, token: impl Into<ChannelAccessToken>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The channel secret webhooks are signed with.
    pub fn channel_secret(mut self, secret: impl Into<ChannelSecret>) -> Self {
        self.channel_secret = secret.into();
        self
    }

    /// Where webhooks go: an `http://` URL, normally on 127.0.0.1 (the
    /// emulator's HTTP client has no TLS).
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// How many times a failed webhook delivery is redelivered (with
    /// `deliveryContext.isRedelivery: true`). Default 0.
    pub fn redeliveries(mut self, n: u32) -> Self {
        self.redeliveries = n;
        self
    }

    /// The clock of emulated time: reply-token and link-token expiry, retry
    /// keys (24 h), timestamps, job progress, and the rate-limit windows.
    /// With a [`ManualClock`](line_core::clock::ManualClock), rate-limit
    /// windows free their slots only when the clock moves: advance it, or turn
    /// [`rate_limits`](Self::rate_limits) off, for long bursts.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Multiplies every rate-limit window by `scale` (`0.001` makes LINE's
    /// hour pass in 3.6 s). Finite and positive.
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Turns LINE's rate limits on (the default) or off.
    pub fn rate_limits(mut self, on: bool) -> Self {
        self.rate_limits = on;
        self
    }

    /// A monthly message quota (`None`, the default, means no limit: the quota
    /// endpoint answers `{"type": "none"}`).
    pub fn monthly_quota(mut self, quota: Option<u64>) -> Self {
        self.monthly_quota = quota;
        self
    }

    /// The initial fault configuration.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// The seed of simulated users and ids.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How long a reply token is good for (default 60 s of emulated time).
    pub fn reply_token_ttl(mut self, ttl: Duration) -> Self {
        self.reply_token_ttl = ttl;
        self
    }

    /// How long narrowcasts stay `waiting` and rich-menu batches `ongoing`
    /// before their work is done (emulated time; default zero: at once).
    pub fn job_delay(mut self, delay: Duration) -> Self {
        self.job_delay = delay;
        self
    }

    pub(crate) fn job_delay_signed(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::try_from(self.job_delay).unwrap_or(jiff::SignedDuration::MAX)
    }

    /// Checks the settings; errors name the setting.
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(Error::config(
                "time_scale",
                format!("must be finite and positive, got {}", self.time_scale),
            ));
        }
        if let Some(url) = &self.webhook_url {
            check_webhook_url(url)?;
        }
        if self.channel_secret.expose().is_empty() {
            return Err(Error::config("channel_secret", "must not be empty"));
        }
        self.faults.validate()
    }
}

/// A webhook URL the emulator can post to: `http://`.
pub(crate) fn check_webhook_url(url: &str) -> Result<(), Error> {
    match reqwest::Url::parse(url) {
        Ok(u) if u.scheme() == "http" => Ok(()),
        Ok(u) => Err(Error::config(
            "webhook_url",
            format!("must be an http:// URL (the emulator has no TLS), got {}", u.scheme()),
        )),
        Err(e) => Err(Error::config("webhook_url", format!("not a URL: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn debug_hides_secrets() {
        let c = EmulatorConfig::new()
            .token("tok-SECRET-1")
            .channel_secret("sec-SECRET-2");
        let out = format!("{c:?}");
        assert!(!out.contains("tok-SECRET-1") && !out.contains("sec-SECRET-2"), "{out}");
    }

    #[test]
    fn bad_settings_name_the_field() {
        let e = EmulatorConfig::new().time_scale(0.0).validate().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Config { field, .. } if field == "time_scale"));
        let e = EmulatorConfig::new().webhook_url("ftp://x").validate().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Config { field, .. } if field == "webhook_url"));
        let e = EmulatorConfig::new().webhook_url("not a url").validate().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Config { field, .. } if field == "webhook_url"));
        assert!(EmulatorConfig::new()
            .webhook_url("http://127.0.0.1:1/hook")
            .validate()
            .is_ok());
    }
}
