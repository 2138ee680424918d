#![doc = include_str!("../README.md")]
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
