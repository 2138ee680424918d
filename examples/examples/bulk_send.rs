//! A campaign sent by two accounts, each on an emulator of its own: the dry
//! run, the approval, the send, the report per account, and a second run of
//! the same campaign that resumes and sends nothing twice.
//!
//! ```sh
//! cargo run -p line-examples --example bulk_send
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use line_accounts::bulk::{Campaign, DryRunOptions, InMemoryBulkStore, SendOptions, YenLimit};
use line_accounts::{Account, Accounts, BotUserId, ChannelId, InMemoryRegistry, MessagePlan, Settings, TokenConfig};
use line_core::model::TextMessage;
use line_emulator::{Emulator, EmulatorConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Two stores, two LINE Official Accounts; each emulator keeps its own friends.
    let shibuya_emu = Emulator::start_with(EmulatorConfig::new().seed(1).friends(3)).await?;
    let osaka_emu = Emulator::start_with(EmulatorConfig::new().seed(2).friends(700)).await?;
    let shibuya = ChannelId::new("1650000001")?;
    let osaka = ChannelId::new("1650000002")?;
    let urls = HashMap::from([
        (shibuya.clone(), shibuya_emu.base_url().to_owned()),
        (osaka.clone(), osaka_emu.base_url().to_owned()),
    ]);
    let accounts = Accounts::builder(Arc::new(InMemoryRegistry::new()))
        .configure_clients(move |b, account| b.base_url(urls[&account.channel_id].clone()))
        .build()?;
    for (id, bot, secret) in [
        (
            &shibuya,
            "U1111111111111111111111111111111a",
            "00112233445566778899aabbccddeeff",
        ),
        (
            &osaka,
            "U2222222222222222222222222222222b",
            "ffeeddccbbaa99887766554433221100",
        ),
    ] {
        let settings = Settings::new("Asia/Tokyo", MessagePlan::new(500, Some(3.0))?)?;
        let token = TokenConfig::Static("long-lived-token".into());
        accounts
            .add(Account::new(
                id.clone(),
                BotUserId::new(bot)?,
                secret.into(),
                token,
                settings,
            )?)
            .await?;
    }

    let campaign = Campaign::new(vec![TextMessage::new("Autumn sale starts now").into()])?
        .to_users(shibuya.clone(), shibuya_emu.follower_ids())?
        .to_users(osaka.clone(), osaka_emu.follower_ids())?;

    // Dry run: recipients, quota and cost per account.
    let dry = campaign.dry_run(&accounts, &DryRunOptions::new()).await;
    for a in &dry.accounts {
        let cost = a.cost.and_then(|c| c.yen).unwrap_or(0.0);
        println!("{}: {} recipients, {cost} yen", a.channel_id, a.recipients);
    }
    // Approve accounts whose send costs at most 1,000 yen (Osaka's 200 paid messages cost 600).
    let approval = dry.approve(&YenLimit { max_yen: 1_000.0 }).await?;
    let options = SendOptions::new();
    let plan = campaign.plan(&dry, &approval, &options);

    // Send. A SQLite file (line_accounts::sqlite::SqliteBulkStore) would survive a restart.
    let store = InMemoryBulkStore::new();
    let report = campaign.send(&accounts, &store, "autumn-sale", &plan, &options).await?;
    for a in &report.accounts {
        println!(
            "{}: {} ({} sent in {} requests, {} failed)",
            a.channel_id,
            a.status(),
            a.sent,
            a.request_ids.len(),
            a.failed_recipients
        );
    }
    let t = report.totals;
    println!("total: {} of {} recipients sent", t.sent, t.recipients);
    assert!(report.is_complete());
    assert_eq!(t.sent, 703);
    // Osaka's 700 users went out in two multicasts (500 + 200).
    assert_eq!(report.get(&osaka).map(|a| a.request_ids.len()), Some(2));

    // Running the same run again (as after a crash) sends nothing twice.
    let again = campaign.resume(&accounts, &store, "autumn-sale", &options).await?;
    assert!(again.is_complete());
    for emu in [&shibuya_emu, &osaka_emu] {
        for user in emu.follower_ids() {
            assert_eq!(emu.messages(&user).len(), 1, "every user got exactly one message");
        }
    }
    println!("resumed: nothing sent twice");
    Ok(())
}
