//! Durable host stores: SQLite (feature `sqlite`), PostgreSQL (feature `postgres`) and
//! Redis (feature `redis`, for the expiring keys of the webhook stores).
//!
//! - [`sqlite`]: [`SqliteDb`](sqlite::SqliteDb), one database file served by one
//!   connection thread, and the webhook stores on it
//!   ([`SqliteDedupeStore`](sqlite::SqliteDedupeStore),
//!   [`SqliteNonceStore`](sqlite::SqliteNonceStore)), and with feature `client` the
//!   retry keys of resumable fan-outs
//!   ([`SqliteRetryKeyStore`](sqlite::SqliteRetryKeyStore)).
//! - [`postgres`]: [`PgPool`](postgres::PgPool), a connection pool, and the webhook
//!   stores on it ([`PgDedupeStore`](postgres::PgDedupeStore),
//!   [`PgNonceStore`](postgres::PgNonceStore)), and with feature `client` the retry
//!   keys of resumable fan-outs ([`PgRetryKeyStore`](postgres::PgRetryKeyStore)).
//! - [`redis`]: [`RedisDb`](redis::RedisDb), a connection manager, and the webhook
//!   stores as expiring keys ([`RedisDedupeStore`](redis::RedisDedupeStore),
//!   [`RedisNonceStore`](redis::RedisNonceStore)).
//!
//! The other crates' stores (rich menus, popups) are built on the same two handles, so
//! that one file or one pool serves every store of a process.
//!
//! # Schema
//!
//! Every store creates and upgrades its own tables. Table names start with a prefix
//! (`line_` unless told otherwise: lowercase ASCII letters, digits and `_`, starting
//! with a letter or `_`, at most 40 characters), so several applications or test runs
//! can share one database. Each prefix has a `{prefix}schema_version` table with one row
//! per component (`dedupe`, `nonce`, `popup`, …) holding the number of migrations
//! applied. Migrations run in one transaction, under the database's write lock
//! (SQLite) or a transaction-scoped advisory lock on the prefix (PostgreSQL), so two
//! processes starting at once apply each migration once. A database whose version is
//! newer than the library knows is refused rather than used.
//!
//! # Time
//!
//! Expiry (dedupe window, nonces) follows the store's [`Clock`](crate::clock::Clock),
//! as with the in-memory stores: every process sharing a database should have a
//! synchronised clock. Expired rows are invisible at once and deleted in small
//! batches (through an index on the expiry) every few hundred writes, never by a full
//! scan on the hot path; `purge_expired` deletes them all on demand.

// With Redis alone, the SQL plumbing below has no user.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use std::time::Duration;

use crate::error::{Error, ErrorKind};

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(all(feature = "postgres", feature = "client"))]
mod retry_postgres;
#[cfg(all(feature = "sqlite", feature = "client"))]
mod retry_sqlite;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "postgres")]
mod webhook_postgres;
#[cfg(feature = "sqlite")]
mod webhook_sqlite;

/// The table prefix stores use unless told otherwise.
pub const DEFAULT_PREFIX: &str = "line_";

/// After how many writes a store deletes a batch of expired rows.
pub(crate) const PURGE_EVERY: u64 = 256;

/// How many expired rows one amortised purge deletes at most.
pub(crate) const PURGE_BATCH: i64 = 512;

/// Checks a table prefix: lowercase ASCII letters, digits and `_`, starting with a
/// letter or `_`, at most 40 characters (so it can be spliced into SQL unquoted).
pub fn check_prefix(prefix: &str) -> Result<(), Error> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 40
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !prefix.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Config {
            field: "prefix".into(),
            reason: "a table prefix is 1 to 40 of [a-z0-9_], not starting with a digit".into(),
        }))
    }
}

/// A migration's SQL with `{p}` replaced by the table prefix.
pub(crate) fn expand(sql: &str, prefix: &str) -> String {
    sql.replace("{p}", prefix)
}

/// Milliseconds since the Unix epoch of `now + ttl`, saturating.
pub(crate) fn expiry_ms(now_ms: i64, ttl: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// A 64-bit FNV-1a hash: stable across processes and versions (advisory-lock keys).
#[cfg(feature = "postgres")]
pub(crate) fn stable_hash(parts: &[&str]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h as i64
}

/// A store failure during `operation` (which names the store: `SqliteDedupeStore::first_seen`).
pub(crate) fn store_error(operation: &str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::with_source(
        ErrorKind::Store {
            operation: operation.to_owned(),
        },
        source,
    )
}

/// Why a migration was refused or failed, as a source error.
#[derive(Debug)]
pub(crate) struct SchemaTooNew {
    pub component: String,
    pub found: i64,
    pub known: usize,
}

impl std::fmt::Display for SchemaTooNew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the schema of {} is at version {}, newer than this library's {}",
            self.component, self.found, self.known
        )
    }
}

impl std::error::Error for SchemaTooNew {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_plain_identifiers() {
        for ok in ["line_", "a", "_x9", "shop_42_"] {
            assert!(check_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["", "9a", "Line_", "a-b", "a;drop table x", "a b", &"x".repeat(41)] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn stable_hash_separates_parts() {
        assert_ne!(stable_hash(&["ab", "c"]), stable_hash(&["a", "bc"]));
        assert_eq!(stable_hash(&["line_"]), stable_hash(&["line_"]));
    }
}
