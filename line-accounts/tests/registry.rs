//! The in-memory registry's conformance, the registry file (errors name the
//! entry and the field, never a secret), and redaction.

mod common;

use std::sync::Arc;

use common::*;
use line_accounts::testing::{account_registry_conformance, generate_private_key};
use line_accounts::{parse_registry, Account, ErrorKind, InMemoryRegistry, TokenConfig};
use line_core::clock::ManualClock;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_registry_passes_the_conformance_suite() {
    account_registry_conformance(Arc::new(InMemoryRegistry::new()), &ManualClock::new(start())).await;
}

const SECRET: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn entry(overrides: serde_json::Value) -> serde_json::Value {
    let mut e = serde_json::json!({
        "channel_id": "1234567890",
        "bot_user_id": "U0123456789abcdef0123456789abcdef",
        "channel_secret": SECRET,
        "token": {"type": "static", "access_token": "tok-abc"},
        "time_zone": "Asia/Tokyo",
        "plan": {"free_messages_per_month": 200}
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            e.as_object_mut().unwrap().remove(k);
        } else {
            e[k] = v.clone();
        }
    }
    e
}

fn doc(entries: Vec<serde_json::Value>) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "accounts": entries })).unwrap()
}

fn invalid(bytes: &[u8]) -> (String, String, String) {
    let err = parse_registry(bytes, None).unwrap_err();
    match err.kind().clone() {
        ErrorKind::InvalidAccount { entry, field, reason } => (entry, field, reason),
        other => panic!("expected an invalid entry, got {other:?}"),
    }
}

fn pem(key: &line_accounts::PrivateKey) -> String {
    key.expose_pem().to_owned()
}

#[test]
fn a_valid_file_loads_every_kind_of_token() {
    let key = generate_private_key();
    let entries = vec![
        entry(serde_json::json!({"name": "Shibuya"})),
        entry(serde_json::json!({
            "channel_id": "1234567891", "bot_user_id": "U0123456789abcdef0123456789abcde0",
            "token": {"type": "v2.1", "kid": "kid-1", "private_key": pem(&key), "token_lifetime_secs": 86400},
            "time_zone": "Europe/Paris",
            "plan": {"free_messages_per_month": 30000, "yen_per_additional_message": 3.0}
        })),
        entry(serde_json::json!({
            "channel_id": "1234567892", "bot_user_id": "U0123456789abcdef0123456789abcde1",
            "token": {"type": "short_lived"}, "time_zone": null
        })),
        entry(serde_json::json!({
            "channel_id": "1234567893", "bot_user_id": "U0123456789abcdef0123456789abcde2",
            "token": {"type": "stateless"}
        })),
    ];
    let accounts = parse_registry(&doc(entries), None).unwrap();
    assert_eq!(accounts.len(), 4);
    assert_eq!(accounts[0].name.as_deref(), Some("Shibuya"));
    assert!(
        matches!(&accounts[1].token, TokenConfig::V21 { kid, private_key, lifetime }
        if kid == "kid-1" && private_key == &key && lifetime.as_secs() == 86_400)
    );
    assert_eq!(accounts[1].settings.time_zone_name(), "Europe/Paris");
    assert_eq!(accounts[1].settings.plan.yen_per_additional_message, Some(3.0));
    assert_eq!(accounts[2].settings.time_zone_name(), "Asia/Tokyo", "the default zone");
    assert!(matches!(accounts[2].token, TokenConfig::ShortLived));
    assert!(matches!(accounts[3].token, TokenConfig::Stateless));
}

#[test]
fn a_private_key_file_is_read_relative_to_the_registry() {
    let dir = std::env::temp_dir().join(format!("line-accounts-{:x}", rand_u64()));
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let key = generate_private_key();
    std::fs::write(dir.join("keys/shop.pem"), key.expose_pem()).unwrap();
    let e = entry(serde_json::json!({"token": {"type": "v2.1", "kid": "k", "private_key_file": "keys/shop.pem"}}));
    std::fs::write(dir.join("registry.json"), doc(vec![e])).unwrap();
    let accounts = line_accounts::load_registry_file(dir.join("registry.json")).unwrap();
    assert!(matches!(&accounts[0].token, TokenConfig::V21 { private_key, .. } if private_key == &key));
    let e = entry(serde_json::json!({"token": {"type": "v2.1", "kid": "k", "private_key_file": "keys/none.pem"}}));
    std::fs::write(dir.join("registry.json"), doc(vec![e])).unwrap();
    let err = line_accounts::load_registry_file(dir.join("registry.json")).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidAccount { entry, field, .. }
        if entry == "accounts[0] (channel 1234567890)" && field == "token.private_key_file"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn rand_u64() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
fn bad_entries_name_the_entry_and_the_field() {
    let ok = entry(serde_json::json!({}));
    let cases: Vec<(serde_json::Value, &str, &str)> = vec![
        (
            serde_json::json!({"channel_secret": "short"}),
            "channel_secret",
            "32 hexadecimal digits",
        ),
        (
            serde_json::json!({"channel_secret": 42}),
            "channel_secret",
            "must be a string",
        ),
        (
            serde_json::json!({"channel_secret": null}),
            "",
            "missing field `channel_secret`",
        ),
        (
            serde_json::json!({"bot_user_id": "Uxyz"}),
            "bot_user_id",
            "32 lowercase hexadecimal",
        ),
        (
            serde_json::json!({"time_zone": "Asia/Atlantis"}),
            "time_zone",
            "unknown IANA time zone",
        ),
        (
            serde_json::json!({"plan": {"free_messages_per_month": -1}}),
            "plan.free_messages_per_month",
            "invalid value",
        ),
        (
            serde_json::json!({"plan": {"free_messages_per_month": 1, "yen_per_additional_message": -3.0}}),
            "plan.yen_per_additional_message",
            "finite number of yen",
        ),
        (
            serde_json::json!({"token": {"type": "v2.1", "kid": "k", "private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"}}),
            "token.private_key",
            "not an RSA private key",
        ),
        (
            serde_json::json!({"token": {"type": "v2.1", "kid": "k"}}),
            "token",
            "exactly one of `private_key` and `private_key_file`",
        ),
        (
            serde_json::json!({"token": {"type": "v9"}}),
            "token.type",
            "unknown variant",
        ),
        (
            serde_json::json!({"token": {"type": "static", "access_token": ""}}),
            "token.access_token",
            "non-empty",
        ),
        (serde_json::json!({"colour": "red"}), "colour", "unknown field `colour`"),
    ];
    for (overrides, field, reason) in cases {
        let bad = entry(overrides.clone());
        let (e, f, r) = invalid(&doc(vec![ok.clone(), bad]));
        assert!(e.starts_with("accounts[1]"), "{overrides}: entry {e}");
        assert_eq!(f, field, "{overrides}: {r}");
        assert!(r.contains(reason), "{overrides}: reason {r:?} should say {reason:?}");
    }
    // The channel ID is named when it could be read.
    let (e, _, _) = invalid(&doc(vec![entry(serde_json::json!({"channel_secret": "x"}))]));
    assert_eq!(e, "accounts[0] (channel 1234567890)");
    // Duplicates.
    let (e, f, r) = invalid(&doc(vec![ok.clone(), ok.clone()]));
    assert_eq!(
        (e.as_str(), f.as_str()),
        ("accounts[1] (channel 1234567890)", "channel_id")
    );
    assert!(r.contains("accounts[0]"));
    let twin = entry(serde_json::json!({"channel_id": "99"}));
    let (_, f, _) = invalid(&doc(vec![ok, twin]));
    assert_eq!(f, "bot_user_id");
}

#[test]
fn a_document_that_is_not_a_registry_names_the_place() {
    for (bytes, pointer) in [
        (&b"[]"[..], ""),
        (b"{\"accounts\": 3}", "/accounts"),
        (b"{\"accounts\": [], \"x\": 1}", "/x"),
        (b"{\"accounts\": [", "/accounts"),
    ] {
        let err = parse_registry(bytes, None).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidFile { pointer: p, .. } if p == pointer),
            "{}: {err:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    let key = generate_private_key();
    let key_line = key.expose_pem().lines().nth(2).unwrap().to_owned();
    let token = "tok-SECRET-abc";
    // A secret in the wrong place (a number where a string goes) and a key that is
    // not a key: the errors name fields, never values.
    let secret_like = "fedcba9876543210fedcba9876543210zz";
    let mut broken_key = key.expose_pem().to_owned();
    broken_key.replace_range(40..60, "!!!!!!!!!!!!!!!!!!!!");
    for bad in [
        entry(serde_json::json!({"channel_secret": secret_like})),
        entry(serde_json::json!({"token": {"type": "v2.1", "kid": "k", "private_key": broken_key}})),
        entry(serde_json::json!({"token": {"type": "static", "access_token": ["tok-SECRET-abc"]}})),
    ] {
        let err = parse_registry(&doc(vec![bad]), None).unwrap_err();
        let out = format!("{err} {err:?}");
        assert!(
            !out.contains(secret_like) && !out.contains(&broken_key[40..80]) && !out.contains(token),
            "{out}"
        );
    }
    let account = parse_registry(
        &doc(vec![entry(serde_json::json!({
            "token": {"type": "v2.1", "kid": "k", "private_key": key.expose_pem()}
        }))]),
        None,
    )
    .unwrap()
    .remove(0);
    let static_account = parse_registry(
        &doc(vec![entry(
            serde_json::json!({"token": {"type": "static", "access_token": token}}),
        )]),
        None,
    )
    .unwrap()
    .remove(0);
    let out = format!("{account:?} {account:#?} {static_account:?} {key:?}");
    for s in [SECRET, key_line.as_str(), token] {
        assert!(!out.contains(s), "{s} printed in {out}");
    }
    assert!(out.contains("<redacted>"));
}

#[test]
fn accounts_check_their_parts_in_code_too() {
    let (id, bot, _) = channel(1);
    let err = Account::new(
        id.clone(),
        bot.clone(),
        "nothex".into(),
        TokenConfig::Stateless,
        settings(),
    )
    .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidAccount { field, .. } if field == "channel_secret"));
    let err = line_accounts::ChannelId::new("12a").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidAccount { field, .. } if field == "channel_id"));
    let err = Account::new(
        id,
        bot,
        SECRET.into(),
        TokenConfig::V21 {
            kid: "k".into(),
            private_key: generate_private_key(),
            lifetime: std::time::Duration::from_secs(31 * 86_400),
        },
        settings(),
    )
    .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidAccount { field, .. } if field == "token.token_lifetime_secs"));
}
