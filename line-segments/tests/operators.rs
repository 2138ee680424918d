//! Every operator, with known and unknown inputs.

use jiff::Timestamp;
use line_core::clock::ManualClock;
use line_segments::eval::{CompileOptions, CompiledSegment, LineOnly};
use line_segments::profile::{Event, Profile, Value};
use line_segments::{text, ErrorKind, Truth};

const NOW: &str = "2026-05-15T03:00:00Z"; // 12:00 in Asia/Tokyo, May 15th

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn now() -> Timestamp {
    ts(NOW)
}

fn eval(src: &str, p: &Profile) -> Truth {
    let seg = text::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let c = CompiledSegment::compile(&seg).unwrap_or_else(|e| panic!("{src}: {e}"));
    c.at(now()).eval(p)
}

fn base() -> Profile {
    let mut p = Profile::new("U1")
        .with_attr("gender", Value::Str("female".into()))
        .with_attr("age", Value::Num(31.0))
        .with_attr("vip", Value::Bool(true))
        .with_attr("zip", Value::Str("150-0001".into()))
        .with_attr("interests", Value::Set(vec!["cosmetics".into(), "travel".into()]))
        .with_attr("birthday", Value::Date("1990-05-03".parse().unwrap()))
        .with_attr("signup_at", Value::Time(ts("2026-05-01T00:00:00Z")))
        .with_attr("last_login", Value::Time(ts("2026-05-14T00:00:00Z")));
    p.line.is_friend = Some(true);
    p.line.blocked = Some(false);
    p.line.id_linked = Some(true);
    p.line.friend_since = Some(ts("2026-03-01T00:00:00Z"));
    p.line.friend_source = Some("qr".into());
    p.line.store = Some("shibuya".into());
    p
}

fn empty() -> Profile {
    Profile::new("U2")
}

fn check(src: &str, p: &Profile, want: Truth) {
    assert_eq!(eval(src, p), want, "{src}");
}

use Truth::{False as F, True as T, Unknown as U};

#[test]
fn comparisons() {
    let p = base();
    for (src, want) in [
        (r#"gender = "female""#, T),
        (r#"gender = "male""#, F),
        (r#"gender != "male""#, T),
        ("age < 31", F),
        ("age <= 31", T),
        ("age > 30", T),
        ("age >= 32", F),
        ("vip", T),
        ("vip = false", F),
        ("vip != false", T),
        (r#"zip < "2""#, T),
    ] {
        check(src, &p, want);
    }
    // Missing attribute: unknown, and so is the negation.
    for src in [
        r#"gender = "female""#,
        "age < 3",
        "vip",
        r#"not (gender = "x")"#,
        "age != 1",
    ] {
        check(src, &empty(), U);
    }
    // Type mismatch at run time: unknown.
    check(r#"age = "31""#, &p, U);
}

#[test]
fn between_in_contains_starts_with() {
    let p = base();
    check("age between 30 and 31", &p, T);
    check("age between 32 and 40", &p, F);
    check("age between 30 and 31", &empty(), U);
    check(r#"gender in ["male", "female"]"#, &p, T);
    check(r#"gender in ["male"]"#, &p, F);
    check(r#"gender in ["male"]"#, &empty(), U);
    check("age in []", &empty(), F);
    check(r#""cosmetics" in interests"#, &p, T);
    check(r#"interests contains "golf""#, &p, F);
    check(r#""cosmetics" in interests"#, &empty(), U);
    check(r#"zip starts_with "150""#, &p, T);
    check(r#"zip starts_with "151""#, &p, F);
    check(r#"zip starts_with "1""#, &empty(), U);
}

#[test]
fn exists_and_missing_are_never_unknown() {
    check("exists(gender)", &base(), T);
    check("exists(gender)", &empty(), F);
    check("missing(gender)", &empty(), T);
    check("missing(gender)", &base(), F);
    check("missing(age) or age < 20", &empty(), T);
}

#[test]
fn dates_and_times() {
    let p = base();
    check("signup_at before 2026-05-02T00:00:00Z", &p, T);
    check("signup_at after 2026-05-02T00:00:00Z", &p, F);
    check("birthday before 1991-01-01", &p, T);
    check("birthday after 1991-01-01", &p, F);
    check("signup_at before 2026-05-02T00:00:00Z", &empty(), U);
    check("last_login within 2d", &p, T);
    check("signup_at within 7d", &p, F);
    check("last_login within 2d", &empty(), U);
    // 14 days and 3 hours since signup.
    check("days_since(signup_at) = 14", &p, T);
    check("days_since(signup_at) >= 15", &p, F);
    check("days_since(signup_at) > 13", &p, T);
    check("days_since(signup_at) < 1", &empty(), U);
}

#[test]
fn calendar_in_a_time_zone() {
    let p = base();
    check(r#"month(birthday, "Asia/Tokyo") = current"#, &p, T);
    check(r#"month(birthday, "Asia/Tokyo") = 6"#, &p, F);
    check(r#"month(birthday, "Asia/Tokyo") in [4, 5]"#, &p, T);
    check(r#"day(birthday, "Asia/Tokyo") = 3"#, &p, T);
    check(r#"month(birthday, "Asia/Tokyo") = current"#, &empty(), U);
    // A timestamp read in Tokyo: 2026-04-30T20:00Z is May 1st in Tokyo, April 30th in UTC.
    let q = empty().with_attr("t", Value::Time(ts("2026-04-30T20:00:00Z")));
    check(r#"month(t, "Asia/Tokyo") = current"#, &q, T);
    check(r#"month(t, "UTC") = current"#, &q, F);
    check(r#"weekday(t, "Asia/Tokyo") = 5"#, &q, T); // Friday May 1st 2026
                                                     // "Now" is read in the zone too: at 2026-05-31T16:00Z it is already June in Tokyo.
    let seg = text::parse(r#"month(birthday, "Asia/Tokyo") = current"#).unwrap();
    let c = CompiledSegment::compile(&seg).unwrap();
    assert_eq!(c.at(ts("2026-05-31T16:00:00Z")).eval(&base()), F);
    assert_eq!(c.at(ts("2026-05-31T14:00:00Z")).eval(&base()), T);
}

#[test]
fn line_facts() {
    let p = base();
    check("is_friend and not blocked and id_linked", &p, T);
    check(r#"line.friend_source in ["qr", "flyer"]"#, &p, T);
    check(r#"line.store = "ginza""#, &p, F);
    check("days_since(line.friend_since) >= 30", &p, T);
    check("id_linked", &empty(), U);
}

fn shopper() -> Profile {
    let mut p = empty();
    for (at, amount, cat) in [
        ("2026-05-10T00:00:00Z", 3000.0, "cosmetics"),
        ("2026-04-01T00:00:00Z", 5000.0, "food"),
        ("2025-12-01T00:00:00Z", 4000.0, "cosmetics"),
        ("2024-01-01T00:00:00Z", 9000.0, "food"),
    ] {
        p = p.with_event(
            Event::new("purchase", ts(at))
                .with("amount", Value::Num(amount))
                .with("category", Value::Str(cat.into())),
        );
    }
    p.with_event(Event::new("purchase", ts("2026-06-01T00:00:00Z")).with("amount", Value::Num(1.0)))
}

#[test]
fn event_aggregates() {
    let p = shopper();
    check("count(purchase, 90d) = 2", &p, T);
    check("count(purchase, 365d) >= 3", &p, T);
    check(r#"count(purchase where category = "cosmetics", 365d) = 2"#, &p, T);
    check(
        r#"count(purchase where category in ["food"] and amount > 4000, 365d) = 1"#,
        &p,
        T,
    );
    check("count(purchase, 7d) = 1", &p, T);
    check("count(visit, 7d) = 0", &p, T);
    check("sum(purchase.amount, 365d) >= 12000", &p, T);
    check("sum(purchase.amount, 365d) > 12000", &p, F);
    check("sum(purchase.amount, 1d) = 0", &p, T);
    check("min(purchase.amount, 365d) = 3000", &p, T);
    check("max(purchase.amount, 365d) = 5000", &p, T);
    check("avg(purchase.amount, 365d) = 4000", &p, T);
    check("avg(purchase.amount, 1d) > 0", &p, U);
    check("min(purchase.amount, 1d) > 0", &p, U);
    check("last(purchase) after 2026-05-01T00:00:00Z", &p, T);
    check("first(purchase) before 2024-06-01", &p, T);
    check("first(purchase, 365d) before 2025-12-02T00:00:00Z", &p, T);
    check("days_since(last(purchase)) = 5", &p, T);
    check("days_since(last(purchase where category = \"food\")) >= 30", &p, T);
    check("last(visit) after 2020-01-01", &p, U);
}

#[test]
fn aggregate_values_are_the_ones_eval_compares() {
    let p = shopper();
    let seg = text::parse(
        "sum(purchase.amount, 365d) >= 12000 and not (max(purchase.amount, 365d) > 9000) \
         and count(purchase, 90d) = 2 and avg(purchase.amount, 1d) > 0",
    )
    .unwrap();
    let c = CompiledSegment::compile(&seg).unwrap();
    let values = c.at(now()).aggregates(&p);
    let got: Vec<_> = values
        .iter()
        .map(|a| (a.predicate.as_str(), a.value, a.events, a.complete))
        .collect();
    assert_eq!(
        got,
        vec![
            ("sum(purchase.amount, 365d) >= 12000", Some(12000.0), 3, true),
            ("max(purchase.amount, 365d) > 9000", Some(5000.0), 3, true),
            ("avg(purchase.amount, 1d) > 0", None, 0, true),
        ]
    );
    // With history starting inside the window the value is a lower bound, flagged incomplete.
    let mut late = shopper();
    late.history_start = Some(ts("2026-05-01T00:00:00Z"));
    let sum = text::parse("sum(purchase.amount, 30d) >= 1").unwrap();
    let v = CompiledSegment::compile(&sum).unwrap().at(now()).aggregates(&late);
    assert_eq!(v.len(), 1);
    assert!(!v[0].complete);
}

#[test]
fn partial_history_is_unknown_not_absent() {
    // A profile created 10 days ago with no purchase: "has not purchased in 30 days" is unknown.
    let mut young = empty();
    young.history_start = Some(ts("2026-05-05T00:00:00Z"));
    check("count(purchase, 30d) = 0", &young, U);
    check("not (count(purchase, 30d) >= 1)", &young, U);
    check("count(purchase, 7d) = 0", &young, T);
    // A lower bound still decides "at least".
    let mut buyer = shopper();
    buyer.history_start = Some(ts("2026-05-01T00:00:00Z"));
    check("count(purchase, 30d) >= 1", &buyer, T);
    check("count(purchase, 30d) < 1", &buyer, F);
    check("count(purchase, 30d) = 0", &buyer, F);
    check("count(purchase, 30d) <= 5", &buyer, U);
    check("sum(purchase.amount, 30d) >= 1", &buyer, U);
    check("last(purchase, 30d) after 2026-05-09T00:00:00Z", &buyer, T);
    check("first(purchase, 30d) after 2026-05-09T00:00:00Z", &buyer, U);
}

#[test]
fn cart_abandonment_sequence() {
    let seg = "sequence(add_to_cart then no purchase within 1h, 7d)";
    let cart = |at: &str| Event::new("add_to_cart", ts(at));
    let buy = |at: &str| Event::new("purchase", ts(at));
    // Added to cart two hours ago, no purchase: abandoned.
    check(seg, &empty().with_event(cart("2026-05-15T01:00:00Z")), T);
    // Purchased 30 minutes later: not abandoned.
    let p = empty()
        .with_event(cart("2026-05-15T01:00:00Z"))
        .with_event(buy("2026-05-15T01:30:00Z"));
    check(seg, &p, F);
    // Purchased two hours later: the hour passed first, abandoned.
    let p = empty()
        .with_event(cart("2026-05-14T01:00:00Z"))
        .with_event(buy("2026-05-14T03:00:00Z"));
    check(seg, &p, T);
    // Added ten minutes ago: the hour has not passed yet.
    check(seg, &empty().with_event(cart("2026-05-15T02:50:00Z")), F);
    // A purchase before the cart does not count.
    let p = empty()
        .with_event(buy("2026-05-15T00:30:00Z"))
        .with_event(cart("2026-05-15T01:00:00Z"));
    check(seg, &p, T);
    // Partial history without a qualifying cart: unknown.
    let mut p = empty();
    p.history_start = Some(ts("2026-05-14T00:00:00Z"));
    check(seg, &p, U);
}

#[test]
fn kleene_connectives() {
    let p = base();
    let u = "nope = 1";
    check(&format!("{u} and vip"), &p, U);
    check(&format!("{u} and not vip"), &p, F);
    check(&format!("{u} or vip"), &p, T);
    check(&format!("{u} or not vip"), &p, U);
    check(&format!("not {u}"), &p, U);
    check("not not vip", &p, T);
    check("true", &p, T);
    check("false", &p, F);
    check("not false and true", &p, T);
}

#[test]
fn line_only_predicates_are_refused_in_process() {
    for src in [r#"demo.gender("female")"#, "audience(123)", r#"redelivery("r1")"#] {
        let seg = text::parse(&format!("vip and {src}")).unwrap();
        let err = CompiledSegment::compile(&seg).unwrap_err();
        match err.kind() {
            ErrorKind::NotEvaluable { place, .. } => {
                assert_eq!(place, &line_segments::Place::Pointer("/all/1".into()))
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("cannot be evaluated in process"), "{err}");
        // With LineOnly::Unknown they are unknown, so `vip or X` is decided by vip alone.
        let seg = text::parse(&format!("vip or {src}")).unwrap();
        let c = CompiledSegment::compile_with(
            &seg,
            CompileOptions {
                line_only: LineOnly::Unknown,
            },
        )
        .unwrap();
        assert_eq!(c.at(now()).eval(&base()), T);
        assert_eq!(c.at(now()).eval(&empty()), U);
    }
}

#[test]
fn clock_and_explain() {
    let seg = text::parse(r#"gender = "female" and (count(purchase, 90d) >= 2 or vip)"#).unwrap();
    let c = CompiledSegment::compile(&seg).unwrap();
    let clock = ManualClock::new(now());
    let p = shopper().with_attr("gender", Value::Str("female".into()));
    assert_eq!(c.eval(&p, &clock), T);
    let ex = c.explain(&p, &clock);
    assert_eq!(ex.value, T);
    assert_eq!(ex.children.len(), 2);
    assert_eq!(ex.children[0].detail.as_deref(), Some(r#"gender = "female""#));
    let or = &ex.children[1];
    assert_eq!(or.op, "any");
    assert_eq!(or.children[0].value, T);
    assert!(or.children[0]
        .detail
        .as_deref()
        .unwrap()
        .starts_with("2 matching `purchase` events"));
    assert_eq!(or.children[1].value, U);
    assert_eq!(or.children[1].detail.as_deref(), Some("vip is missing"));
    let shown = ex.to_string();
    assert!(shown.contains("[unknown] vip"), "{shown}");
    // Moving the clock on drops the purchases out of the window.
    clock.set(ts("2027-01-01T00:00:00Z"));
    assert_eq!(c.eval(&p, &clock), U);
}

#[test]
fn needs_list_attributes_and_windows() {
    let seg = text::parse(
        r#"gender = "f" and count(purchase, 90d) >= 2 and sum(purchase.amount, 365d) > 1 and id_linked and last(visit) after 2020-01-01"#,
    )
    .unwrap();
    let c = CompiledSegment::compile(&seg).unwrap();
    let n = c.needs();
    assert_eq!(n.attributes, vec!["gender".to_string()]);
    assert_eq!(n.line_facts, vec![line_segments::ast::LineFact::IdLinked]);
    assert_eq!(n.events.len(), 2);
    assert_eq!(n.events[0].name, "purchase");
    assert_eq!(n.events[0].window, Some(line_segments::Window::days(365)));
    assert_eq!(n.events[1].window, None);
}

#[test]
fn fused_event_scans_agree_with_separate_evaluation() {
    // Several aggregates of one event are fused into one pass for `eval`; `explain` evaluates them
    // one by one. Both must agree, with full and partial histories, under `all` and `any`.
    let mut partial = shopper();
    partial.history_start = Some(ts("2026-05-01T00:00:00Z"));
    for src in [
        "count(purchase, 90d) >= 2 and sum(purchase.amount, 365d) >= 10000",
        "count(purchase, 90d) >= 2 and sum(purchase.amount, 365d) >= 13000",
        "count(purchase, 7d) = 1 or max(purchase.amount, 365d) > 5000 or avg(purchase.amount, 30d) = 3000",
        "count(purchase, 30d) < 1 and min(purchase.amount, 365d) >= 3000",
        "not (count(purchase, 30d) >= 1 or sum(purchase.amount, 30d) > 0)",
    ] {
        let seg = text::parse(src).unwrap();
        let c = CompiledSegment::compile(&seg).unwrap();
        let e = c.at(now());
        for p in [shopper(), partial.clone(), empty()] {
            assert_eq!(e.eval(&p), e.explain(&p).value, "{src}");
        }
    }
    check(
        "count(purchase, 90d) >= 2 and sum(purchase.amount, 365d) >= 12000",
        &shopper(),
        T,
    );
    check(
        "count(purchase, 90d) >= 2 and sum(purchase.amount, 365d) >= 12001",
        &shopper(),
        F,
    );
    check(
        "count(purchase, 30d) >= 1 and sum(purchase.amount, 30d) >= 1",
        &partial,
        U,
    );
    check(
        "count(purchase, 30d) >= 1 or sum(purchase.amount, 30d) >= 1",
        &partial,
        T,
    );
}
