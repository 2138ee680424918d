//! An echo bot: an axum webhook that verifies LINE's signature and replies
//! with the user's own text.
//!
//! ```sh
//! cargo run -p line-examples --example echo_bot            # demo on the emulator
//! LINE_CHANNEL_SECRET=… LINE_CHANNEL_ACCESS_TOKEN=… \
//!   cargo run -p line-examples --example echo_bot -- --serve   # real bot on 127.0.0.1:3000/callback
//! ```
//!
//! Without `--serve`, the bot listens on a free port, an emulator sends it a
//! signed `message` webhook from a simulated user, and the reply is read back
//! from the emulator's inbox.

use std::process::ExitCode;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use line_core::client::Client;
use line_core::model::{ReplyMessageRequest, TextMessage};
use line_core::webhook::axum::VerifiedEvents;
use line_core::webhook::event::MessageContent;
use line_core::webhook::{Event, WebhookVerifier};
use line_core::ChannelSecret;
use line_emulator::{Emulator, EmulatorConfig};

#[derive(Clone)]
struct App {
    client: Client,
    verifier: WebhookVerifier,
}

impl FromRef<App> for WebhookVerifier {
    fn from_ref(app: &App) -> Self {
        app.verifier.clone()
    }
}

/// Replies to every text message with the same text. A failed reply answers
/// 500 so that LINE redelivers; the error never includes the token.
async fn callback(State(app): State<App>, VerifiedEvents(request): VerifiedEvents) -> StatusCode {
    for event in &request.events {
        let Event::Message(m) = event else { continue };
        let (MessageContent::Text(text), Some(token)) = (&m.message, &m.reply_token) else {
            continue;
        };
        let reply = ReplyMessageRequest::new(token, vec![TextMessage::new(&text.text).into()]);
        if let Err(e) = app.client.reply_message(&reply).await {
            eprintln!("reply failed: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    StatusCode::OK
}

fn router(client: Client, secret: &ChannelSecret) -> Router {
    let app = App {
        client,
        verifier: WebhookVerifier::new(secret),
    };
    Router::new().route("/callback", post(callback)).with_state(app)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let result = if std::env::args().any(|a| a == "--serve") {
        serve().await
    } else {
        demo().await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let env = line_examples::live::LiveEnv::from_env()?;
    let client = Client::new(env.token.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("echo bot on http://{}/callback", listener.local_addr()?);
    axum::serve(listener, router(client, &env.secret)).await?;
    Ok(())
}

async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/callback", listener.local_addr()?);
    let emu = Emulator::start_with(EmulatorConfig::new().webhook_url(&url)).await?;
    let client = emu.client_builder().build()?;
    let app = router(client, emu.channel_secret());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let user = emu.add_user(line_emulator::UserSpec::new("Aoi"));
    let delivery = emu.send_text(&user, "こんにちは, echo!").await?;
    println!("webhook to {url}: HTTP {:?}", delivery.status);
    for m in emu.messages(&user) {
        println!(
            "Aoi received ({}): {}",
            m.operation,
            serde_json::to_string(&*m.message)?
        );
    }
    if emu.messages(&user).len() != 1 {
        return Err("the echo did not arrive".into());
    }
    Ok(())
}
