//! # line-popup
//!
//! Frequency-capped site popups that turn web visitors into LINE friends and
//! link their member IDs, with attribution.
//!
//! Per page view, [`PopupEngine::decide`] answers whether the visitor sees a
//! popup and which banner, or why not:
//!
//! - **Campaigns** ([`Campaign`]) have banner variants with weights, a
//!   priority, a schedule (start, end, days and hours in a time zone) and
//!   targeting (audience state, path globs, device, optionally a
//!   [`SegmentCondition`] over the visitor and their profile: see [`segment`]).
//! - **Caps** ([`Caps`]), all of which must allow a showing: a lifetime cap,
//!   N per rolling window, per session, a minimum interval, a cool-down after a
//!   dismiss, none after a conversion; across campaigns, at most one popup per
//!   page view and [`PopupConfig::max_per_day`].
//! - **Split**: the variant is a deterministic hash of visitor and campaign, so
//!   a visitor always sees the same one.
//! - **URLs**: the add-friend URL, a LINE Login URL with `bot_prompt` whose
//!   `state` is the showing's attribution token, and the host's ID-link URL
//!   with tracking parameters.
//! - **Events and attribution**: shown, clicked and dismissed come from the
//!   browser ([`PopupEngine::record`]); conversions are matched from line-core
//!   `follow` and `accountLink` webhook events ([`PopupEngine::handle_event`]).
//! - **Reports** ([`PopupEngine::report`]) per campaign and variant, and the
//!   share of all new friends that came through popups.
//!
//! Counters live in a [`PopupStore`]: [`InMemoryStore`] (sharded),
//! `RedisStore` (feature `redis`, one round trip per decision), `SqliteStore`
//! (feature `sqlite`) or `PgStore` (feature `postgres`). Reservation is
//! a single atomic store operation, so concurrent page views of one visitor
//! never exceed a cap. A reserved showing that is never rendered (the page
//! closed first) still counts against the caps: the error is on the side of
//! showing less. Reports count both reservations and rendered impressions;
//! see [`store`].
//!
//! # Features
//!
//! - `redis`: `RedisStore` (module `redis_store`), a Lua-scripted Redis store.
//! - `sqlite`: `SqliteStore` (module `sqlite_store`), a store in one SQLite file.
//! - `postgres`: `PgStore` (module `postgres_store`), a store in PostgreSQL shared by
//!   many processes.
//! - `testing`: `testing::popup_store_conformance`, the suite any [`PopupStore`] can run.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod config;
pub mod engine;
pub mod error;
pub mod memory;
mod paths;
#[cfg(feature = "postgres")]
pub mod postgres_store;
#[cfg(feature = "redis")]
pub mod redis_store;
pub mod segment;
mod split;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite_store;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod visitor;

pub use config::{
    Audience, Banner, BotPrompt, Campaign, Caps, Day, Device, Goal, Hours, LoginConfig, PopupConfig, Schedule,
    Targeting, WindowCap,
};
pub use engine::{
    Blocked, Conversion, Decision, PopupEngine, PopupEngineBuilder, Reason, Report, Showing, VariantReport,
};
pub use error::{Error, ErrorKind};
pub use memory::InMemoryStore;
#[cfg(feature = "postgres")]
pub use postgres_store::PgStore;
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
pub use segment::{LineSegment, PopupSegment, SegmentCondition, Visitor, VisitorProfiles, VisitorSet};
#[cfg(feature = "sqlite")]
pub use sqlite_store::SqliteStore;
pub use store::{Attribution, CapKind, EventKind, PopupStore, Recorded};
pub use visitor::{LineStatus, VisitorContext};
