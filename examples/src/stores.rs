//! The `--store` flag of the tour and the examples: where every host store lives.
//!
//! - `memory` (the default): the in-memory stores; nothing survives the process.
//! - `sqlite:PATH`: one SQLite file for every store (line-core's dedupe, nonce and
//!   retry-key stores, the rich-menu stores, the popup store, the scenario state and
//!   scheduler). A restarted process on the same file keeps its state.
//! - `postgres://…` (or `postgresql://…`): one PostgreSQL database for every store
//!   (dedupe, nonces, retry keys, rich menus, popups, the scenario state and scheduler),
//!   shared by as many processes as you run.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use jiff::Timestamp;
use line_core::client::{InMemoryRetryKeyStore, RetryKeyStore};
use line_core::clock::Clock;
use line_core::store::postgres::{PgDedupeStore, PgNonceStore, PgPool, PgRetryKeyStore};
use line_core::store::sqlite::{SqliteDb, SqliteDedupeStore, SqliteNonceStore, SqliteRetryKeyStore};
use line_core::webhook::account_link::{InMemoryNonceStore, NonceStore};
use line_core::webhook::dedupe::{DedupeStore, InMemoryDedupeStore};
use line_popup::PopupStore;
use line_richmenu::store::{
    AssignmentStore, InMemoryAssignmentStore, InMemoryMenuStore, InMemoryUserDirectory, MenuStore,
};
use line_richmenu::UserDirectory;
use line_scenarios::store::{Scheduler, StateStore};

use crate::error::{Error, ErrorKind};

/// The flag this module parses, as errors name it.
pub const FLAG: &str = "--store";

/// Where the stores live: the value of `--store`.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreUrl {
    /// In process memory (`memory`, the default).
    #[default]
    Memory,
    /// One SQLite file (`sqlite:PATH`).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`); the URL may hold a password, so it is
    /// never printed.
    Postgres(String),
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("Memory"),
            Self::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Self::Postgres(_) => f.write_str("Postgres(<redacted>)"),
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("in memory"),
            Self::Sqlite(p) => write!(f, "SQLite file {}", p.display()),
            Self::Postgres(_) => f.write_str("PostgreSQL"),
        }
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config {
        field: FLAG.into(),
        reason: reason.into(),
    })
}

impl FromStr for StoreUrl {
    type Err = Error;

    /// Parses `memory`, `sqlite:PATH` or `postgres://…`; anything else is a
    /// [`Config`](ErrorKind::Config) error naming `--store`.
    fn from_str(s: &str) -> Result<Self, Error> {
        if s == "memory" {
            return Ok(Self::Memory);
        }
        if let Some(path) = s.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(bad("`sqlite:` needs a file path, as in `sqlite:bot.sqlite`"));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            // Checked here so that a malformed URL is reported as the flag's, not later.
            return match url::Url::parse(s) {
                Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(Self::Postgres(s.to_owned())),
                _ => Err(bad(
                    "not a valid PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)",
                )),
            };
        }
        // Never echo the value: it may be a URL with a password.
        Err(bad(
            "expected `memory`, `sqlite:PATH` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`",
        ))
    }
}

/// The `--store` value among `args` (`--store VALUE` or `--store=VALUE`), for the small
/// examples that take no other flags; `memory` when absent.
///
/// # Errors
///
/// A [`Config`](ErrorKind::Config) error naming `--store` for a missing or bad value.
pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<StoreUrl, Error> {
    let mut args = args.into_iter();
    let mut found = StoreUrl::Memory;
    while let Some(arg) = args.next() {
        if arg == FLAG {
            found = args.next().ok_or_else(|| bad("needs a value"))?.parse()?;
        } else if let Some(v) = arg.strip_prefix("--store=") {
            found = v.parse()?;
        }
    }
    Ok(found)
}

/// A table prefix for one run of an example that starts a fresh emulator: `line_` in
/// memory, else `{name}_{random}_`, so that state left by an earlier run (rich menus of
/// an emulator that is gone) does not mix with this run's.
pub fn run_prefix(url: &StoreUrl, name: &str) -> String {
    match url {
        StoreUrl::Memory => "line_".to_owned(),
        _ => format!("{name}_{:08x}_", rand::random::<u32>()),
    }
}

/// A [`Clock`] shared behind an `Arc` (the stores take one by value).
#[derive(Debug, Clone)]
struct Shared(Arc<dyn Clock>);

impl Clock for Shared {
    fn now(&self) -> Timestamp {
        self.0.now()
    }
}

/// Every host store the tour and the examples use, on one backend.
#[non_exhaustive]
pub struct Stores {
    /// Where they live.
    pub url: StoreUrl,
    /// The webhook dedupe store (line-core).
    pub dedupe: Arc<dyn DedupeStore>,
    /// Account-link nonces (line-core).
    pub nonces: Arc<dyn NonceStore>,
    /// Retry keys of resumable `push_each` runs (line-core).
    pub retry_keys: Arc<dyn RetryKeyStore>,
    /// Rich-menu records and budgets.
    pub menus: Arc<dyn MenuStore>,
    /// Rich-menu assignments and the reconcile journal.
    pub assignments: Arc<dyn AssignmentStore>,
    /// The rich-menu user directory.
    pub directory: Arc<dyn UserDirectory>,
    /// Popup caps, tokens and attribution.
    pub popup: Arc<dyn PopupStore>,
    /// Scenario enrollments and the send ledger.
    pub scenario_state: Arc<dyn StateStore>,
    /// Scenario wake-ups.
    pub scheduler: Arc<dyn Scheduler>,
    /// LINE notification messages and their outcomes (line-pnp).
    pub notices: Arc<dyn line_pnp::NoticeStore>,
    /// Stores that could not use the chosen backend and stayed in memory.
    pub notes: Vec<String>,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores")
            .field("url", &self.url)
            .field("notes", &self.notes)
            .finish_non_exhaustive()
    }
}

fn store_error(what: &str) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> Error + '_ {
    move |e| {
        Error::with_source(
            ErrorKind::Config {
                field: FLAG.into(),
                reason: format!("could not open the {what}"),
            },
            e,
        )
    }
}

fn boxed<E: std::error::Error + Send + Sync + 'static>(e: E) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

impl Stores {
    /// Opens every store on `url`, tables under `prefix` (ASCII lowercase letters, digits
    /// and `_`), with expiry on `clock`.
    ///
    /// # Errors
    ///
    /// A [`Config`](ErrorKind::Config) error naming `--store` when the file or database
    /// cannot be opened or its tables created; its source says why.
    pub async fn open(url: &StoreUrl, prefix: &str, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let shared = Shared(clock);
        match url {
            StoreUrl::Memory => {
                let scenarios = Arc::new(line_scenarios::memory::InMemoryStore::new());
                Ok(Self {
                    url: url.clone(),
                    dedupe: Arc::new(InMemoryDedupeStore::with_clock(shared.clone())),
                    nonces: Arc::new(InMemoryNonceStore::with_clock(shared)),
                    retry_keys: Arc::new(InMemoryRetryKeyStore::new()),
                    menus: Arc::new(InMemoryMenuStore::new()),
                    assignments: Arc::new(InMemoryAssignmentStore::new()),
                    directory: Arc::new(InMemoryUserDirectory::new()),
                    popup: Arc::new(line_popup::InMemoryStore::new()),
                    scenario_state: scenarios.clone(),
                    scheduler: scenarios,
                    notices: Arc::new(line_pnp::InMemoryNoticeStore::new()),
                    notes: Vec::new(),
                })
            }
            StoreUrl::Sqlite(path) => {
                let db = SqliteDb::open(path)
                    .await
                    .map_err(boxed)
                    .map_err(store_error("SQLite file"))?;
                let e = |what| move |err: line_core::Error| store_error(what)(boxed(err));
                let scenarios = {
                    let (path, prefix) = (path.clone(), prefix.to_owned());
                    // rusqlite is blocking: open (and migrate) off the runtime's threads.
                    tokio::task::spawn_blocking(move || line_scenarios::sqlite::SqliteStore::open(path, &prefix))
                        .await
                        .map_err(boxed)
                        .map_err(store_error("scenario store"))?
                        .map_err(boxed)
                        .map_err(store_error("scenario store"))?
                };
                let scenarios = Arc::new(scenarios);
                Ok(Self {
                    url: url.clone(),
                    dedupe: Arc::new(
                        SqliteDedupeStore::with_prefix(&db, prefix)
                            .await
                            .map_err(e("dedupe store"))?
                            .with_clock(shared.clone()),
                    ),
                    nonces: Arc::new(
                        SqliteNonceStore::with_prefix(&db, prefix)
                            .await
                            .map_err(e("nonce store"))?
                            .with_clock(shared),
                    ),
                    retry_keys: Arc::new(
                        SqliteRetryKeyStore::with_prefix(&db, prefix)
                            .await
                            .map_err(e("retry-key store"))?,
                    ),
                    menus: Arc::new(
                        line_richmenu::sqlite_store::SqliteMenuStore::with_prefix(&db, prefix)
                            .await
                            .map_err(boxed)
                            .map_err(store_error("rich-menu store"))?,
                    ),
                    assignments: Arc::new(
                        line_richmenu::sqlite_store::SqliteAssignmentStore::with_prefix(&db, prefix)
                            .await
                            .map_err(boxed)
                            .map_err(store_error("rich-menu assignment store"))?,
                    ),
                    directory: Arc::new(
                        line_richmenu::sqlite_store::SqliteUserDirectory::with_prefix(&db, prefix)
                            .await
                            .map_err(boxed)
                            .map_err(store_error("user directory"))?,
                    ),
                    popup: Arc::new(
                        line_popup::SqliteStore::with_prefix(&db, prefix)
                            .await
                            .map_err(boxed)
                            .map_err(store_error("popup store"))?,
                    ),
                    notices: Arc::new(
                        line_pnp::sqlite::SqliteNoticeStore::with_prefix(&db, prefix)
                            .await
                            .map_err(boxed)
                            .map_err(store_error("notice store"))?,
                    ),
                    scenario_state: scenarios.clone(),
                    scheduler: scenarios,
                    notes: Vec::new(),
                })
            }
            StoreUrl::Postgres(pg) => {
                let pool = PgPool::connect(pg)
                    .map_err(boxed)
                    .map_err(store_error("PostgreSQL pool"))?;
                let e = |what| move |err: line_core::Error| store_error(what)(boxed(err));
                let scenarios = Arc::new(
                    line_scenarios::postgres::PgStore::with_prefix(&pool, prefix)
                        .await
                        .map_err(boxed)
                        .map_err(store_error("scenario store"))?,
                );
                Ok(Self {
                    url: url.clone(),
                    dedupe: Arc::new(
                        PgDedupeStore::with_prefix(&pool, prefix)
                            .await
                            .map_err(e("dedupe store"))?
                            .with_clock(shared.clone()),
                    ),
                    nonces: Arc::new(
                        PgNonceStore::with_prefix(&pool, prefix)
                            .await
                            .map_err(e("nonce store"))?
                            .with_clock(shared),
                    ),
                    retry_keys: Arc::new(
                        PgRetryKeyStore::with_prefix(&pool, prefix)
                            .await
                            .map_err(e("retry-key store"))?,
                    ),
                    menus: Arc::new(
                        line_richmenu::postgres_store::PgMenuStore::with_prefix(&pool, prefix)
                            .await
                            .map_err(boxed)
                            .map_err(store_error("rich-menu store"))?,
                    ),
                    assignments: Arc::new(
                        line_richmenu::postgres_store::PgAssignmentStore::with_prefix(&pool, prefix)
                            .await
                            .map_err(boxed)
                            .map_err(store_error("rich-menu assignment store"))?,
                    ),
                    directory: Arc::new(
                        line_richmenu::postgres_store::PgUserDirectory::with_prefix(&pool, prefix)
                            .await
                            .map_err(boxed)
                            .map_err(store_error("user directory"))?,
                    ),
                    popup: {
                        let popup = line_popup::PgStore::with_prefix(&pool, prefix)
                            .await
                            .map_err(boxed)
                            .map_err(store_error("popup store"))?;
                        // The connections reservations share, opened before the first page view.
                        popup
                            .open_connections()
                            .await
                            .map_err(boxed)
                            .map_err(store_error("popup store"))?;
                        Arc::new(popup)
                    },
                    notices: Arc::new(
                        line_pnp::postgres::PgNoticeStore::with_prefix(&pool, prefix)
                            .await
                            .map_err(boxed)
                            .map_err(store_error("notice store"))?,
                    ),
                    scenario_state: scenarios.clone(),
                    scheduler: scenarios,
                    notes: Vec::new(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_read_from_the_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(from_args(args(&["x"])).unwrap(), StoreUrl::Memory);
        assert_eq!(
            from_args(args(&["x", "--store", "sqlite:a.db"])).unwrap(),
            StoreUrl::Sqlite("a.db".into())
        );
        assert_eq!(
            from_args(args(&["x", "--store=sqlite:b.db"])).unwrap(),
            StoreUrl::Sqlite("b.db".into())
        );
        assert!(from_args(args(&["x", "--store"])).is_err());
        assert!(from_args(args(&["x", "--store", "nope"])).is_err());
    }

    #[test]
    fn store_urls_parse_and_bad_ones_name_the_flag() {
        assert_eq!("memory".parse::<StoreUrl>().unwrap(), StoreUrl::Memory);
        assert_eq!(
            "sqlite:bot.sqlite".parse::<StoreUrl>().unwrap(),
            StoreUrl::Sqlite("bot.sqlite".into())
        );
        assert_eq!(
            "sqlite:///tmp/x.db".parse::<StoreUrl>().unwrap(),
            StoreUrl::Sqlite("/tmp/x.db".into())
        );
        let pg = "postgres://u:secret@127.0.0.1:5432/db".parse::<StoreUrl>().unwrap();
        assert!(matches!(pg, StoreUrl::Postgres(_)));
        assert!(
            !format!("{pg:?} {pg}").contains("secret"),
            "a password is never printed"
        );
        for bad in [
            "",
            "sqlite:",
            "mysql://u:secret@h/db",
            "postgres://",
            "redis://127.0.0.1",
            "bot.sqlite",
        ] {
            let e = bad.parse::<StoreUrl>().unwrap_err();
            match e.kind() {
                ErrorKind::Config { field, .. } => assert_eq!(field, FLAG, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
            assert!(!e.to_string().contains("secret"), "{bad:?}: {e}");
            assert!(e.to_string().contains("--store"), "{bad:?}: {e}");
        }
    }
}
