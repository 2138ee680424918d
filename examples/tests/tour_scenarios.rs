//! Step 7 of the tour (system deliveries) ends with the expected totals.
//!
//! Worked out by hand from `tour_scenarios`: friends 1 to 6 (Friend 001 … 006) add an item to
//! the cart; Friend 002 (¥4,800) and Friend 005 (¥12,000) buy within the hour, so 4 reminders go
//! out an hour after the carts; Friend 003 buys two hours after the reminder (¥8,900), a
//! conversion of the reminder. Friends 7, 8 and 9 have their birthday this month in Tokyo and
//! get one coupon each; a second check the next day sends none.

use line_examples::tour::{run, TourOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tour_runs_the_cart_and_birthday_scenarios() {
    let mut out = Vec::new();
    let totals = match run(&mut out, &TourOptions::default()).await {
        Ok(t) => t,
        Err(e) => panic!(
            "the tour failed: {e}\n--- output ---\n{}",
            String::from_utf8_lossy(&out)
        ),
    };
    let text = String::from_utf8(out).expect("the output is UTF-8");
    let s = &totals.scenarios;
    assert_eq!(s.cart_entered, 6);
    assert_eq!(s.cart_reminders, 4);
    assert_eq!(s.cart_conversions, 3);
    assert_eq!(s.cart_revenue, 4_800 + 12_000 + 8_900);
    assert_eq!(s.reminder_conversions, 1);
    assert_eq!(s.birthday_coupons, 3);
    assert_eq!(
        s.messages_delivered,
        4 + 3,
        "the emulator got the reminders and coupons, nothing twice"
    );
    assert!(text.contains("7. System deliveries"), "{text}");
    assert!(
        text.contains("cart: 6 entered, 4 reminders, 3 purchases (¥25,700); birthday coupons: 3"),
        "{text}"
    );
}
