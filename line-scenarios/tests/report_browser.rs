//! The HTML report in a real headless browser: Debian's `chromium` driven over WebDriver by
//! line-emulator's shared harness (`line_emulator::browser`, feature `browser`), as line-popup's
//! browser test is. The page is loaded from a file (it needs nothing else).
//!
//! With `CI` set, a missing chromedriver fails the test; without it the test is skipped with a
//! notice. `bash line-popup/ci-setup.sh` installs it.

use std::time::Duration;

use line_emulator::browser::fantoccini::Locator;
use line_emulator::browser::Browser;
use line_scenarios::insight::{LineCounts, LineStats};
use line_scenarios::stats::{self, Plan, Record};
use line_scenarios::{json, report};
use serde_json::json;

const SCENARIO: &str = r#"{"id": "cart", "name": "Cart <script>window.pwned = 1</script>",
  "trigger": {"event": {"name": "cart_updated"}},
  "steps": [
    {"id": "wait", "wait": {"for": "1h"}},
    {"id": "remind", "send": {"messages": [{"type": "text", "text": "Your cart"}]}},
    {"id": "tag", "act": {"add_tag": "carted"}},
    {"id": "wait2", "wait": {"for": "1d"}},
    {"id": "last <b>call</b>", "send": {"messages": [{"type": "text", "text": "Last call"}]}}],
  "goals": [{"event": "purchase", "revenue": "amount"}]}"#;

/// 40 entries; 38 reminders (2 over budget), 40 tags, 30 last calls; 6 clicks; 5 conversions.
fn records() -> Vec<Record> {
    let mut out = Vec::new();
    let mut push = |user: usize, step: Option<u16>, kind: serde_json::Value| {
        let mut v = json!({"at": "2026-05-15T01:00:00Z", "scenario": "cart", "user": format!("U{user}")});
        if let Some(s) = step {
            v["step"] = json!(s);
        }
        for (k, x) in kind.as_object().unwrap() {
            v[k] = x.clone();
        }
        out.push(Record::from_json(&v).unwrap());
    };
    for u in 0..40 {
        push(u, None, json!({"kind": "entered"}));
        if u < 38 {
            push(u, Some(1), json!({"kind": "sent", "messages": 1}));
        } else {
            push(u, Some(1), json!({"kind": "skipped", "reason": "budget"}));
        }
        push(u, Some(2), json!({"kind": "acted"}));
        if u < 30 {
            push(u, Some(4), json!({"kind": "sent", "messages": 1}));
        }
        if u < 6 {
            push(u, Some(1), json!({"kind": "clicked"}));
        }
        if u < 5 {
            push(u, Some(4), json!({"kind": "conversion", "revenue": 2400.0}));
            push(u, None, json!({"kind": "exited", "reason": "goal"}));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_page_shows_one_funnel_bar_per_step_matching_the_table() {
    let Some(browser) = Browser::start().await.expect("a headless Chromium") else {
        return; // skipped (a failure when CI is set)
    };
    let scenarios = vec![json::from_str(SCENARIO).unwrap()];
    let counts = stats::count(&records());
    let mut rows = stats::report(
        &scenarios,
        &|id| counts.get(id).cloned().unwrap_or_default(),
        &Plan::new(10, 3.0),
        0,
    );
    let mut line = LineStats::new();
    line.entry("cart".into())
        .or_default()
        .insert(1, LineCounts::new(Some(31), Some(22)));
    stats::merge_line_stats(&mut rows, &line);
    let page = report::render_html("Scenario report", &rows);
    let dir = std::env::temp_dir().join(format!("line-scenarios-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.html");
    std::fs::write(&file, &page).unwrap();

    let c = browser.client().clone();
    let result = async {
        c.goto(&format!("file://{}", file.display())).await.unwrap();
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("svg.funnel"))
            .await
            .expect("the funnel chart");

        // The name is text, not markup: no script ran, and it reads as written.
        assert_eq!(
            c.execute("return window.pwned === undefined;", vec![]).await.unwrap(),
            json!(true)
        );
        let h2 = c.find(Locator::Css("section h2")).await.unwrap().text().await.unwrap();
        assert_eq!(h2, "Cart <script>window.pwned = 1</script> (cart)");

        // One bar per step row (remind, tag, last call), between entered and conversions.
        let bars = c
            .execute(
                "return [...document.querySelectorAll('svg.funnel rect.bar')].map(b => ({
                    kind: b.dataset.kind, step: b.dataset.step || null,
                    count: Number(b.dataset.count), width: b.getBBox().width}));",
                vec![],
            )
            .await
            .unwrap();
        let bars = bars.as_array().unwrap();
        let kinds: Vec<&str> = bars.iter().map(|b| b["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["entered", "step", "step", "step", "conversions"]);
        let steps: Vec<(&str, u64)> = bars[1..4]
            .iter()
            .map(|b| (b["step"].as_str().unwrap(), b["count"].as_u64().unwrap()))
            .collect();
        assert_eq!(steps, [("remind", 38), ("tag", 40), ("last <b>call</b>", 30)]);
        assert_eq!(bars[0]["count"], json!(40));
        assert_eq!(bars[4]["count"], json!(5));
        // Drawn to scale: widths follow the counts.
        let w = |i: usize| bars[i]["width"].as_f64().unwrap();
        assert!((w(1) / w(0) - 38.0 / 40.0).abs() < 0.01, "{} / {}", w(1), w(0));
        assert!((w(4) / w(0) - 5.0 / 40.0).abs() < 0.01);

        // The table's numbers match the chart and the records.
        let cell = |step: &str, col: &str| {
            let c = c.clone();
            let script = "const [step, col] = arguments;
                const row = [...document.querySelectorAll('tbody tr')].find(r => r.dataset.step === step);
                return row ? row.querySelector(`td[data-col=\"${col}\"]`).textContent : null;"
                .to_owned();
            let args = vec![json!(step), json!(col)];
            async move { c.execute(&script, args).await.unwrap() }
        };
        for (step, bar) in steps {
            let col = if step == "tag" { None } else { Some("sent") };
            if let Some(col) = col {
                assert_eq!(cell(step, col).await, json!(bar.to_string()), "{step}");
            }
        }
        assert_eq!(cell("(all)", "entered").await, json!("40"));
        assert_eq!(cell("(all)", "conversions").await, json!("5"));
        assert_eq!(cell("(all)", "goal_exits").await, json!("5"));
        assert_eq!(cell("(all)", "revenue").await, json!("¥12,000"));
        assert_eq!(cell("remind", "skipped").await, json!("2 budget"));
        assert_eq!(cell("remind", "clicks").await, json!("6"));
        assert_eq!(cell("remind", "line_opens").await, json!("31"));
        assert_eq!(cell("remind", "line_clicks").await, json!("22"));
        assert_eq!(cell("last <b>call</b>", "line_opens").await, json!("-"));
        // 68 sends, the first 10 free: the reminders pay for 28 (¥84), the last calls for 30 (¥90).
        assert_eq!(cell("remind", "cost").await, json!("¥84"));
        assert_eq!(cell("last <b>call</b>", "cost").await, json!("¥90"));
        assert_eq!(cell("last <b>call</b>", "cvr").await, json!("16.7%"));
        assert_eq!(cell("(all)", "roas").await, json!("6896.6%"));
        let rows = c.find_all(Locator::Css("tbody tr")).await.unwrap().len();
        assert_eq!(rows, 4, "a total row and three step rows");
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    browser.close().await.unwrap();
    result
}
