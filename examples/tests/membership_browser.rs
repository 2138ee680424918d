//! The membership card's LIFF page in headless Chromium (line-emulator's `browser` harness),
//! against the example app and the emulator, which issues the ID tokens and publishes the key
//! the app verifies them with (`/oauth2/v2.1/certs`).
//!
//! The page loads the real LINE SDK from `static.line-scdn.net`, which tests cannot reach. The
//! test makes that host unresolvable in Chromium (so the SDK can never load, here or on a
//! machine with internet), and injects `tests/liff-stub.js`, a test-only stand-in `liff`
//! object that hands the page the ID token the test chose, before the page's scripts run
//! (Chrome DevTools `Page.addScriptToEvaluateOnNewDocument`). The page's HTML is the one
//! production serves.
//!
//! With `CI` set, a missing chromedriver fails the test; without it the test is skipped with a
//! notice. `bash line-popup/ci-setup.sh` installs it.

use std::sync::Arc;
use std::time::Duration;

use line_core::clock::SystemClock;
use line_emulator::browser::fantoccini::{Client, Locator};
use line_emulator::browser::{Browser, BrowserOptions};
use line_emulator::login::IdTokenSpec;
use line_emulator::Emulator;
use line_examples::membership::{demo, MembershipApp, Tiers, LIFF_SDK_URL};
use line_login::{Config, Verifier};
use serde_json::{json, Value};

/// The stand-in for the LINE SDK (test only).
const LIFF_STUB: &str = include_str!("liff-stub.js");
const LIFF_ID: &str = "1660000001-AbCdEfGh";

/// What the page shows once its script has finished.
#[derive(Debug)]
struct Shown {
    state: String,
    status: String,
    name: String,
    tier: String,
    spent: String,
    progress: String,
    /// Every LIFF call the page made, in order.
    calls: Value,
}

/// Opens the page with a stand-in `liff` that gives `id_token`, and reads what it shows.
async fn open_card(browser: &Browser, base: &str, id_token: &str) -> Shown {
    let source = format!(
        "window.__liffStubConfig = {};\n{LIFF_STUB}",
        json!({ "idToken": id_token })
    );
    let added = browser
        .cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": source }))
        .await
        .expect("the stand-in is registered");
    browser.goto(&format!("{base}/")).await.unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(r#"body:not([data-state="loading"])"#))
        .await
        .expect("the page's script finished");
    let c: &Client = browser;
    // Visible text only (`text()` is what a user sees: hidden elements give "").
    let text = |css: &'static str| async move { c.find(Locator::Css(css)).await.unwrap().text().await.unwrap() };
    let shown = Shown {
        state: c
            .execute("return document.body.dataset.state;", vec![])
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned(),
        status: text("#status").await,
        name: text("#name").await,
        tier: text("#tier").await,
        spent: text("#spent").await,
        progress: text("#progress").await,
        calls: c.execute("return window.__liffStub.calls;", vec![]).await.unwrap(),
    };
    browser
        .cdp(
            "Page.removeScriptToEvaluateOnNewDocument",
            json!({ "identifier": added["identifier"] }),
        )
        .await
        .expect("the stand-in is removed");
    shown
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_liff_page_shows_each_members_tier_and_refuses_unlinked_users_and_bad_tokens() {
    let options = BrowserOptions::new().arg("--host-resolver-rules=MAP static.line-scdn.net ~NOTFOUND");
    let Some(browser) = Browser::start_with(options).await.expect("a headless Chromium") else {
        return; // skipped (a failure when CI is set)
    };
    let emu = Emulator::start().await.unwrap();
    let verifier = Arc::new(Verifier::new(
        Config::new(emu.login_channel_id()).api_base(emu.base_url()),
    ));
    let members = Arc::new(demo::members(jiff::Timestamp::now()));
    let app = MembershipApp::new(verifier, members, Tiers::reine(), Arc::new(SystemClock), LIFF_ID);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app.router()).await });

    let result = async {
        // Two members in different tiers: name, tier, spend and what is missing to the next.
        let aoi = open_card(&browser, &base, &emu.mint_id_token(demo::AOI, None)).await;
        assert_eq!(aoi.state, "member", "{aoi:?}");
        assert_eq!(
            (aoi.name.as_str(), aoi.tier.as_str(), aoi.progress.as_str()),
            ("Aoi Tanaka", "ROUGE", "¥18,000 more to reach REINE")
        );
        assert_eq!(aoi.spent, "¥32,000 spent in the last 365 days");
        assert_eq!(aoi.status, "", "no message next to a card");
        // The page initialized LIFF with its LIFF ID, then asked for the ID token.
        assert_eq!(
            aoi.calls,
            json!([{"fn": "init", "liffId": LIFF_ID}, {"fn": "getIDToken"}])
        );

        let ren = open_card(&browser, &base, &emu.mint_id_token(demo::REN, None)).await;
        assert_eq!(
            (
                ren.state.as_str(),
                ren.name.as_str(),
                ren.tier.as_str(),
                ren.progress.as_str()
            ),
            ("member", "Ren Sato", "BLANC", "¥12,500 more to reach ROUGE")
        );
        assert_eq!(ren.spent, "¥7,500 spent in the last 365 days");

        let mio = open_card(&browser, &base, &emu.mint_id_token(demo::MIO, None)).await;
        assert_eq!(
            (mio.tier.as_str(), mio.progress.as_str()),
            ("REINE", "You have reached REINE, our top tier.")
        );

        // A LINE user linked to no member: a message, and no card.
        let unlinked = open_card(&browser, &base, &emu.mint_id_token(demo::UNLINKED, None)).await;
        assert_eq!(unlinked.state, "unlinked", "{unlinked:?}");
        assert_eq!(
            unlinked.status,
            "Your LINE account is not linked to a membership yet. \
             Link it from the menu in our LINE account to see your card here."
        );
        assert_eq!((unlinked.name.as_str(), unlinked.tier.as_str()), ("", ""));

        // An expired token, and a forged one (Ren's claims under Aoi's signature): 401, a
        // message, and no card.
        let unauthorized = "We could not confirm your LINE login. Close this page and open it again from LINE.";
        let mut spec = IdTokenSpec::new(demo::AOI);
        spec.expires_in = -3600;
        let expired = open_card(&browser, &base, &emu.mint_id_token_with(&spec)).await;
        assert_eq!(
            (expired.state.as_str(), expired.status.as_str(), expired.name.as_str()),
            ("unauthorized", unauthorized, "")
        );
        let signed = emu.mint_id_token(demo::AOI, None);
        let other = emu.mint_id_token(demo::REN, None);
        let (s, o): (Vec<&str>, Vec<&str>) = (signed.split('.').collect(), other.split('.').collect());
        let forged = format!("{}.{}.{}", s[0], o[1], s[2]);
        let forged = open_card(&browser, &base, &forged).await;
        assert_eq!(
            (forged.state.as_str(), forged.status.as_str(), forged.name.as_str()),
            ("unauthorized", unauthorized, "")
        );

        // What ran was production's page: it asks for LINE's SDK (blocked here), and the
        // stand-in, not the SDK, is the `liff` the page used.
        let sdk = browser
            .execute(
                "const [url] = arguments;
                 return [...document.scripts].some(s => s.src === url) && window.liff !== undefined
                   && window.__liffStub !== undefined;",
                vec![json!(LIFF_SDK_URL)],
            )
            .await
            .unwrap();
        assert_eq!(sdk, json!(true));
    }
    .await;
    let _ = browser.close().await;
    server.abort();
    emu.shutdown().await;
    result
}
