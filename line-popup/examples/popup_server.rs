//! A demo shop with the LINE friend popup.
//!
//! ```sh
//! LINE_CHANNEL_SECRET=... cargo run -p line-popup --example popup_server
//! # then open http://127.0.0.1:8080/
//! ```
//!
//! Routes: `/` and `/products/{id}` (the shop), `/popup.js` (the banner
//! snippet), `POST /popup/decide`, `POST /popup/event`, `/line/callback`
//! (a stand-in for the LINE Login callback) and `POST /webhook` (LINE's
//! webhook, signature checked).

#[path = "popup_server/app.rs"]
mod app;

use std::sync::Arc;

use line_core::clock::SystemClock;
use line_core::ChannelSecret;
use line_popup::InMemoryStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("POPUP_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let secret = ChannelSecret::new(std::env::var("LINE_CHANNEL_SECRET").unwrap_or_else(|_| "demo-secret".into()));
    let state = app::demo_state(Arc::new(InMemoryStore::new()), Arc::new(SystemClock), &secret);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("demo shop on http://{}/", listener.local_addr()?);
    axum::serve(listener, app::router(state)).await?;
    Ok(())
}
