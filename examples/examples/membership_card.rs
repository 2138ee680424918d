//! The membership card in LIFF, on the emulator: the app serves the LIFF page and its API,
//! the emulator issues the ID tokens (and publishes the key the app verifies them with). The
//! example calls the API as the page does, for three linked members in three tiers, a LINE user
//! linked to no member and an expired token, and checks each answer.
//!
//! ```sh
//! cargo run -p line-examples --example membership_card
//! ```
//!
//! `-- --serve` keeps the app running on 127.0.0.1:3000 afterwards (the page needs the LINE
//! app, or a stand-in `liff` as in `examples/tests/membership_browser.rs`).

use std::sync::Arc;

use line_core::clock::SystemClock;
use line_emulator::login::IdTokenSpec;
use line_emulator::Emulator;
use line_examples::membership::{demo, MembershipApp, Tiers};
use line_login::{Config, Verifier};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve = std::env::args().any(|a| a == "--serve");
    let emu = Emulator::start().await?;
    let verifier = Arc::new(Verifier::new(
        Config::new(emu.login_channel_id()).api_base(emu.base_url()),
    ));
    let tiers = Tiers::reine();
    for (tier, segment) in tiers.segments() {
        println!("tier {tier:<6} {segment}");
    }
    let clock = Arc::new(SystemClock);
    let members = Arc::new(demo::members(jiff::Timestamp::now()));
    let app = MembershipApp::new(verifier, members, tiers, clock, "1660000001-demo");
    let listener = tokio::net::TcpListener::bind(if serve { "127.0.0.1:3000" } else { "127.0.0.1:0" }).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app.router()).await });
    println!("LIFF page: {base}/\n");

    let http = reqwest::Client::new();
    let card = |token: String| {
        let (http, url) = (http.clone(), format!("{base}/api/card"));
        async move {
            let res = http.get(url).bearer_auth(token).send().await?;
            let status = res.status().as_u16();
            let body: Value = serde_json::from_str(&res.text().await?).unwrap_or(Value::Null);
            Ok::<_, reqwest::Error>((status, body))
        }
    };

    let expected = [
        (demo::AOI, "Aoi Tanaka", "ROUGE", Some("¥18,000 more to reach REINE")),
        (demo::REN, "Ren Sato", "BLANC", Some("¥12,500 more to reach ROUGE")),
        (demo::MIO, "Mio Suzuki", "REINE", None),
    ];
    for (user, name, tier, next) in expected {
        let (status, body) = card(emu.mint_id_token(user, None)).await?;
        let shown = (
            body["name"].as_str(),
            body["tier"].as_str(),
            body["next"]["text"].as_str(),
        );
        println!(
            "{name:<11} {status} {:<6} spent {:<8} {}",
            tier,
            body["spent"].as_str().unwrap_or("?"),
            next.unwrap_or("top tier")
        );
        if status != 200 || shown != (Some(name), Some(tier), next) {
            return Err(format!("{name}: expected {tier} / {next:?}, got {status} {body}").into());
        }
    }

    let (status, body) = card(emu.mint_id_token(demo::UNLINKED, None)).await?;
    println!("unlinked    {status} {body}");
    if status != 404 || body["error"] != "not_linked" {
        return Err(format!("an unlinked user got {status} {body}").into());
    }

    let mut expired = IdTokenSpec::new(demo::AOI);
    expired.expires_in = -3600;
    let (status, _) = card(emu.mint_id_token_with(&expired)).await?;
    println!("expired     {status}");
    if status != 401 {
        return Err(format!("an expired token got {status}").into());
    }

    if serve {
        println!("\nserving on {base} (Ctrl-C to stop)");
        server.await??;
    }
    Ok(())
}
