//! The PostgreSQL registry on a real server (`LINE_STORES_PG_URL`, by default the
//! database of `line-segments/ci-setup.sh`): the conformance suites (registry and bulk store), and two
//! channels racing for one bot user ID. With `CI` set, a missing server fails the tests.
#![cfg(feature = "postgres")]

use std::sync::Arc;

use line_accounts::postgres::PgRegistry;
use line_accounts::testing::{account_registry_conformance, sample_account};
use line_accounts::{AccountRegistry, ErrorKind};
use line_core::testing::store::{fresh_prefix, pg_drop_prefix, pg_pool};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_registry_passes_the_conformance_suite() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("accounts");
    let registry = Arc::new(PgRegistry::with_prefix(&pool, &prefix).await.unwrap());
    account_registry_conformance(
        registry,
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_channels_racing_for_one_bot_user_id_one_wins() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("accounts_race");
    let registry: Arc<dyn AccountRegistry> = Arc::new(PgRegistry::with_prefix(&pool, &prefix).await.unwrap());
    for _ in 0..5 {
        let first = sample_account();
        let mut contenders = vec![first.clone()];
        for _ in 0..7 {
            let mut other = sample_account();
            other.bot_user_id = first.bot_user_id.clone();
            contenders.push(other);
        }
        let tasks: Vec<_> = contenders
            .into_iter()
            .map(|a| {
                let r = Arc::clone(&registry);
                tokio::spawn(async move { r.put(a).await })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(None) => won += 1,
                Err(e) => assert!(matches!(e.kind(), ErrorKind::Conflict { .. }), "{e:?}"),
                Ok(Some(_)) => panic!("nothing to replace"),
            }
        }
        assert_eq!(won, 1, "exactly one channel gets the bot user ID");
        let owner = registry
            .by_bot_user_id(first.bot_user_id.as_str())
            .await
            .unwrap()
            .unwrap();
        registry.remove(&owner.channel_id).await.unwrap();
    }
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_bulk_store_passes_the_conformance_suite() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("bulk");
    let store = Arc::new(
        line_accounts::postgres::PgBulkStore::with_prefix(&pool, &prefix)
            .await
            .unwrap(),
    );
    line_accounts::testing::bulk_store_conformance(
        store,
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    pg_drop_prefix(&pool, &prefix).await;
}
