//! The conformance suite of [`AccountRegistry`] (feature `testing`).
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
