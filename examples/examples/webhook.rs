//! The webhook layer end to end, on a bundled sample request:
//! sign it as LINE would, verify the signature, parse the events, drop the
//! redelivered duplicate, and print the events as a table.
//!
//! Run it with `cargo run -p line-examples --example webhook`. With
//! `-- --store sqlite:PATH` the handled event ids are kept in that file: a second run
//! on it finds every event already seen.

use std::process::ExitCode;

use std::sync::Arc;

use line_core::clock::SystemClock;
use line_core::webhook::dedupe::Deduper;
use line_core::webhook::event::Source;
use line_core::webhook::{Event, WebhookVerifier};
use line_core::ChannelSecret;

/// A webhook request body as LINE would POST it (7 events, one of them a
/// redelivery, one of a type this SDK version does not know).
const BODY: &[u8] = include_bytes!("../data/webhook-sample.json");

/// A made-up channel secret. A real one comes from the LINE Developers console,
/// typically through the `LINE_CHANNEL_SECRET` environment variable.
const DEMO_SECRET: &str = "0123456789abcdef0123456789abcdef";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let stores = match line_examples::stores::from_args(std::env::args()) {
        Ok(url) => line_examples::stores::Stores::open(&url, "webhook_example_", Arc::new(SystemClock)).await,
        Err(e) => Err(e),
    };
    let stores = match stores {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let secret = ChannelSecret::new(DEMO_SECRET);
    let verifier = WebhookVerifier::new(&secret);

    // 1. LINE signs the raw body with the channel secret (x-line-signature).
    let signature = line_core::testing::sign(&secret, BODY);
    println!("x-line-signature: {signature}");

    // 2. The bot checks the signature over the exact bytes, then parses.
    let request = match verifier.verify_and_parse(BODY, Some(&signature)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("the sample did not verify: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("signature: valid ({} bytes)", BODY.len());

    // A single changed byte is caught.
    let mut tampered = BODY.to_vec();
    if let Some(b) = tampered.iter_mut().find(|b| **b == b'9') {
        *b = b'8';
    }
    match verifier.verify(&tampered, Some(&signature)) {
        Ok(()) => {
            eprintln!("a tampered body verified: this must not happen");
            return ExitCode::FAILURE;
        }
        Err(e) => println!("tampered copy: rejected ({e})"),
    }

    println!("destination: {}\n", request.destination.as_deref().unwrap_or("-"));
    print_table(&request.events);

    // 3. Drop events already handled (LINE redelivers when a bot answers late).
    println!("\nhandled event ids: {}", stores.url);
    let deduper = Deduper::new(stores.dedupe.clone());
    let total = request.events.len();
    match deduper.filter(request.events).await {
        Ok(fresh) => println!(
            "\ndedupe: {total} events in, {} to handle, {} already seen",
            fresh.len(),
            total - fresh.len()
        ),
        Err(e) => {
            eprintln!("dedupe failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Prints one row per event, columns padded to their widest cell.
fn print_table(events: &[Event]) {
    let header = ["#", "type", "known", "source", "webhookEventId", "redelivery"];
    let rows: Vec<[String; 6]> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            [
                i.to_string(),
                e.kind().to_owned(),
                if e.is_unknown() { "unknown" } else { "known" }.to_owned(),
                describe_source(e.source().as_deref()),
                e.webhook_event_id()
                    .map_or_else(|| "-".to_owned(), |id| id.into_owned()),
                match e.delivery_context() {
                    Some(c) if c.is_redelivery => "yes".to_owned(),
                    Some(_) => "no".to_owned(),
                    None => "-".to_owned(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&header.map(str::to_owned));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &rows {
        line(row);
    }
}

/// `user U4af49806…`, `group Ca56f9463… / U91eeaf62…`, `room …`, or `-`.
fn describe_source(source: Option<&Source>) -> String {
    let with_user = |place: String, user: Option<&line_core::UserId>| match user {
        Some(u) => format!("{place} / {}", short(u.as_str())),
        None => place,
    };
    match source {
        None => "-".to_owned(),
        Some(Source::User(u)) => match &u.user_id {
            Some(id) => format!("user {}", short(id.as_str())),
            None => "user".to_owned(),
        },
        Some(Source::Group(g)) => with_user(format!("group {}", short(g.group_id.as_str())), g.user_id.as_ref()),
        Some(Source::Room(r)) => with_user(format!("room {}", short(r.room_id.as_str())), r.user_id.as_ref()),
        Some(other) => format!("{} (unknown source type)", other.kind()),
    }
}

/// The first 9 characters of an ID and an ellipsis: enough to tell IDs apart in a table.
fn short(id: &str) -> String {
    match id.char_indices().nth(9) {
        Some((cut, _)) => format!("{}…", &id[..cut]),
        None => id.to_owned(),
    }
}
