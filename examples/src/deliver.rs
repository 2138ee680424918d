//! The tour's sending bot as a process of its own (`tour --emulator URL --store …`): it
//! pushes a personal coupon to every friend of an emulator (or any LINE API base URL)
//! that runs elsewhere, as one resumable `push_each` run whose retry keys live in the
//! `--store` backend.
//!
//! Kill it in the middle and start it again on the same SQLite file: the restarted run
//! finds the keys the first one stored (all of them, before its first request), so every
//! push the first run got through is answered 409 by LINE and counted as a duplicate,
//! and the rest are sent. Every friend gets the coupon once. The webhook dedupe window
//! and the nonces of the bot are in the same file.
//!
//! `examples/tests/crash_restart.rs` does this with SIGKILL.

use std::io::Write;
use std::sync::Arc;

use line_core::client::Client;
use line_core::clock::SystemClock;
use line_core::model::{Message, TextMessage};
use line_core::UserId;

use crate::error::{Error, ErrorKind};
use crate::stores::{StoreUrl, Stores};
use crate::table::heading;

/// The name of the resumable push run.
pub const RUN: &str = "tour-coupons-2026-05";

/// The table prefix of the sending bot's stores: fixed, so a restart finds its state.
pub const PREFIX: &str = "tour_bot_";

/// Settings of a sending run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeliverOptions {
    /// The API's base URL (an emulator: `http://127.0.0.1:PORT`).
    pub api: String,
    /// Where the stores live.
    pub store: StoreUrl,
    /// Pushes in flight at once.
    pub concurrency: usize,
}

impl DeliverOptions {
    /// Options for `api` and `store`, 4 pushes in flight.
    pub fn new(api: impl Into<String>, store: StoreUrl) -> Self {
        Self {
            api: api.into(),
            store,
            concurrency: 4,
        }
    }
}

/// What a sending run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliverTotals {
    /// Friends the run was for.
    pub recipients: usize,
    /// Pushes LINE accepted in this run.
    pub sent: usize,
    /// Pushes LINE had accepted before (an earlier, interrupted run of the same store).
    pub duplicates: usize,
}

/// The coupon `user` gets.
pub fn coupon(user: &UserId) -> Message {
    TextMessage::new(format!("May coupon for {user}: 10% off with code MAY10")).into()
}

/// Runs the sending bot: every friend (LINE's `GET /v2/bot/followers/ids`, paged) gets
/// [`coupon`] once, across crashes and restarts on a durable store.
///
/// The access token is `LINE_CHANNEL_ACCESS_TOKEN` if set, else the emulator's token.
///
/// # Errors
///
/// A store that cannot be opened ([`Config`](ErrorKind::Config) naming `--store`), a
/// failed API call, or a push that failed.
pub async fn deliver(out: &mut dyn Write, options: &DeliverOptions) -> Result<DeliverTotals, Error> {
    heading(out, "Sending bot: a coupon for every friend, resumable")?;
    let stores = Stores::open(&options.store, PREFIX, Arc::new(SystemClock)).await?;
    writeln!(out, "stores: {}", stores.url)?;
    for note in &stores.notes {
        writeln!(out, "note: {note}")?;
    }
    let token = std::env::var("LINE_CHANNEL_ACCESS_TOKEN").unwrap_or_else(|_| line_emulator::ANY_TOKEN.to_owned());
    let client = Client::builder()
        .token(token)
        .base_url(options.api.clone())
        .build()
        .map_err(Error::api("build the client"))?;

    let mut friends: Vec<UserId> = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let mut req = client.get_followers().limit(1000);
        if let Some(start) = &start {
            req = req.start(start);
        }
        let page = req.await.map_err(Error::api("getFollowers"))?.into_body();
        friends.extend(page.user_ids);
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    let items: Vec<(UserId, Vec<Message>)> = friends.iter().map(|u| (u.clone(), vec![coupon(u)])).collect();
    let report = client
        .fan_out()
        .concurrency(options.concurrency.max(1))
        .resumable(stores.retry_keys.clone(), RUN)
        .push_each(items)
        .await
        .map_err(Error::api("pushMessage"))?;
    if let Some(f) = report.failed.first() {
        return Err(Error::with_source(
            ErrorKind::Check {
                what: format!("{} of {} pushes failed", report.failed.len(), friends.len()),
            },
            f.error.to_string(),
        ));
    }
    let totals = DeliverTotals {
        recipients: friends.len(),
        sent: report.sent,
        duplicates: report.duplicates,
    };
    writeln!(
        out,
        "{} friends: {} pushes sent now, {} accepted by an earlier run (retry key answered 409)",
        totals.recipients, totals.sent, totals.duplicates
    )?;
    Ok(totals)
}
