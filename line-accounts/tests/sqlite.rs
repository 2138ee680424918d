//! The SQLite registry: the conformance suite, and accounts that survive a reopen.
#![cfg(feature = "sqlite")]

use std::sync::Arc;

use line_accounts::sqlite::SqliteRegistry;
use line_accounts::testing::{account_registry_conformance, generate_private_key, sample_account};
use line_accounts::{AccountRegistry, TokenConfig};
use line_core::store::sqlite::SqliteDb;
use line_core::testing::store::{fresh_sqlite_path, remove_sqlite};

struct TempDb(std::path::PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_sqlite(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_registry_passes_the_conformance_suite() {
    let file = TempDb(fresh_sqlite_path("accounts"));
    let db = SqliteDb::open(&file.0).await.unwrap();
    let registry = Arc::new(SqliteRegistry::new(&db).await.unwrap());
    account_registry_conformance(
        registry,
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_survive_a_reopen() {
    let file = TempDb(fresh_sqlite_path("accounts_reopen"));
    let mut account = sample_account();
    account.token = TokenConfig::v21("kid-1", generate_private_key());
    {
        let db = SqliteDb::open(&file.0).await.unwrap();
        SqliteRegistry::new(&db)
            .await
            .unwrap()
            .put(account.clone())
            .await
            .unwrap();
    }
    let db = SqliteDb::open(&file.0).await.unwrap();
    let registry = SqliteRegistry::new(&db).await.unwrap();
    assert_eq!(registry.get(&account.channel_id).await.unwrap(), Some(account.clone()));
    assert_eq!(registry.channel_ids().await.unwrap(), vec![account.channel_id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_bulk_store_passes_the_conformance_suite() {
    let file = TempDb(fresh_sqlite_path("bulk"));
    let db = SqliteDb::open(&file.0).await.unwrap();
    let store = Arc::new(line_accounts::sqlite::SqliteBulkStore::new(&db).await.unwrap());
    line_accounts::testing::bulk_store_conformance(
        store,
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}
