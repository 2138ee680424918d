//! The tour runs end to end on the emulator and ends with the expected totals.
//!
//! The expectations follow from the tour's data, worked out by hand:
//! - 120 existing friends: friend `i` is a woman when `i` is even, likes
//!   cosmetics unless `i % 3 == 0` (80 do), is linked when `i % 4 == 0` (30),
//!   and spent `(i % 10) * 5000 + 2000` yen 60 days ago (24 spent ¥42,000 or ¥47,000).
//! - 10 visitors: visitors 1, 4 and 7 add the account through the popup;
//!   0, 3, 6 and 9 dismiss it; 2, 5 and 8 ignore it (and see it once more on
//!   day 2, then the lifetime cap of 2 hides it).
//! - 2 more friends come from a QR code. Visitors 1 and 4 and QR friend Emi
//!   answer "cosmetics"; visitors 1 and 7 and Emi are women.

use line_examples::tour::{run, TourOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tour_ends_with_the_expected_totals() {
    let mut out = Vec::new();
    let totals = match run(&mut out, &TourOptions::default()).await {
        Ok(t) => t,
        Err(e) => panic!(
            "the tour failed: {e}\n--- output ---\n{}",
            String::from_utf8_lossy(&out)
        ),
    };
    let text = String::from_utf8(out).expect("the output is UTF-8");

    // 1. Popups: 10 visitors, 3 + 1 + 1 page views each.
    assert_eq!(totals.visitors, 10);
    assert_eq!(totals.page_views, 50);
    // 10 on day 1, then the 3 who ignored it once more on day 2.
    assert_eq!(totals.popups_shown, 13);
    // Day 1: 8 (dismiss cool-down) + 6 (per session); days 2 and 3: 4 + 4
    // (cool-down) and 3 (lifetime). The converted visitors are hidden by targeting.
    assert_eq!(totals.hidden_by_cap, 25);
    assert_eq!(totals.popup_friends, 3);
    assert_eq!(totals.new_friends, 5);
    assert!((totals.popup_share_percent() - 60.0).abs() < 1e-9);

    // 3. Account links: 30 linked before, 2 during the tour, of 125 friends.
    assert_eq!(totals.account_links, 2);
    assert_eq!(totals.friends, 125);
    assert_eq!(totals.linked, 32);
    assert!((totals.link_rate_percent() - 25.6).abs() < 1e-9);

    // 4. Campaign: 80 + 3 cosmetics fans uploaded; LINE's filter keeps the
    // 40 women among the 80 (i % 6 in {2, 4}) and 2 of the 3 new ones.
    assert_eq!(totals.campaign_audience, 83);
    assert_eq!(totals.campaign_delivered, 42);

    // 5. Tier pushes: 12 at ¥42,000 and 12 at ¥47,000.
    assert_eq!(totals.tier_pushes, 24);

    // 6. Messages: 5 × (greeting + survey) + 5 thanks + 2 link confirmations
    // (replies, free) + 42 + 24 (counted against the quota).
    assert_eq!(totals.messages_delivered, 10 + 5 + 2 + 42 + 24);
    assert_eq!(totals.quota_used, 42 + 24);

    // 8. Notification messages: Hana's is delivered by LINE, Kenji's number has no
    // LINE account (422), so his notice goes by SMS. Nothing goes both ways.
    assert_eq!(totals.notices.delivered, 1);
    assert_eq!(totals.notices.sms_sent, 1);
    assert_eq!(totals.notices.total(), 2);
    assert_eq!((totals.notices.failed, totals.notices.late_deliveries), (0, 0));

    // The output is the readable account: every heading, the checks, the report.
    for heading in [
        "0. Setup",
        "1. Site popups",
        "2. Follow",
        "3. Account link",
        "4. Segment campaign",
        "5. Personalized pushes",
        "6. Report",
        "8. Notification messages",
    ] {
        assert!(text.contains(heading), "missing heading {heading:?}");
    }
    assert!(text.contains("hidden (cap lifetime)"), "a lifetime cap is visible");
    assert!(text.contains("hidden (cap session)"), "a per-session cap is visible");
    assert!(text.contains("Checked on the emulator: 42 of 83"));
    assert!(text.contains("¥8,000 more to reach REINE"));
    assert!(text.contains("link rate      25.6% (32 of 125 friends linked)"));
    assert!(text.contains("Totals: 1 delivered by LINE, 1 by SMS, 0 failed; 1 SMS sent, none twice"));
    assert!(text.contains("SMS: LINE answered 422"));
    // No phone number of the step is printed.
    for digits in ["12340001", "55550002", "1234-0001", "5555-0002"] {
        assert!(!text.contains(digits), "a phone number was printed");
    }
}

/// The same tour with every host store in one SQLite file: the same totals, and the
/// stores' tables are in the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tour_on_a_sqlite_file_ends_with_the_same_totals() {
    use line_examples::stores::StoreUrl;

    let dir = std::env::temp_dir().join(format!("line-tour-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tour.sqlite");
    let mut out = Vec::new();
    let memory = run(&mut Vec::new(), &TourOptions::default())
        .await
        .expect("the tour in memory");
    let sqlite = match run(
        &mut out,
        &TourOptions::default().with_store(StoreUrl::Sqlite(file.clone())),
    )
    .await
    {
        Ok(t) => t,
        Err(e) => panic!("the tour on SQLite failed: {e}\n{}", String::from_utf8_lossy(&out)),
    };
    assert_eq!(sqlite, memory);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(&format!("SQLite file {}", file.display())), "{text}");
    // The stores kept their rows in the file.
    let conn = rusqlite::Connection::open(&file).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'tour\\_%' ESCAPE '\\'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for suffix in ["_dedupe", "_popup_stat", "_richmenu_menu", "_ledger", "_enrollments"] {
        let table = tables
            .iter()
            .find(|t| t.ends_with(suffix))
            .unwrap_or_else(|| panic!("no table *{suffix} in the file: {tables:?}"));
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert!(rows > 0, "{table} is empty");
    }
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}
