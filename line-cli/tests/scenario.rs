//! `linectl scenario`: check, simulate and report on files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn linectl(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_linectl"))
        .args(args)
        .output()
        .expect("linectl runs");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "linectl panicked"
    );
    out
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("linectl-scn-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const SCENARIOS: &str = r#"[
  {"id": "cart", "priority": 10, "trigger": {"event": {"name": "cart_updated"}},
   "steps": [
     {"id": "wait", "wait": {"for": "1h"}},
     {"id": "bought", "if": {"event_since_entry": {"name": "purchase"}}, "then": "end", "else": "remind"},
     {"id": "remind", "send": {"flex": {"alt_text": "{item} is in your cart", "contents": {"type": "bubble",
       "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "{item} is in your cart"}]}},
       "vars": {"item": {"event": "item"}}}}},
     {"id": "end", "exit": {}}],
   "goals": [{"event": "purchase", "revenue": "amount"}]},
  {"id": "promo", "trigger": {"event": {"name": "cart_updated"}},
   "steps": [{"id": "wait", "wait": {"for": "1h"}}, {"id": "offer", "send": {"messages": [{"type": "text", "text": "10% off"}]}}]}
]"#;

const PROFILES: &str = r#"{"id": "Ua", "attributes": {"nickname": "Aoi"}}
{"id": "Ub"}
"#;

const EVENTS: &str = r#"# Aoi leaves a cart at 10:00 JST; Ren buys within the hour.
{"at": "2026-05-15T01:00:00Z", "user": "Ua", "event": "cart_updated", "props": {"item": "Face cream"}}
{"at": "2026-05-15T12:30:00Z", "user": "Ub", "event": "cart_updated", "props": {"item": "Lip balm"}}
{"at": "2026-05-15T12:50:00Z", "user": "Ub", "event": "purchase", "props": {"amount": 2400}}
"#;

#[test]
fn check_prints_ok_or_each_problem_with_step_and_pointer() {
    let d = dir("check");
    let ok = write(&d, "ok.json", SCENARIOS);
    let out = linectl(&["scenario", "check", &ok]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok (2 scenario(s))"));

    let bad = write(
        &d,
        "bad.json",
        r#"{"id": "x", "trigger": {"follow": {}}, "steps": [
          {"id": "a", "wait": {"for": "10s"}, "next": "b"},
          {"id": "b", "if": {"event_since_entry": {"name": "purchase"}}, "then": "a", "else": "nowhere"}]}"#,
    );
    let out = linectl(&["scenario", "check", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("scenario `x`: step `a` at /steps/0/wait/for: a wait of 10s is shorter"),
        "{err}"
    );
    assert!(
        err.contains("step `b` at /steps/1/else: unknown step `nowhere`"),
        "{err}"
    );

    let shape = write(
        &d,
        "shape.json",
        r#"{"id": "x", "trigger": {"follow": {}}, "steps": [{"id": "a", "sned": {}}]}"#,
    );
    let out = linectl(&["scenario", "check", &shape]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/steps/0/sned"), "{}", text(&out.stderr));

    let schema = write(
        &d,
        "schema.json",
        r#"{"attributes": {"points": "number"}, "events": {"cart_updated": {}, "purchase": {"amount": "number"}}}"#,
    );
    let out = linectl(&["scenario", "check", &ok, "--schema", &schema]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn unreadable_input_exits_2() {
    let d = dir("unreadable");
    let out = linectl(&["scenario", "check", d.join("missing.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let not_json = write(&d, "x.json", "{ not json");
    let out = linectl(&["scenario", "check", &not_json]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 1"), "{}", text(&out.stderr));
    let ok = write(&d, "ok.json", SCENARIOS);
    let p = write(&d, "p.jsonl", PROFILES);
    let e = write(
        &d,
        "e.jsonl",
        "{\"at\": \"yesterday\", \"user\": \"Ua\", \"event\": \"x\"}\n",
    );
    let out = linectl(&["scenario", "simulate", &ok, "--profiles", &p, "--events", &e]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 1: /at"), "{}", text(&out.stderr));
}

#[test]
fn simulate_shows_sends_hold_backs_and_cost_and_report_reads_the_records() {
    let d = dir("simulate");
    let s = write(&d, "s.json", SCENARIOS);
    let p = write(&d, "p.jsonl", PROFILES);
    let e = write(&d, "e.jsonl", EVENTS);
    let records = d.join("records.jsonl");
    let out = linectl(&[
        "scenario",
        "simulate",
        &s,
        "--profiles",
        &p,
        "--events",
        &e,
        "--budget",
        "1",
        "--quiet-hours",
        "21:00-09:00",
        "--free",
        "1",
        "--yen",
        "3",
        "--records-out",
        records.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    // Aoi: the cart reminder at 11:00 JST takes the one weekly slot; the promo is held back.
    assert!(o.contains("2026-05-15T02:00:00Z\tUa\tcart\tremind\tsent"), "{o}");
    assert!(
        o.contains("2026-05-15T02:00:00Z\tUa\tpromo\toffer\theld back: budget"),
        "{o}"
    );
    // Ren: carted at 21:30 JST, bought at 21:50: a conversion, no reminder; the promo is due at
    // 22:30 JST, in quiet hours, and deferred to 09:00.
    assert!(o.contains("Ub\tcart\t-\tconversion ¥2,400"), "{o}");
    assert!(
        o.contains("Ub\tpromo\toffer\tdeferred by quiet hours until 2026-05-16T00:00:00Z"),
        "{o}"
    );
    assert!(o.contains("2026-05-16T00:00:00Z\tUb\tpromo\toffer\tsent"), "{o}");
    assert!(o.contains("2 message(s) would be sent, costing ¥3"), "{o}");

    let out = linectl(&[
        "scenario",
        "report",
        &s,
        "--records",
        records.to_str().unwrap(),
        "--free",
        "1",
        "--yen",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let cart = table
        .lines()
        .find(|l| l.starts_with("cart ") && l.contains("(all)"))
        .expect("a cart row");
    assert!(cart.contains("¥2,400"), "{table}");
    let header = table.lines().next().unwrap();
    for col in ["entered", "sent", "skipped", "conv", "revenue", "cost", "CVR", "ROAS"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(table.contains("1 budget"), "{table}");
}

#[test]
fn report_writes_a_self_contained_html_page_with_line_counts_and_escapes_names() {
    let d = dir("html");
    let s = write(
        &d,
        "s.json",
        r#"{"id": "cart", "name": "<script>window.pwned = 1</script> & co", "trigger": {"event": {"name": "cart_updated"}},
           "steps": [{"id": "wait", "wait": {"for": "1h"}},
                     {"id": "<img src=x onerror=alert(1)>", "send": {"messages": [{"type": "text", "text": "hi"}]}}],
           "goals": [{"event": "purchase", "revenue": "amount"}]}"#,
    );
    let mut records = String::new();
    for (i, user) in ["U1", "U2", "U3"].iter().enumerate() {
        records.push_str(&format!(
            "{{\"at\": \"2026-05-15T01:00:00Z\", \"scenario\": \"cart\", \"user\": \"{user}\", \"kind\": \"entered\"}}\n"
        ));
        records.push_str(&format!(
            "{{\"at\": \"2026-05-15T02:00:00Z\", \"scenario\": \"cart\", \"user\": \"{user}\", \"step\": 1, \"kind\": \"sent\", \"messages\": 1}}\n"
        ));
        if i == 0 {
            records.push_str(&format!(
                "{{\"at\": \"2026-05-15T02:10:00Z\", \"scenario\": \"cart\", \"user\": \"{user}\", \"step\": 1, \"kind\": \"clicked\"}}\n"
            ));
        }
    }
    let r = write(&d, "r.jsonl", &records);
    let unit = line_scenarios::insight::unit_name("cart", "<img src=x onerror=alert(1)>");
    let line = write(
        &d,
        "line.json",
        &format!(
            r#"{{"{unit}": {{"overview": {{"uniqueImpression": 25, "uniqueClick": null}}, "messages": [], "clicks": []}}}}"#
        ),
    );
    let html = d.join("report.html");
    let out = linectl(&[
        "scenario",
        "report",
        &s,
        "--records",
        &r,
        "--line-stats",
        &line,
        "--html",
        html.to_str().unwrap(),
        "--title",
        "May <b>report</b>",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let header = table.lines().next().unwrap();
    for col in ["clicks", "LINE opens", "LINE clicks"] {
        assert!(header.contains(col), "{header}");
    }
    let step = table.lines().find(|l| l.contains("onerror")).expect("the step row");
    assert!(step.contains(" 25 "), "LINE's opens on the step row: {step}");

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("<script"), "no script, and the name's is escaped");
    assert!(!page.contains("<img"), "the step id is escaped");
    assert!(!page.contains("<b>"), "the title is escaped");
    assert!(page.contains("&lt;script&gt;window.pwned = 1&lt;/script&gt; &amp; co (cart)"));
    assert!(page.contains("<svg class=\"funnel\""));
    for external in ["<link", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!page.contains(external), "self-contained: {external}");
    }
    assert!(page.contains("data-col=\"line_opens\">25<"), "LINE's opens on the page");
    assert!(page.contains("data-col=\"clicks\">1<"), "tracked clicks on the page");

    let bad = write(&d, "bad.json", r#"{"x": {"overview": 3}}"#);
    let out = linectl(&["scenario", "report", &s, "--records", &r, "--line-stats", &bad]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "units of no step are left out: {}",
        text(&out.stderr)
    );
    let bad = write(&d, "bad2.json", &format!(r#"{{"{unit}": {{"overview": 3}}}}"#));
    let out = linectl(&["scenario", "report", &s, "--records", &r, "--line-stats", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(&unit), "{}", text(&out.stderr));
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scenario-sources")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn simulate_greets_each_follow_with_its_sources_greeting_and_counts_per_source() {
    let out = linectl(&[
        "scenario",
        "simulate",
        &fixture("scenarios.json"),
        "--profiles",
        &fixture("profiles.jsonl"),
        "--events",
        &fixture("events.jsonl"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    // Each store's QR code gets that store's greeting, and only that one.
    assert!(
        o.contains("2026-05-15T01:00:00Z\tUa\tgreet_shibuya\thello\tsent"),
        "{o}"
    );
    assert!(o.contains("2026-05-15T01:10:00Z\tUb\tgreet_umeda\thello\tsent"), "{o}");
    assert!(
        !o.contains("Ua\tgreet_umeda") && !o.contains("Ua\tgreet_default"),
        "{o}"
    );
    assert!(
        !o.contains("Ub\tgreet_shibuya") && !o.contains("Ub\tgreet_default"),
        "{o}"
    );
    // A source no scenario greets gets no greeting (it is not `none`); no tracked link: the default.
    assert!(!o.contains("\tUc\tgreet_"), "{o}");
    assert!(
        o.contains("2026-05-15T01:30:00Z\tUd\tgreet_default\thello\tsent"),
        "{o}"
    );
    assert!(o.contains("3 message(s) would be sent"), "{o}");
    // Counts per source: one friend each; Umeda's friend blocked.
    let table = o.split("Friend sources:").nth(1).expect("a friend-source table");
    let row = |code: &str| -> Vec<String> {
        table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(code))
            .unwrap_or_else(|| panic!("a row for {code}: {table}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    // source, name, visits, friends, blocks, …
    assert_eq!(row("store_shibuya")[2..5], ["1", "1", "0"], "{table}");
    assert_eq!(row("store_umeda")[2..5], ["1", "1", "1"], "{table}");
    assert_eq!(row("flyer_may")[2..5], ["1", "1", "0"], "{table}");
}

#[test]
fn a_source_on_an_event_other_than_a_follow_is_an_error_with_its_pointer() {
    let d = dir("source-bad");
    let e = write(
        &d,
        "e.jsonl",
        "{\"at\": \"2026-05-15T01:00:00Z\", \"user\": \"Ua\", \"event\": \"purchase\", \"source\": \"store_shibuya\"}\n",
    );
    let args = |events: &str| {
        linectl(&[
            "scenario",
            "simulate",
            &fixture("scenarios.json"),
            "--profiles",
            &fixture("profiles.jsonl"),
            "--events",
            events,
        ])
    };
    let out = args(&e);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 1: /source: only a follow has a source"),
        "{}",
        text(&out.stderr)
    );
    let e = write(
        &d,
        "e2.jsonl",
        "{\"at\": \"2026-05-15T01:00:00Z\", \"user\": \"Ua\", \"webhook\": \"follow\", \"source\": \"Store Shibuya\"}\n",
    );
    let out = args(&e);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 1: /source: invalid source code"),
        "{}",
        text(&out.stderr)
    );
}
