//! The tour's `--live` mode: the same messages against the real LINE API.
//!
//! A dry run comes first and always: every message the tour sends is
//! validated by LINE's `/v2/bot/message/validate/*` endpoints (nothing is
//! delivered, no quota is used), and the quota is read. Only with
//! [`LiveOptions::send`] and a recipient is anything sent: the greeting and
//! survey, pushed to that one user.
//!
//! Tests never run this mode (it needs the network).

use std::io::Write;

use line_core::client::Client;
use line_core::model::{NarrowcastRequest, PushMessageRequest};
use line_core::{ChannelAccessToken, ChannelSecret, RetryKey, UserId};

use crate::error::{Error, ErrorKind};
use crate::table::{heading, Table};

/// The environment variable holding the channel access token.
pub const TOKEN_VAR: &str = "LINE_CHANNEL_ACCESS_TOKEN";
/// The environment variable holding the channel secret.
pub const SECRET_VAR: &str = "LINE_CHANNEL_SECRET";

/// The channel's credentials. Neither is ever printed (their `Debug` is redacted).
#[derive(Debug, Clone)]
pub struct LiveEnv {
    /// The channel access token.
    pub token: ChannelAccessToken,
    /// The channel secret.
    pub secret: ChannelSecret,
}

impl LiveEnv {
    /// Reads both variables; a missing or empty one is a [`ErrorKind::Config`]
    /// error naming it.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| match lookup(name) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(Error::new(ErrorKind::Config {
                field: name.to_owned(),
                reason: "must be set for --live (the tour runs on the emulator without --live)".into(),
            })),
        };
        let token = get(TOKEN_VAR)?;
        let secret = get(SECRET_VAR)?;
        Ok(Self {
            token: ChannelAccessToken::new(token),
            secret: ChannelSecret::new(secret),
        })
    }
}

/// What `--live` may do beyond the dry run.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LiveOptions {
    /// Send for real (`--send`). Without it, only the dry run happens.
    pub send: bool,
    /// The one user to push to (`--to U…`); required with `send`.
    pub to: Option<UserId>,
}

impl LiveOptions {
    /// Options from the flags.
    pub fn new(send: bool, to: Option<UserId>) -> Self {
        Self { send, to }
    }
}

/// What the live run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveSummary {
    /// Requests LINE validated.
    pub validated: usize,
    /// Messages pushed (0 without `--send`).
    pub pushed: usize,
}

/// Runs the dry run, and the push when asked, against `https://api.line.me`.
pub async fn run(out: &mut dyn Write, env: &LiveEnv, options: &LiveOptions) -> Result<LiveSummary, Error> {
    if options.send && options.to.is_none() {
        return Err(Error::new(ErrorKind::Config {
            field: "--to".into(),
            reason: "--send needs the one user id to push to (--to U…)".into(),
        }));
    }
    let client = Client::builder()
        .token(env.token.clone())
        .build()
        .map_err(Error::api("build the client"))?;
    run_with(out, &client, options).await
}

/// [`run`] with a client of your own (pointed at the emulator in tests).
pub async fn run_with(out: &mut dyn Write, client: &Client, options: &LiveOptions) -> Result<LiveSummary, Error> {
    heading(
        out,
        "Live: dry run (LINE validates; nothing is delivered, no quota used)",
    )?;
    let greeting = vec![crate::bot::greeting(), crate::bot::survey()?];
    let campaign = vec![crate::tour::campaign_message()?];
    let template = crate::tour::tier_template()?;
    let sample = template
        .render(&[("name", "Aoi"), ("spent", "¥42,000"), ("remaining", "¥8,000")][..])
        .map_err(Error::flex("render the tier message"))?;
    let tier = vec![serde_json::from_str(&sample).map_err(|e| {
        Error::with_source(
            ErrorKind::Flex {
                what: "the tier message".into(),
            },
            e,
        )
    })?];
    let dry = client.dry_run();
    let mut t = Table::new(["request", "messages", "LINE says"]);
    let placeholder = "U00000000000000000000000000000000";
    let r = dry
        .push(&PushMessageRequest::new(placeholder, greeting.clone()))
        .await
        .map_err(Error::api("validatePush (greeting)"))?;
    t.row([
        "push: greeting + survey".to_owned(),
        "2".to_owned(),
        format!("{} valid", r.status),
    ]);
    let r = dry
        .narrowcast(&NarrowcastRequest::new(campaign))
        .await
        .map_err(Error::api("validateNarrowcast (campaign)"))?;
    t.row([
        "narrowcast: campaign".to_owned(),
        "1".to_owned(),
        format!("{} valid", r.status),
    ]);
    let r = dry
        .push(&PushMessageRequest::new(placeholder, tier))
        .await
        .map_err(Error::api("validatePush (tier)"))?;
    t.row([
        "push: tier message".to_owned(),
        "1".to_owned(),
        format!("{} valid", r.status),
    ]);
    t.write_to(out)?;
    let quota = client
        .get_message_quota()
        .await
        .map_err(Error::api("getMessageQuota"))?
        .body;
    let used = client
        .get_message_quota_consumption()
        .await
        .map_err(Error::api("getMessageQuotaConsumption"))?
        .body
        .total_usage;
    match quota.value {
        Some(limit) => writeln!(out, "\nquota: {used} used of {limit} this month, {} left", limit - used)?,
        None => writeln!(out, "\nquota: {used} used this month, no limit set")?,
    }
    let mut summary = LiveSummary {
        validated: 3,
        pushed: 0,
    };
    match (&options.send, &options.to) {
        (true, Some(to)) => {
            let key = RetryKey::new();
            let sent = client
                .push_message(PushMessageRequest::new(to.as_str(), greeting.clone()))
                .retry_key(key)
                .await
                .map_err(Error::api("pushMessage"))?;
            summary.pushed = greeting.len();
            writeln!(
                out,
                "sent: greeting + survey to {to} (retry key {key}, request id {}{})",
                sent.request_id.as_ref().map_or("-", |r| r.as_str()),
                if sent.body.is_duplicate() {
                    ", accepted earlier"
                } else {
                    ""
                }
            )?;
        }
        _ => writeln!(
            out,
            "dry run only: add `--send --to U…` to push the greeting and survey to one user"
        )?,
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named() {
        let err = LiveEnv::from_lookup(|n| (n == SECRET_VAR).then(|| "s".to_owned())).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Config { field, .. } if field == TOKEN_VAR));
        let err = LiveEnv::from_lookup(|n| (n == TOKEN_VAR).then(|| "t".to_owned())).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Config { field, .. } if field == SECRET_VAR));
        let err = LiveEnv::from_lookup(|_| Some("  ".to_owned())).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Config { field, .. } if field == TOKEN_VAR));
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let env = LiveEnv::from_lookup(|n| Some(format!("{n}-very-secret-value"))).unwrap();
        let printed = format!("{env:?}");
        assert!(!printed.contains("very-secret-value"), "{printed}");
    }
}
