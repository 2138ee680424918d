//! Rich menus by link status, on the emulator: deploy a `guest` and a
//! `member` menu, put every user on the menu the policy gives them, switch one
//! user when their member ID is linked, and show that a second deploy writes nothing.
//!
//! ```sh
//! cargo run -p line-examples --example richmenu_by_link
//! ```
//!
//! `-- --store sqlite:PATH` (or `postgres://…`) keeps the menu records, assignments,
//! journal and user directory in that database.

use std::sync::Arc;

use line_core::clock::SystemClock;
use line_core::webhook::Event;
use line_emulator::{Emulator, UserSpec};
use line_richmenu::store::UserContext;
use line_richmenu::{Condition, EventHandler, Policy, RichMenus};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = line_examples::stores::from_args(std::env::args())?;
    let prefix = line_examples::stores::run_prefix(&store, "richmenu_by_link");
    let stores = line_examples::stores::Stores::open(&store, &prefix, Arc::new(SystemClock)).await?;
    println!("stores: {}", stores.url);
    let emu = Emulator::start().await?;
    let client = emu.client_builder().build()?;
    let rm = RichMenus::new(client, stores.menus.clone(), stores.assignments.clone());
    let set = line_examples::tour::menu_set()?;
    let deploy = rm.deploy(&set).await?;
    println!("deployed: {:?}", deploy.live.keys().collect::<Vec<_>>());

    // Six users, two of them linked.
    let policy = Arc::new(Policy::new("guest").rule("members", Condition::Linked(true), "member"));
    let directory = stores.directory.clone();
    let mut users = Vec::new();
    for i in 0..6 {
        let id = emu.add_user(UserSpec::new(format!("user {i}")));
        let ctx = UserContext::new(id.clone()).linked(i < 2);
        directory.put(ctx.clone()).await?;
        users.push(ctx);
    }
    let report = rm.reconcile(&policy, users.clone()).await?;
    println!(
        "reconcile: moved {:?} with {} bulk link calls",
        report.moved, report.calls.bulk_link
    );

    // User 5 links their member ID: LINE sends an accountLink event.
    let handler = EventHandler::new(rm.clone(), policy.clone(), directory);
    let who = users[5].user_id.clone();
    let event: Event = serde_json::from_value(serde_json::json!({
        "type": "accountLink", "mode": "active", "timestamp": 0, "replyToken": "r",
        "source": {"type": "user", "userId": who.as_str()},
        "link": {"result": "ok", "nonce": "n0nce-from-your-site"}
    }))?;
    let change = handler.handle(&event).await?.ok_or("the link changed nothing")?;
    let key = |a: Option<&line_richmenu::store::Assignment>| a.and_then(|a| a.key()).unwrap_or("none").to_owned();
    println!(
        "{who}: {} -> {} ({:?})",
        key(change.from.as_ref()),
        key(change.to.as_ref()),
        change.reason
    );
    let on_line = emu.rich_menu_of(&who);
    let live = deploy
        .live
        .iter()
        .find(|(_, id)| Some(id.as_str()) == on_line.as_deref());
    println!("now on LINE: {}", live.map_or("none", |(k, _)| k.as_str()));

    // Deploying the same set again changes nothing.
    let again = rm.deploy(&set).await?;
    println!("second deploy: {} writes", again.writes());
    Ok(())
}
