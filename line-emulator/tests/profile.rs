//! Profiles, followers, bot info, link tokens, loading animation, mark-as-read.

mod common;

use common::{api, start};
use line_core::model::{ChatReference, MarkMessagesAsReadRequest, ShowLoadingAnimationRequest};
use line_core::UserId;
use line_emulator::{EmulatorConfig, UserSpec};

#[tokio::test]
async fn profiles_of_friends_only() {
    let (emu, client) = start(EmulatorConfig::new()).await;
    let alice = emu.add_user(
        UserSpec::new("Alice")
            .picture_url("https://example.invalid/a.png")
            .status_message("hi")
            .language("ja"),
    );
    let stranger = emu.add_user(UserSpec::new("Stranger").friend(false));
    let p = client.get_profile(alice.as_str()).await.unwrap().body;
    assert_eq!(p.display_name, "Alice");
    assert_eq!(p.user_id, alice);
    assert_eq!(p.language.as_deref(), Some("ja"));
    assert_eq!(p.picture_url.as_deref(), Some("https://example.invalid/a.png"));
    let err = client.get_profile(stranger.as_str()).await.unwrap_err();
    assert_eq!(api(&err).status, 404);
}

#[tokio::test]
async fn followers_page_with_start_and_limit() {
    let (emu, client) = start(EmulatorConfig::new().friends(25)).await;
    let blocked = emu.users()[3].user_id.clone();
    emu.unfollow(&blocked).await.unwrap();
    let mut all: Vec<UserId> = Vec::new();
    let mut start_token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut req = client.get_followers().limit(10);
        if let Some(start) = &start_token {
            req = req.start(start);
        }
        let page = req.await.unwrap().body;
        assert!(page.user_ids.len() <= 10);
        all.extend(page.user_ids);
        pages += 1;
        match page.next {
            Some(n) => start_token = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(all, emu.follower_ids());
    assert_eq!(all.len(), 24);
    assert!(!all.contains(&blocked));

    let err = client.get_followers().limit(1001).await.unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("limit"));
    let err = client.get_followers().start("garbage").await.unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("start"));
}

#[tokio::test]
async fn bot_info_and_quota_without_a_limit() {
    let (emu, client) = start(EmulatorConfig::new()).await;
    let info = client.get_bot_info().await.unwrap().body;
    assert_eq!(info.user_id.as_str(), emu.bot_user_id());
    assert_eq!(info.basic_id, "@line-emulator");
    let quota = client.get_message_quota().await.unwrap().body;
    assert_eq!(quota.kind.as_str(), "none");
    assert_eq!(quota.value, None);
}

#[tokio::test]
async fn link_tokens_work_once_through_the_account_link_flow() {
    let (emu, client) = start(EmulatorConfig::new().friends(1)).await;
    let alice = emu.users()[0].user_id.clone();
    let token = client.issue_link_token(alice.as_str()).await.unwrap().body.link_token;
    assert_eq!(token.len(), 32);
    let first = emu.complete_account_link(&token, "nonce-1").await.unwrap();
    let ev = &first.events[0];
    assert_eq!(ev["type"], "accountLink");
    assert_eq!(ev["link"]["result"], "ok");
    assert_eq!(ev["link"]["nonce"], "nonce-1");
    assert_eq!(ev["source"]["userId"], alice.as_str());
    assert!(first.reply_token().is_some());
    let second = emu.complete_account_link(&token, "nonce-2").await.unwrap();
    assert_eq!(second.events[0]["link"]["result"], "failed");
    assert!(second.reply_token().is_none());
    assert!(emu.complete_account_link("never-issued", "n").await.is_err());

    let err = client.issue_link_token(&format!("U{:032x}", 99u8)).await.unwrap_err();
    assert_eq!(api(&err).status, 400);
}

#[tokio::test]
async fn loading_animation_and_mark_as_read() {
    let (emu, client) = start(EmulatorConfig::new().friends(1)).await;
    let alice = emu.users()[0].user_id.clone();
    let mut req = ShowLoadingAnimationRequest::new(alice.as_str());
    req.loading_seconds = Some(10);
    let r = client.show_loading_animation(&req).await.unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(emu.loading_animations(), vec![(alice.clone(), 10)]);
    req.loading_seconds = Some(7);
    let err = client.show_loading_animation(&req).await.unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("loadingSeconds"));

    let read = MarkMessagesAsReadRequest::new(ChatReference::new(alice.clone()));
    client.mark_messages_as_read(&read).await.unwrap();
    assert_eq!(emu.marked_as_read(), vec![alice.clone()]);

    let delivery = emu.send_text(&alice, "hello").await.unwrap();
    let token = delivery.events[0]["message"]["markAsReadToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_token = line_core::model::MarkMessagesAsReadByTokenRequest::new(token.clone());
    client.mark_messages_as_read_by_token(&by_token).await.unwrap();
    assert_eq!(emu.marked_as_read().len(), 2);
    let err = client.mark_messages_as_read_by_token(&by_token).await.unwrap_err();
    assert_eq!(api(&err).status, 400);
}
