//! A segment campaign on the emulator: profiles in the JSON Lines format, a
//! segment in the text syntax, a plan (narrowcast or multicast), a dry run,
//! the send by line-segments' executor, and the delivery read back.
//!
//! ```sh
//! cargo run -p line-examples --example campaign
//! cargo run -p line-examples --example campaign -- 'count(purchase, 90d) >= 1 and is_friend'
//! ```

use line_core::model::{Message, MulticastRequest, NarrowcastRequest, TextMessage};
use line_emulator::{Emulator, UserSpec};
use line_segments::execute::{Checkpoint, Executor};
use line_segments::narrowcast::{plan_profiles, Plan, PlanOptions};
use line_segments::profile::parse_jsonl;

/// The host's profiles (see docs/segments.md for the format). `{U0}`… are
/// replaced by the emulator's user ids.
const PROFILES: &str = r#"
{"id": "{U0}", "attributes": {"vip": true},  "line": {"is_friend": true},  "events": [{"name": "purchase", "at": "2026-05-01T10:00:00Z", "props": {"amount": 5000}}]}
{"id": "{U1}", "attributes": {"vip": false}, "line": {"is_friend": true},  "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z", "props": {"amount": 1200}}]}
{"id": "{U2}", "attributes": {"vip": true},  "line": {"is_friend": true},  "events": []}
{"id": "{U3}", "attributes": {"vip": true},  "line": {"is_friend": false}, "events": [{"name": "purchase", "at": "2026-05-10T10:00:00Z", "props": {"amount": 9000}}]}
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "vip and is_friend and count(purchase, 90d) >= 1".to_owned());
    let emu = Emulator::start().await?;
    let client = emu.client_builder().build()?;
    let mut jsonl = PROFILES.to_owned();
    let mut ids = Vec::new();
    for i in 0..4 {
        let id = emu.add_user(UserSpec::new(format!("customer {i}")));
        jsonl = jsonl.replace(&format!("{{U{i}}}"), id.as_str());
        ids.push(id);
    }
    let profiles = parse_jsonl(&jsonl, None)?;
    let segment = line_segments::text::parse(&text)?;
    let now: jiff::Timestamp = "2026-05-15T00:00:00Z".parse()?;
    let plan = plan_profiles(&segment, &profiles, now, &PlanOptions::default())?;
    println!("segment: {text}");
    println!("plan: {}", serde_json::to_string_pretty(&plan)?);

    let messages: Vec<Message> = vec![TextMessage::new("VIP week: double points until Sunday").into()];
    // A dry run first: LINE validates the messages, nothing is sent.
    match &plan {
        Plan::Multicast(m) if m.user_ids.is_empty() => {
            println!("nobody is in the segment: nothing to send");
            return Ok(());
        }
        Plan::Multicast(m) => {
            client
                .dry_run()
                .multicast(&MulticastRequest::new(messages.clone(), m.user_ids.clone()))
                .await?;
        }
        Plan::Narrowcast(_) => {
            client
                .dry_run()
                .narrowcast(&NarrowcastRequest::new(messages.clone()))
                .await?;
        }
    }
    println!("dry run: LINE accepts the messages");
    // The executor uploads an audience when the plan has one, sends, and waits for the result.
    let report = Executor::new(client)
        .execute(&plan, &messages, &mut Checkpoint::new())
        .await?;
    println!("sent: {} users reached", report.reached());
    for (i, id) in ids.iter().enumerate() {
        println!("customer {i}: {} message(s)", emu.messages(id).len());
    }
    Ok(())
}
