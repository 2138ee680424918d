//! # line-accounts
//!
//! Many LINE Official Accounts from one service.
//!
//! - **Registry** ([`AccountRegistry`]): a channel (channel ID, bot user ID) to its
//!   credentials (channel secret, where its tokens come from: [`TokenConfig`]) and
//!   settings (time zone, [`MessagePlan`]). [`InMemoryRegistry`], `SqliteRegistry`
//!   (feature `sqlite`) and `PgRegistry` (feature `postgres`) pass one conformance
//!   suite (`testing::account_registry_conformance`, feature `testing`). A registry
//!   file ([`load_registry_file`]) lists accounts in JSON; errors name the entry and
//!   the field.
//! - **Tokens** ([`AccountTokenSource`]): static tokens, channel access tokens v2.1
//!   (a JWT assertion signed RS256 with the channel's key, [`sign_assertion`]),
//!   short-lived and stateless tokens; issued on first use, refreshed before they
//!   expire with one refresh at a time per channel, kept through a failing token
//!   endpoint until they expire, and revoked when the account is removed.
//! - **Handles** ([`Accounts`]): per account, a ready line-core
//!   [`Client`](line_core::client::Client) with its token source and a rate
//!   limiter of its own, next to the account's settings and plan.
//! - **Campaigns across accounts** (module [`bulk`]): a dry run per account
//!   (LINE's validate endpoint, recipients, quota left, cost in yen), quotas and
//!   costs rolled up, an approval gate, and the send: multicast chunks (a push
//!   for one recipient) or a narrowcast per account, under a global concurrency
//!   bound, resumable after a crash with nothing sent twice (retry keys stored
//!   in a [`bulk::BulkStore`] before each call), and a report per account.
//! - **One webhook endpoint for many channels** (feature `axum`, module `webhook`):
//!   routes a request by its `destination` to that channel's secret before
//!   verifying it.
//!
//! Nothing secret is printed: `Debug` of accounts, keys, token sources and errors
//! shows `<redacted>` or leaves the value out.
//!
//! # Features
//!
//! - `sqlite`: `SqliteRegistry` and `SqliteBulkStore` (module `sqlite`).
//! - `postgres`: `PgRegistry` and `PgBulkStore` (module `postgres`).
//! - `axum`: the `webhook` module.
//! - `testing`: `testing::account_registry_conformance` and
//!   `testing::bulk_store_conformance`.

mod account;
mod accounts;
pub mod bulk;
mod error;
mod file;
mod registry;
mod token;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "axum")]
pub mod webhook;

pub use account::{
    Account, BotUserId, ChannelId, Cost, MessagePlan, PrivateKey, Settings, TokenConfig, DEFAULT_TIME_ZONE,
    MAX_V21_TOKEN_LIFETIME,
};
pub use accounts::{AccountHandle, Accounts, AccountsBuilder, Removed};
pub use error::{Error, ErrorKind};
pub use file::{load_registry_file, parse_registry};
pub use registry::{AccountRegistry, InMemoryRegistry};
pub use token::{
    sign_assertion, AccountTokenSource, TokenStatus, ASSERTION_AUDIENCE, ASSERTION_LIFETIME, REFRESH_RETRY_AFTER,
};
