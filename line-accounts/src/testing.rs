//! The conformance suites of [`AccountRegistry`] and of
//! [`BulkStore`](crate::bulk::BulkStore) (feature `testing`).
//!
//! Any implementation can run it on itself, in the workspace's one shape:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let registry = std::sync::Arc::new(line_accounts::InMemoryRegistry::new());
//! let clock = line_core::clock::ManualClock::new("2026-05-01T00:00:00Z".parse().unwrap());
//! line_accounts::testing::account_registry_conformance(registry, &clock).await;
//! # }
//! ```
//!
//! It panics, naming the broken rule, on the first violation. It uses fresh
//! random channel and bot user IDs, so it can run on a registry in use; it
//! removes what it added. The registry keeps no time, so the clock is not moved.

use std::sync::Arc;

use line_core::testing::TestClock;

use crate::account::{Account, BotUserId, ChannelId, MessagePlan, PrivateKey, Settings, TokenConfig};
use crate::error::ErrorKind;
use crate::registry::AccountRegistry;

fn fresh_channel() -> ChannelId {
    // 19 digits starting with 9: far from real channel IDs (10 digits).
    ChannelId::new(format!("9{:018}", rand::random::<u64>() % 1_000_000_000_000_000_000)).expect("digits")
}

fn fresh_bot() -> BotUserId {
    BotUserId::new(format!("U{:032x}", rand::random::<u128>())).expect("hex")
}

fn secret() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A valid account with a static token, fresh random IDs and a random secret.
pub fn sample_account() -> Account {
    Account::new(
        fresh_channel(),
        fresh_bot(),
        secret().into(),
        TokenConfig::Static(format!("tok-{:032x}", rand::random::<u128>()).into()),
        Settings::new("Asia/Tokyo", MessagePlan::new(200, None).expect("plan")).expect("settings"),
    )
    .expect("a valid sample account")
}

/// A fresh 2048-bit RSA private key, as a channel's assertion signing key.
pub fn generate_private_key() -> PrivateKey {
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine as _;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key generation works");
    let der = pair.as_der().expect("a generated key encodes");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    PrivateKey::from_pem(&pem).expect("a generated key reads back")
}

/// Runs the suite on `registry`.
pub async fn account_registry_conformance(registry: Arc<dyn AccountRegistry>, _clock: &dyn TestClock) {
    let mut a = sample_account().with_name("Shibuya");
    a.token = TokenConfig::V21 {
        kid: "kid-of-shibuya".into(),
        private_key: generate_private_key(),
        lifetime: std::time::Duration::from_secs(86_400),
    };
    let mut b = sample_account();
    b.token = TokenConfig::Stateless;
    b.settings = Settings::new("America/New_York", MessagePlan::new(30_000, Some(3.5)).unwrap()).unwrap();

    // Empty for these channels.
    assert!(
        registry.get(&a.channel_id).await.unwrap().is_none(),
        "get of an unknown channel is None"
    );
    assert!(
        registry.by_bot_user_id(a.bot_user_id.as_str()).await.unwrap().is_none(),
        "by_bot_user_id of an unknown bot is None"
    );
    assert!(
        registry.remove(&a.channel_id).await.unwrap().is_none(),
        "remove of an unknown channel is None"
    );

    // Put and read back, every field intact.
    assert!(
        registry.put(a.clone()).await.unwrap().is_none(),
        "a first put replaces nothing"
    );
    assert!(
        registry.put(b.clone()).await.unwrap().is_none(),
        "a first put replaces nothing"
    );
    assert_eq!(
        registry.get(&a.channel_id).await.unwrap().as_ref(),
        Some(&a),
        "get gives the account as put"
    );
    assert_eq!(
        registry.get(&b.channel_id).await.unwrap().as_ref(),
        Some(&b),
        "get gives the account as put"
    );
    assert_eq!(
        registry.by_bot_user_id(b.bot_user_id.as_str()).await.unwrap().as_ref(),
        Some(&b),
        "by_bot_user_id finds the account of that bot"
    );
    assert!(
        registry.by_bot_user_id("not-a-bot-user-id").await.unwrap().is_none(),
        "a malformed destination finds nothing (and is no error)"
    );

    // Listing: ascending, both present.
    let ids = registry.channel_ids().await.unwrap();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "channel_ids are in ascending order: {ids:?}"
    );
    assert!(
        ids.contains(&a.channel_id) && ids.contains(&b.channel_id),
        "channel_ids lists every channel"
    );

    // Replace: gives the old account; a new bot user ID moves the destination.
    let mut a2 = a.clone();
    a2.bot_user_id = fresh_bot();
    a2.channel_secret = secret().into();
    a2.name = None;
    let old = registry.put(a2.clone()).await.unwrap();
    assert_eq!(old.as_ref(), Some(&a), "put gives the replaced account");
    assert_eq!(
        registry.get(&a.channel_id).await.unwrap().as_ref(),
        Some(&a2),
        "put replaces"
    );
    assert!(
        registry.by_bot_user_id(a.bot_user_id.as_str()).await.unwrap().is_none(),
        "the old bot user ID no longer routes to the channel"
    );
    assert_eq!(
        registry.by_bot_user_id(a2.bot_user_id.as_str()).await.unwrap().as_ref(),
        Some(&a2),
        "the new bot user ID routes to the channel"
    );

    // A bot user ID belongs to one channel.
    let mut thief = sample_account();
    thief.bot_user_id = b.bot_user_id.clone();
    let err = registry
        .put(thief.clone())
        .await
        .expect_err("a second channel with the same bot user ID is refused");
    assert!(
        matches!(err.kind(), ErrorKind::Conflict { existing_channel, .. } if existing_channel == b.channel_id.as_str()),
        "the conflict names the channel that holds the bot user ID: {err}"
    );
    assert!(
        registry.get(&thief.channel_id).await.unwrap().is_none(),
        "a refused put changes nothing"
    );
    assert_eq!(
        registry.by_bot_user_id(b.bot_user_id.as_str()).await.unwrap().as_ref(),
        Some(&b),
        "a refused put leaves the destination's owner"
    );

    // Concurrent puts of distinct accounts all land.
    let many: Vec<Account> = (0..16).map(|_| sample_account()).collect();
    let tasks: Vec<_> = many
        .iter()
        .cloned()
        .map(|acc| {
            let r = Arc::clone(&registry);
            tokio::spawn(async move { r.put(acc).await })
        })
        .collect();
    for t in tasks {
        assert!(
            t.await.unwrap().unwrap().is_none(),
            "concurrent first puts replace nothing"
        );
    }
    for acc in &many {
        assert_eq!(
            registry.get(&acc.channel_id).await.unwrap().as_ref(),
            Some(acc),
            "every concurrent put landed"
        );
    }

    // Remove: gives the account, then it is gone by ID and by bot user ID.
    for acc in [&a2, &b].into_iter().chain(many.iter()) {
        assert_eq!(
            registry.remove(&acc.channel_id).await.unwrap().as_ref(),
            Some(acc),
            "remove gives the removed account"
        );
        assert!(
            registry.get(&acc.channel_id).await.unwrap().is_none(),
            "a removed account is gone"
        );
        assert!(
            registry
                .by_bot_user_id(acc.bot_user_id.as_str())
                .await
                .unwrap()
                .is_none(),
            "a removed account's bot user ID routes nowhere"
        );
    }
    let ids = registry.channel_ids().await.unwrap();
    assert!(
        !ids.contains(&a.channel_id) && !ids.contains(&b.channel_id),
        "removed channels are not listed"
    );

    // After removal, the bot user ID is free for another channel.
    let mut heir = sample_account();
    heir.bot_user_id = b.bot_user_id.clone();
    registry
        .put(heir.clone())
        .await
        .expect("a freed bot user ID can be given to another channel");
    assert_eq!(
        registry.by_bot_user_id(b.bot_user_id.as_str()).await.unwrap().as_ref(),
        Some(&heir)
    );
    registry.remove(&heir.channel_id).await.unwrap();
}

/// Runs the conformance suite of [`BulkStore`](crate::bulk::BulkStore) on `store`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = std::sync::Arc::new(line_accounts::bulk::InMemoryBulkStore::new());
/// let clock = line_core::clock::ManualClock::new("2026-05-01T00:00:00Z".parse().unwrap());
/// line_accounts::testing::bulk_store_conformance(store, &clock).await;
/// # }
/// ```
///
/// It panics, naming the broken rule, on the first violation. It uses fresh
/// random run names, so it can run on a store in use; it forgets what it
/// added. The store keeps no time, so the clock is not moved.
pub async fn bulk_store_conformance(store: Arc<dyn crate::bulk::BulkStore>, _clock: &dyn TestClock) {
    use crate::bulk::{ChunkOutcome, PlannedAccount, RunPlan, SkipReason};
    use line_core::RetryKey;

    let run = format!("run-{:016x}", rand::random::<u64>());
    let other_run = format!("run-{:016x}", rand::random::<u64>());
    let a = fresh_channel();
    let b = fresh_channel();
    let quota = SkipReason::Quota {
        recipients: 3,
        limit: 2,
        used: 1,
        remaining: 1,
    };
    let plan = RunPlan::new(
        "campaign-1",
        2,
        vec![
            PlannedAccount::new(b.clone(), 3, Some(quota.clone())),
            PlannedAccount::new(a.clone(), 5, None),
        ],
    );

    assert!(
        store.run_plan(&run).await.unwrap().is_none(),
        "an unknown run has no plan"
    );
    assert!(
        store.chunks(&run).await.unwrap().is_empty(),
        "an unknown run has no chunks"
    );
    assert!(
        store.reserve_chunks(&run, &a, &[(2, RetryKey::new())]).await.is_err(),
        "chunks of an unknown run cannot be reserved"
    );

    // The first plan wins; later ones get it back.
    assert_eq!(
        store.begin_run(&run, &plan).await.unwrap(),
        plan,
        "begin_run stores the plan"
    );
    let later = RunPlan::new("campaign-2", 500, vec![PlannedAccount::new(a.clone(), 1, None)]);
    assert_eq!(
        store.begin_run(&run, &later).await.unwrap(),
        plan,
        "begin_run of a known run gives the stored plan"
    );
    assert_eq!(
        store.run_plan(&run).await.unwrap(),
        Some(plan.clone()),
        "run_plan gives the plan"
    );
    assert_eq!(
        store.run_plan(&run).await.unwrap().unwrap().accounts[0].channel_id,
        std::cmp::min(&a, &b).clone(),
        "accounts come in channel order"
    );
    let runs = store.runs().await.unwrap();
    assert!(runs.contains(&run), "runs lists the run");
    assert!(runs.windows(2).all(|w| w[0] < w[1]), "runs are in ascending order");

    // Reserve: the proposed keys are stored, then the stored ones win.
    let k: Vec<RetryKey> = (0..3).map(|_| RetryKey::new()).collect();
    let first = store
        .reserve_chunks(&run, &a, &[(2, k[0]), (2, k[1]), (1, k[2])])
        .await
        .unwrap();
    assert_eq!(
        first
            .iter()
            .map(|c| (c.index, c.recipients, c.retry_key))
            .collect::<Vec<_>>(),
        vec![(0, 2, k[0]), (1, 2, k[1]), (2, 1, k[2])],
        "new chunks are stored with the proposed keys, in order"
    );
    assert!(first.iter().all(|c| c.outcome.is_none() && c.channel_id == a));
    let again = store
        .reserve_chunks(
            &run,
            &a,
            &[(2, RetryKey::new()), (2, RetryKey::new()), (1, RetryKey::new())],
        )
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|c| c.retry_key).collect::<Vec<_>>(),
        k,
        "a chunk reserved again keeps its first key"
    );

    // Outcomes: stored, failed replaced by accepted, accepted final.
    let ok = ChunkOutcome::Accepted {
        request_id: Some("req-0".into()),
        accepted_earlier: false,
    };
    let bad = ChunkOutcome::Failed {
        status: Some(500),
        request_id: Some("req-1".into()),
        error: "internal error".into(),
    };
    store.record_outcome(&run, &a, 0, &ok).await.unwrap();
    store.record_outcome(&run, &a, 1, &bad).await.unwrap();
    store.record_outcome(&run, &a, 0, &bad).await.unwrap();
    let chunks = store.chunks(&run).await.unwrap();
    assert_eq!(chunks[0].outcome.as_ref(), Some(&ok), "an accepted outcome is final");
    assert_eq!(chunks[1].outcome.as_ref(), Some(&bad), "a failed outcome is stored");
    assert_eq!(chunks[2].outcome, None, "a chunk without a call has no outcome");
    let earlier = ChunkOutcome::Accepted {
        request_id: Some("req-9".into()),
        accepted_earlier: true,
    };
    store.record_outcome(&run, &a, 1, &earlier).await.unwrap();
    let resumed = store.reserve_chunks(&run, &a, &[(2, RetryKey::new())]).await.unwrap();
    assert_eq!(resumed.len(), 3, "stored chunks beyond the proposed ones come back");
    assert_eq!(
        resumed[1].outcome.as_ref(),
        Some(&earlier),
        "a failed chunk's outcome is replaced by a later acceptance"
    );
    assert!(
        store.record_outcome(&run, &a, 7, &ok).await.is_err(),
        "recording a chunk never reserved is an error"
    );

    // Skip reasons change; unknown accounts are ignored.
    store.set_skip(&run, &a, Some(&SkipReason::Removed)).await.unwrap();
    store.set_skip(&run, &b, None).await.unwrap();
    store
        .set_skip(&run, &fresh_channel(), Some(&SkipReason::Removed))
        .await
        .unwrap();
    let p = store.run_plan(&run).await.unwrap().unwrap();
    let skip_of = |id: &ChannelId| p.accounts.iter().find(|x| &x.channel_id == id).unwrap().skip.clone();
    assert_eq!(skip_of(&a), Some(SkipReason::Removed), "set_skip sets");
    assert_eq!(skip_of(&b), None, "set_skip clears");
    assert_eq!(p.accounts.len(), 2, "set_skip of an unknown account adds nothing");

    // Runs are independent; concurrent reservations agree.
    store.begin_run(&other_run, &plan).await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let s = Arc::clone(&store);
            let (r, id) = (other_run.clone(), b.clone());
            tokio::spawn(async move {
                let proposed: Vec<(u32, RetryKey)> = (0..4).map(|_| (1, RetryKey::new())).collect();
                s.reserve_chunks(&r, &id, &proposed).await.unwrap()
            })
        })
        .collect();
    let mut seen = None;
    for t in tasks {
        let keys: Vec<RetryKey> = t.await.unwrap().iter().map(|c| c.retry_key).collect();
        assert_eq!(keys.len(), 4);
        match &seen {
            None => seen = Some(keys),
            Some(s) => assert_eq!(s, &keys, "concurrent reservations of one chunk agree on its key"),
        }
    }
    assert_eq!(
        store.chunks(&run).await.unwrap().len(),
        3,
        "another run's chunks are its own"
    );
    store.forget_run(&run).await.unwrap();
    assert!(store.run_plan(&run).await.unwrap().is_none(), "a forgotten run is gone");
    assert!(
        store.chunks(&run).await.unwrap().is_empty(),
        "a forgotten run's chunks are gone"
    );
    assert_eq!(
        store.chunks(&other_run).await.unwrap().len(),
        4,
        "forgetting one run leaves the others"
    );
    store.forget_run(&other_run).await.unwrap();
    store.forget_run(&other_run).await.unwrap();
}
