//! End to end in a real headless browser: Debian's `chromium` driven over
//! WebDriver (`chromedriver`, path in `CHROMEDRIVER`, default
//! `/usr/bin/chromedriver`) against the example server, in process on 127.0.0.1.
//!
//! With `CI` set, a missing chromedriver fails the test; without it the test
//! is skipped with a notice. `bash line-popup/ci-setup.sh` installs it.

#[path = "../examples/popup_server/app.rs"]
#[allow(dead_code)]
mod app;

use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use jiff::SignedDuration;
use line_core::clock::{Clock, ManualClock};
use line_core::ChannelSecret;
use line_popup::InMemoryStore;
use serde_json::json;

fn chromedriver() -> Option<String> {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    if std::path::Path::new(&path).exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("chromedriver not found at {path}: run `bash line-popup/ci-setup.sh`");
    }
    eprintln!("SKIPPED: chromedriver not found at {path}; run `bash line-popup/ci-setup.sh`");
    None
}

struct Driver {
    child: tokio::process::Child,
    port: u16,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn start_driver(path: &str) -> Driver {
    let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new(path)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let profile = std::env::temp_dir().join(format!(
        "line-popup-chrome-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&profile).unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Driver { child, port, profile };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on 127.0.0.1:{port} within 10 s");
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    let mut opts = json!({
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage",
            format!("--user-data-dir={}", driver.profile.display()),
        ]
    });
    if let Ok(bin) = std::env::var("CHROMIUM") {
        opts["binary"] = json!(bin);
    } else if std::path::Path::new("/usr/bin/chromium").exists() {
        opts["binary"] = json!("/usr/bin/chromium");
    }
    caps.insert("goog:chromeOptions".into(), opts);
    ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

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
    let Some(driver_path) = chromedriver() else { return };
    let clock = ManualClock::new("2026-05-01T03:00:00Z".parse().unwrap());
    let secret = ChannelSecret::new("browser-test-secret");
    let state = app::demo_state(Arc::new(InMemoryStore::new()), Arc::new(clock.clone()), &secret);
    let engine = state.engine.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app::router(state)).await });

    let driver = start_driver(&driver_path).await;
    let c = browser(&driver).await;
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
    let _ = c.close().await;
    server.abort();
    drop(driver);
    result
}
