#![doc = include_str!("../README.md")]

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
pub use accounts::{AccountHandle, Accounts, AccountsBuilder, Removed, DEFAULT_MAX_IN_FLIGHT};
pub use error::{Error, ErrorKind};
pub use file::{load_registry_file, parse_registry};
pub use registry::{AccountRegistry, InMemoryRegistry};
pub use token::{
    sign_assertion, AccountTokenSource, TokenStatus, ASSERTION_AUDIENCE, ASSERTION_LIFETIME, REFRESH_RETRY_AFTER,
};
