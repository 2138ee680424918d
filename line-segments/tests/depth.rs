//! Deep and hostile input: one depth limit on both forms, checked by every function that walks a
//! tree, on a thread with the 2 MiB stack that spawned and tokio threads get by default. A stack
//! overflow aborts this test binary, so a regression fails loudly.

use jiff::civil::date;
use line_segments::ast::{Attr, CmpOp, EventRef, Literal, Predicate, PropCond, PropTest, Window, MAX_DEPTH};
use line_segments::library::Library;
#[cfg(feature = "narrowcast")]
use line_segments::narrowcast::{plan_profiles, PlanOptions};
use line_segments::schema::Schema;
use line_segments::sql::{Placeholders, SqlMapping};
use line_segments::{json, normal, text, CompiledSegment, ErrorKind, Place, Segment};
use proptest::prelude::*;

const SMALL_STACK: usize = 2 << 20;

/// Runs `f` on a thread with a 2 MiB stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .expect("thread starts")
        .join()
        .expect("no panic")
}

/// Drops a tree of any depth without recursion (a derived drop recurses once per level).
fn dismantle(s: Segment) {
    let mut stack = vec![s];
    while let Some(s) = stack.pop() {
        match s {
            Segment::All(c) | Segment::Any(c) => stack.extend(c),
            Segment::Not(x) => stack.push(*x),
            _ => {}
        }
    }
}

fn leaf() -> Segment {
    Segment::Pred(Predicate::Exists(Attr::custom("x")))
}

/// `not` around `leaf`, `n` times, built without recursion.
fn nots(n: usize, leaf: Segment) -> Segment {
    (0..n).fold(leaf, |s, _| s.not())
}

fn too_deep_at(err: &line_segments::Error) -> Place {
    match err.kind() {
        ErrorKind::TooDeep { place, max } => {
            assert_eq!(*max, MAX_DEPTH);
            place.clone()
        }
        other => panic!("expected a depth error, got {other:?}: {err}"),
    }
}

#[test]
fn deep_parentheses_and_nots_in_text_are_an_error_with_the_position() {
    on_small_stack(|| {
        for n in [MAX_DEPTH + 1, 1_100, 100_000] {
            let src = format!("{}x{}", "(".repeat(n), ")".repeat(n));
            let err = text::parse(&src).unwrap_err();
            // The first `(` past the limit.
            assert_eq!(
                too_deep_at(&err),
                Place::Text {
                    line: 1,
                    column: MAX_DEPTH + 1
                },
                "{err}"
            );

            let src = format!("{}x", "not ".repeat(n));
            let err = text::parse(&src).unwrap_err();
            assert_eq!(
                too_deep_at(&err),
                Place::Text {
                    line: 1,
                    column: 4 * MAX_DEPTH + 1
                },
                "{err}"
            );
            assert!(err.to_string().contains("at most 32 levels"), "{err}");
        }
        // At the limit, text parses.
        let ok = format!("{}x", "not ".repeat(MAX_DEPTH));
        assert_eq!(text::parse(&ok).unwrap().depth(), MAX_DEPTH);
        let ok = format!("{}exists(x){}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(text::parse(&ok).unwrap(), leaf());
    });
}

#[test]
fn and_or_groups_count_as_levels_in_text() {
    // `(a or b and (…))`: each parenthesis holds an `or` and an `and`, two levels of the tree.
    let mut src = "x".to_owned();
    for _ in 0..MAX_DEPTH / 2 {
        src = format!("a or b and ({src})");
    }
    let seg = text::parse(&src).unwrap();
    assert_eq!(seg.depth(), MAX_DEPTH);
    let deeper = format!("a or b and ({src})");
    let err = text::parse(&deeper).unwrap_err();
    assert!(matches!(too_deep_at(&err), Place::Text { line: 1, .. }), "{err}");
}

#[test]
fn deep_json_is_an_error_with_the_pointer() {
    on_small_stack(|| {
        // Through serde_json's own reader (which stops at 128 levels) ...
        for n in [MAX_DEPTH + 1, 100, 3_000] {
            let doc = format!(
                r#"{}{{"attr":"x","op":"exists"}}{}"#,
                r#"{"not":"#.repeat(n),
                "}".repeat(n)
            );
            let err = json::from_json_str(&doc).unwrap_err();
            if n <= 100 {
                assert_eq!(too_deep_at(&err), Place::Pointer("/not".repeat(MAX_DEPTH)), "{err}");
            } else {
                assert!(matches!(err.kind(), ErrorKind::Json { .. }), "{err}");
            }
        }
        // ... and from a value built in Rust, which has no such limit.
        let mut v = serde_json::json!({"attr": "x", "op": "exists"});
        for i in 0..5_000 {
            // Not `json!({"not": v})`, which would serialize `v` again, recursively.
            let (key, inner) = if i % 2 == 0 {
                ("not", v)
            } else {
                ("all", serde_json::Value::Array(vec![v]))
            };
            v = serde_json::Value::Object(std::iter::once((key.to_owned(), inner)).collect());
        }
        let err = json::from_json(&v).unwrap_err();
        assert!(
            matches!(too_deep_at(&err), Place::Pointer(ref p) if p.starts_with("/all/0/not/all/0")),
            "{err}"
        );
        // Take the value apart without recursion.
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::Object(m) => stack.extend(m.into_iter().map(|(_, v)| v)),
                serde_json::Value::Array(a) => stack.extend(a),
                _ => {}
            }
        }
    });
}

/// The deepest leaf of the JSON form: a sequence whose event filter holds a list of dates.
fn deepest_leaf() -> Segment {
    let filter = vec![PropCond {
        prop: "day".into(),
        test: PropTest::In(vec![Literal::Date(date(-44, 3, 15)), Literal::Date(date(2026, 5, 1))]),
    }];
    Segment::Pred(Predicate::Sequence {
        first: EventRef {
            name: "add_to_cart".into(),
            filter: filter.clone(),
        },
        then_no: EventRef {
            name: "purchase".into(),
            filter,
        },
        within: Window::from_secs(3_600),
        window: Window::days(7),
    })
}

#[test]
fn every_segment_at_the_limit_converts_to_json_text_and_back() {
    // `not` × 127 used to parse as text and fail as JSON (serde_json stops at 128 levels).
    let src = format!("{}x", "not ".repeat(127));
    assert!(text::parse(&src).is_err());

    let all_nots = nots(MAX_DEPTH, deepest_leaf());
    let mut alternating = deepest_leaf();
    for i in 0..MAX_DEPTH {
        alternating = if i % 2 == 0 {
            Segment::All(vec![alternating, leaf()])
        } else {
            Segment::Any(vec![leaf(), alternating])
        };
    }
    for seg in [all_nots, alternating] {
        assert_eq!(seg.depth(), MAX_DEPTH);
        let printed = text::print(&seg);
        let parsed = text::parse(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
        assert_eq!(parsed, seg);
        let doc = serde_json::to_string(&json::to_json(&parsed).unwrap()).unwrap();
        let back = json::from_json_str(&doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
        assert_eq!(back, seg);
        assert_eq!(text::print(&back), printed);
        // One level more is refused by both readers, and by the writer.
        let deeper = seg.not();
        assert!(json::to_json(&deeper).is_err());
        assert!(text::parse(&text::print(&deeper)).is_err());
    }
}

fn mapping() -> SqlMapping {
    serde_json::from_value(serde_json::json!({
        "profiles": {"table": "profiles", "id": "id"},
        "attributes": {"x": {"column": "x", "type": "string"}}
    }))
    .expect("mapping")
}

#[test]
fn segments_built_in_rust_cannot_drive_any_walk_past_the_limit() {
    on_small_stack(|| {
        let deep = nots(100_000, leaf());
        assert_eq!(deep.depth(), 100_000);
        let first_past = Place::Pointer("/not".repeat(MAX_DEPTH));
        assert_eq!(too_deep_at(&deep.check_depth().unwrap_err()), first_past);

        assert_eq!(too_deep_at(&CompiledSegment::compile(&deep).unwrap_err()), first_past);
        let now: jiff::Timestamp = "2026-05-15T00:00:00Z".parse().unwrap();
        too_deep_at(&line_segments::sql::compile(&deep, &mapping(), now, Placeholders::Question).unwrap_err());
        #[cfg(feature = "narrowcast")]
        too_deep_at(&plan_profiles(&deep, &[], now, &PlanOptions::default()).unwrap_err());
        too_deep_at(&normal::nnf(&deep).unwrap_err());
        too_deep_at(&json::to_json(&deep).unwrap_err());
        assert!(serde_json::to_string(&deep).is_err());
        let errs = Schema::new()
            .attribute("x", line_segments::schema::AttrType::String)
            .check(&deep);
        assert_eq!(errs.len(), 1);
        too_deep_at(&errs[0]);
        too_deep_at(&Library::new().resolve(&deep).unwrap_err());

        // Walks that cannot fail work at any depth, without recursion.
        let printed = deep.to_string();
        assert!(printed.starts_with("not not ") && printed.ends_with("exists(x)"));
        too_deep_at(&text::parse(&printed).unwrap_err());
        let mut n = 0;
        deep.visit_predicates(&mut |_, _| n += 1);
        assert_eq!(n, 1);
        assert!(deep.references().is_empty());

        let wide_and_deep = Segment::Any(vec![leaf(), Segment::All(vec![deep, leaf()])]);
        assert_eq!(
            too_deep_at(&CompiledSegment::compile(&wide_and_deep).unwrap_err()),
            Place::Pointer(format!("/any/1/all/0{}", "/not".repeat(MAX_DEPTH - 2)))
        );
        dismantle(wide_and_deep);
    });
}

#[test]
fn library_resolution_is_bounded_by_the_limit() {
    on_small_stack(|| {
        // A long chain of names, each under a `not`: the resolved tree would be 10,000 deep.
        let mut lib = Library::new();
        for i in 0..10_000 {
            let next = Segment::Ref(format!("s{}", i + 1));
            lib.insert(format!("s{i}"), next.not());
        }
        lib.insert("s10000", leaf());
        let err = lib.resolve(&Segment::Ref("s0".into())).unwrap_err();
        too_deep_at(&err);
        assert!(err.to_string().contains("segment `s"), "{err}");

        // A chain of plain references adds no level to the tree, but more than MAX_DEPTH names in
        // one chain are refused too, so resolution never recurses deeply.
        let mut lib = Library::new();
        for i in 0..10_000 {
            lib.insert(format!("r{i}"), Segment::Ref(format!("r{}", i + 1)));
        }
        lib.insert("r10000", leaf());
        too_deep_at(&lib.resolve(&Segment::Ref("r0".into())).unwrap_err());
        // Short chains resolve.
        assert_eq!(lib.resolve(&Segment::Ref("r9990".into())).unwrap(), leaf());
    });
}

#[test]
fn dates_before_year_zero_print_as_text_that_parses() {
    for d in [
        date(-9999, 1, 1),
        date(-44, 3, 15),
        date(-1, 12, 31),
        date(0, 1, 1),
        date(9999, 12, 31),
    ] {
        let seg = Segment::Pred(Predicate::Compare {
            attr: Attr::custom("d"),
            op: CmpOp::Lt,
            value: Literal::Date(d),
        });
        let printed = text::print(&seg);
        let parsed = text::parse(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
        assert_eq!(parsed, seg, "{printed}");
    }
    for t in [
        jiff::Timestamp::MIN,
        jiff::Timestamp::MAX,
        "-000001-06-01T12:00:00.5Z".parse().unwrap(),
    ] {
        let seg = Segment::Pred(Predicate::After {
            attr: Attr::custom("t"),
            at: Literal::Time(t),
        });
        let printed = text::print(&seg);
        assert_eq!(text::parse(&printed).unwrap(), seg, "{printed}");
    }
    // A minus sign before a number still reads as a number.
    assert!(text::parse("x > -1").is_ok());
    assert!(text::parse("x > -000001").is_ok());
}

fn any_date() -> impl Strategy<Value = jiff::civil::Date> {
    (-9999i16..=9999, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| date(y, m, d))
}

fn any_instant() -> impl Strategy<Value = jiff::Timestamp> {
    let (lo, hi) = (jiff::Timestamp::MIN.as_second(), jiff::Timestamp::MAX.as_second());
    (lo + 1..hi, prop_oneof![Just(0i32), 0i32..1_000_000_000])
        .prop_map(|(s, ns)| jiff::Timestamp::new(s, ns).expect("in range"))
}

fn time_literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any_date().prop_map(Literal::Date),
        any_instant().prop_map(Literal::Time)
    ]
}

fn leaf_with_dates() -> impl Strategy<Value = Segment> {
    prop_oneof![
        time_literal().prop_map(|at| Segment::Pred(Predicate::Before {
            attr: Attr::custom("d"),
            at
        })),
        (time_literal(), time_literal()).prop_map(|(low, high)| Segment::Pred(Predicate::Between {
            attr: Attr::custom("d"),
            low,
            high
        })),
        prop::collection::vec(time_literal(), 0..3).prop_map(|values| Segment::Pred(Predicate::In {
            attr: Attr::custom("d"),
            values
        })),
        (any_date(), -1.0e12f64..1.0e12).prop_map(|(d, n)| Segment::All(vec![
            Segment::Pred(Predicate::Compare {
                attr: Attr::custom("d"),
                op: CmpOp::Ge,
                value: Literal::Date(d)
            }),
            Segment::Pred(Predicate::Compare {
                attr: Attr::custom("n"),
                op: CmpOp::Ne,
                value: Literal::Num(n)
            }),
        ])),
    ]
}

fn segment_with_dates() -> impl Strategy<Value = Segment> {
    leaf_with_dates().prop_recursive(6, 32, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Segment::All),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Segment::Any),
            inner.prop_map(Segment::not),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn format_parse_format_is_stable(seg in segment_with_dates()) {
        let t1 = text::print(&seg);
        let parsed = text::parse(&t1).map_err(|e| TestCaseError::fail(format!("{e}\n{t1}")))?;
        let t2 = text::print(&parsed);
        prop_assert_eq!(&t1, &t2);
        // The JSON form carries the same tree.
        let doc = serde_json::to_string(&json::to_json(&parsed).unwrap()).unwrap();
        let back = json::from_json_str(&doc).map_err(|e| TestCaseError::fail(format!("{e}\n{doc}")))?;
        prop_assert_eq!(text::print(&back), t1);
    }
}
