#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod budget;
pub mod builder;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod codec;
pub mod engine;
pub mod error;
#[cfg(feature = "graphile")]
pub mod graphile;
pub mod insight;
pub mod json;
pub mod memory;
pub mod model;
mod packed;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod profiles;
mod render;
pub mod report;
pub mod sender;
pub mod simulate;
pub mod sources;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod stats;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tracking;
pub mod validate;

pub use engine::{Engine, EngineConfig};
pub use error::{Error, ErrorKind, Result};
pub use model::Scenario;
