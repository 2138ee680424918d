//! End to end in a real headless browser: Debian's `chromium` driven over
//! WebDriver by line-emulator's shared harness (`line_emulator::browser`, feature
//! `browser`) against the example server, in process on 127.0.0.1.
//!
//! With `CI` set, a missing chromedriver fails the test; without it the test
//! is skipped with a notice. `bash line-popup/ci-setup.sh` installs it.

#[path = "../examples/popup_server/app.rs"]
#[allow(dead_code)]
mod app;

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use line_core::clock::{Clock, ManualClock};
use line_core::ChannelSecret;
use line_emulator::browser::fantoccini::{Client, Locator};
use line_emulator::browser::Browser;
use line_popup::InMemoryStore;
use serde_json::json;

/// Loads `url` and waits for the popup script to finish; gives the body's
/// `data-line-popup` (`shown` or `hidden`) and `data-line-popup-reason`.
async fn load(c: &Client, url: &str) -> (String, Option<String>) {
    c.goto(url).await.unwrap();
    let body = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("body[data-line-popup]"))
        .await
        .expect("the popup script finished");
    let state = body.attr("data-line-popup").await.unwrap().unwrap();
    let reason = body.attr("data-line-popup-reason").await.unwrap();
    (state, reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_views_show_five_times_dismiss_cools_down_and_follow_stops() {
    let Some(browser) = Browser::start().await.expect("a headless Chromium") else {
        return; // skipped (a failure when CI is set)
    };
    let clock = ManualClock::new("2026-05-01T03:00:00Z".parse().unwrap());
    let secret = ChannelSecret::new("browser-test-secret");
    let state = app::demo_state(Arc::new(InMemoryStore::new()), Arc::new(clock.clone()), &secret);
    let engine = state.engine.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app::router(state)).await });

    let c = browser.client().clone();
    let result = async {
        // 1. Seven page views: exactly five showings (the lifetime cap).
        let mut shown = 0;
        for i in 0..7 {
            let (state, reason) = load(&c, &format!("{base}/products/{}", i % 3 + 1)).await;
            if state == "shown" {
                shown += 1;
                let banner = c.find(Locator::Css("#line-popup h2")).await.unwrap();
                assert!(!banner.text().await.unwrap().is_empty());
            } else {
                assert_eq!(reason.as_deref(), Some("lifetime"), "view {i}");
            }
            clock.advance(SignedDuration::from_mins(1));
        }
        assert_eq!(shown, 5, "7 views with a cap of 5");

        // 2. A new visitor dismisses: the cool-down starts, and ends after 7 days.
        c.execute("localStorage.clear(); sessionStorage.clear();", vec![]).await.unwrap();
        assert_eq!(load(&c, &format!("{base}/")).await.0, "shown");
        c.find(Locator::Css("#line-popup-close")).await.unwrap().click().await.unwrap();
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("body[data-line-popup-dismissed]"))
            .await
            .expect("dismiss reported");
        let (state, reason) = load(&c, &format!("{base}/products/1")).await;
        assert_eq!((state.as_str(), reason.as_deref()), ("hidden", Some("dismiss_cooldown")));
        clock.advance(SignedDuration::from_hours(24 * 7));
        assert_eq!(load(&c, &format!("{base}/products/1")).await.0, "shown");

        // 3. The visitor logs in through the banner's LINE Login URL (its
        //    `state` is the showing's token) and adds the account: LINE sends
        //    a follow event. After it, the popup stops showing.
        let body = c.find(Locator::Css("body")).await.unwrap();
        let token = body.attr("data-line-popup-token").await.unwrap().unwrap();
        let href = c
            .find(Locator::Css("#line-popup-add"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        assert!(href.contains(&format!("state={token}")) && href.contains("bot_prompt=aggressive"), "{href}");
        c.goto(&format!("{base}/line/callback?state={token}&user_id=Ubrowser0000000000000000000000001"))
            .await
            .unwrap();
        c.find(Locator::Css("#linked")).await.expect("login callback accepted");
        let follow = json!({"destination": "Ubot", "events": [{
            "type": "follow", "mode": "active", "timestamp": clock.now().as_millisecond(),
            "source": {"type": "user", "userId": "Ubrowser0000000000000000000000001"},
            "webhookEventId": "01HBROWSERFOLLOW", "deliveryContext": {"isRedelivery": false},
            "replyToken": "rt", "follow": {"isUnblocked": false}}]})
        .to_string();
        let signature = line_core::webhook::WebhookVerifier::new(&secret).sign(follow.as_bytes());
        let status = c
            .execute_async(
                "const [body, sig, done] = arguments;
                 fetch('/webhook', {method: 'POST', headers: {'x-line-signature': sig, 'content-type': 'application/json'}, body})
                   .then(r => done(r.status), e => done(String(e)));",
                vec![json!(follow), json!(signature)],
            )
            .await
            .unwrap();
        assert_eq!(status, json!(200));
        let (state, reason) = load(&c, &format!("{base}/products/2")).await;
        assert_eq!((state.as_str(), reason.as_deref()), ("hidden", Some("converted")));
        clock.advance(SignedDuration::from_hours(24 * 30));
        assert_eq!(load(&c, &format!("{base}/products/2")).await.1.as_deref(), Some("converted"));

        // The report agrees with what the browser saw.
        let day = engine.day_of("2026-05-01T03:00:00Z".parse().unwrap());
        let report = engine.report(day, engine.day_of(clock.now())).await.unwrap();
        let total = |f: fn(&line_popup::VariantReport) -> u64| report.variants.iter().map(f).sum::<u64>();
        assert_eq!(total(|v| v.reserved), 7);
        assert_eq!(total(|v| v.impressions), 7);
        assert_eq!(total(|v| v.dismissals), 1);
        assert_eq!(total(|v| v.conversions), 1);
        assert_eq!((report.new_friends, report.popup_friends), (1, 1));
    }
    .await;
    let _ = browser.close().await;
    server.abort();
    result
}
