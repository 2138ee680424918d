//! Account linking on the emulator: issue a link token, send the user to
//! LINE's account-link page with a nonce, then match the `accountLink`
//! event's nonce to the member. A nonce works once.
//!
//! ```sh
//! cargo run -p line-examples --example account_link
//! ```
//!
//! `-- --store sqlite:PATH` (or `postgres://…`) keeps the nonces in that database.

use std::sync::Arc;

use line_core::clock::SystemClock;
use line_core::webhook::account_link::AccountLink;
use line_core::webhook::Event;
use line_emulator::{Emulator, UserSpec};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = line_examples::stores::from_args(std::env::args())?;
    let prefix = line_examples::stores::run_prefix(&store, "account_link");
    let stores = line_examples::stores::Stores::open(&store, &prefix, Arc::new(SystemClock)).await?;
    println!("nonces: {}", stores.url);
    let emu = Emulator::start().await?;
    let client = emu.client_builder().build()?;
    let user = emu.add_user(UserSpec::new("Aoi"));
    let link = AccountLink::new(stores.nonces.clone());

    // 1. The member logged in on your site; issue a link token and make the URL.
    let url = link.start(&client, &user, "member-1001").await?;
    println!("send the user to: {url}");

    // 2. The user confirms on LINE's page (the emulator plays LINE here).
    let query: std::collections::BTreeMap<String, String> = url::Url::parse(&url)?.query_pairs().into_owned().collect();
    let (token, nonce) = (&query["linkToken"], &query["nonce"]);
    let delivery = emu.complete_account_link(token, nonce).await?;

    // 3. LINE's webhook carries the nonce; it names the member.
    let body = serde_json::to_vec(&serde_json::json!({ "destination": emu.bot_user_id(), "events": delivery.events }))?;
    let request = line_core::webhook::parse(&body)?;
    for event in &request.events {
        if let Event::AccountLink(e) = event {
            match link.resolve(e).await? {
                Some((line_user, member)) => println!("linked: LINE user {line_user} is {member}"),
                None => println!("the link failed on LINE's side"),
            }
            // The same event again (a redelivery, or a replay) finds no nonce.
            match link.resolve(e).await {
                Err(err) => println!("replayed event refused: {err}"),
                Ok(_) => return Err("a nonce resolved twice".into()),
            }
        }
    }
    Ok(())
}
