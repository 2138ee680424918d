//! Random segments and profiles over a small fixed schema, for property tests.
#![allow(dead_code)]

use jiff::{SignedDuration, Timestamp};
use line_segments::ast::*;
use line_segments::eval::CompiledSegment;
use line_segments::profile::{Event, Profile, Value};
use line_segments::schema::{AttrType, Schema};
use line_segments::sql::{self, Placeholders, SqlMapping};
use line_segments::{text, ErrorKind};
use proptest::prelude::*;

pub const NOW: &str = "2026-05-15T03:00:00Z";

pub fn now() -> Timestamp {
    NOW.parse().unwrap()
}

pub fn schema() -> Schema {
    Schema::new()
        .attribute("s1", AttrType::String)
        .attribute("s2", AttrType::String)
        .attribute("n1", AttrType::Number)
        .attribute("n2", AttrType::Number)
        .attribute("b1", AttrType::Bool)
        .attribute("tags", AttrType::StringSet)
        .attribute("d1", AttrType::Date)
        .attribute("t1", AttrType::Timestamp)
        .event(
            "purchase",
            [("amount", AttrType::Number), ("category", AttrType::String)],
        )
        .event("view", [("category", AttrType::String)])
}

const STRS: [&str; 5] = ["a", "b", "ab", "ba", ""];

fn str_lit() -> impl Strategy<Value = String> {
    prop::sample::select(STRS.to_vec()).prop_map(str::to_owned)
}

fn num() -> impl Strategy<Value = f64> {
    (-2i32..6).prop_map(f64::from)
}

fn date() -> impl Strategy<Value = jiff::civil::Date> {
    (0i32..800).prop_map(|d| {
        jiff::civil::date(2024, 1, 1)
            .checked_add(jiff::Span::new().days(d))
            .unwrap()
    })
}

/// Whole-second instants between about 450 days before now and 10 days after.
fn instant() -> impl Strategy<Value = Timestamp> {
    (-450i64 * 24..240)
        .prop_flat_map(|h| (Just(h), 0i64..3600))
        .prop_map(|(h, s)| now().checked_add(SignedDuration::from_secs(h * 3600 + s)).unwrap())
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(CmpOp::ALL.to_vec())
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        prop::sample::select(vec![1u64, 7, 30, 90, 365]).prop_map(Window::days),
        prop::sample::select(vec![3600u64, 7200]).prop_map(Window::from_secs),
    ]
}

fn cond() -> impl Strategy<Value = PropCond> {
    prop_oneof![
        (op(), num()).prop_map(|(o, n)| PropCond {
            prop: "amount".into(),
            test: PropTest::Cmp(o, Literal::Num(n))
        }),
        str_lit().prop_map(|s| PropCond {
            prop: "category".into(),
            test: PropTest::Cmp(CmpOp::Eq, Literal::Str(s))
        }),
        prop::collection::vec(str_lit(), 0..3).prop_map(|v| PropCond {
            prop: "category".into(),
            test: PropTest::In(v.into_iter().map(Literal::Str).collect())
        }),
    ]
}

fn event_ref(name: &'static str) -> impl Strategy<Value = EventRef> {
    prop::collection::vec(cond(), 0..2).prop_map(move |filter| {
        let filter = if name == "view" {
            filter.into_iter().filter(|c| c.prop == "category").collect()
        } else {
            filter
        };
        EventRef {
            name: name.into(),
            filter,
        }
    })
}

fn any_event() -> impl Strategy<Value = EventRef> {
    prop_oneof![event_ref("purchase"), event_ref("view")]
}

fn lit_for(attr: &str) -> BoxedStrategy<Literal> {
    match attr {
        "s1" | "s2" | "line.friend_source" | "line.store" => str_lit().prop_map(Literal::Str).boxed(),
        "n1" | "n2" => num().prop_map(Literal::Num).boxed(),
        "b1" | "line.is_friend" | "line.blocked" | "line.id_linked" => any::<bool>().prop_map(Literal::Bool).boxed(),
        "d1" => date().prop_map(Literal::Date).boxed(),
        _ => instant().prop_map(Literal::Time).boxed(),
    }
}

fn attr(name: &str) -> Attr {
    Attr::from_json_name(name).unwrap()
}

const SCALARS: [&str; 11] = [
    "s1",
    "s2",
    "n1",
    "n2",
    "b1",
    "d1",
    "t1",
    "line.is_friend",
    "line.id_linked",
    "line.friend_source",
    "line.friend_since",
];

/// A random predicate that SQL compilation supports, type-correct for [`schema`].
pub fn sql_predicate() -> BoxedStrategy<Predicate> {
    let scalar = prop::sample::select(SCALARS.to_vec());
    let ordered = prop::sample::select(vec!["s1", "n1", "n2", "d1", "t1", "line.friend_since"]);
    prop_oneof![
        scalar.clone().prop_flat_map(|a| {
            let is_bool = matches!(a, "b1" | "line.is_friend" | "line.id_linked");
            let ops = if is_bool {
                vec![CmpOp::Eq, CmpOp::Ne]
            } else {
                CmpOp::ALL.to_vec()
            };
            (prop::sample::select(ops), lit_for(a)).prop_map(move |(op, value)| Predicate::Compare {
                attr: attr(a),
                op,
                value,
            })
        }),
        ordered.clone().prop_flat_map(
            |a| (lit_for(a), lit_for(a)).prop_map(move |(low, high)| Predicate::Between {
                attr: attr(a),
                low,
                high
            })
        ),
        scalar.clone().prop_flat_map(|a| prop::collection::vec(lit_for(a), 0..4)
            .prop_map(move |values| { Predicate::In { attr: attr(a), values } })),
        str_lit().prop_map(|value| Predicate::Contains {
            attr: attr("tags"),
            value
        }),
        (prop::sample::select(vec!["s1", "s2"]), str_lit())
            .prop_map(|(a, prefix)| Predicate::StartsWith { attr: attr(a), prefix }),
        prop::sample::select(vec!["s1", "n1", "tags", "t1", "line.store"]).prop_map(|a| Predicate::Exists(attr(a))),
        prop::sample::select(vec!["s2", "n2", "tags", "d1", "line.blocked"]).prop_map(|a| Predicate::Missing(attr(a))),
        (any::<bool>(), instant()).prop_map(|(b, t)| if b {
            Predicate::Before {
                attr: attr("t1"),
                at: Literal::Time(t),
            }
        } else {
            Predicate::After {
                attr: attr("line.friend_since"),
                at: Literal::Time(t),
            }
        }),
        (any::<bool>(), date()).prop_map(|(b, d)| if b {
            Predicate::Before {
                attr: attr("d1"),
                at: Literal::Date(d),
            }
        } else {
            Predicate::After {
                attr: attr("d1"),
                at: Literal::Date(d),
            }
        }),
        window().prop_map(|w| Predicate::WithinLast {
            attr: attr("t1"),
            window: w
        }),
        (op(), 0i64..400).prop_map(|(op, days)| Predicate::DaysSince {
            attr: attr("t1"),
            op,
            days
        }),
        (any::<bool>(), prop::option::of(prop::collection::vec(1i64..13, 1..3))).prop_map(|(m, v)| {
            Predicate::Calendar {
                unit: if m { CalUnit::Month } else { CalUnit::Day },
                attr: attr("d1"),
                tz: "Asia/Tokyo".into(),
                test: match v {
                    None => CalTest::Current,
                    Some(v) => CalTest::In(v),
                },
            }
        }),
        (any_event(), window(), op(), 0i64..4).prop_map(|(event, window, op, value)| Predicate::Count {
            event,
            window,
            op,
            value
        }),
        (
            prop::sample::select(vec![AggFunc::Sum, AggFunc::Min, AggFunc::Max, AggFunc::Avg]),
            event_ref("purchase"),
            window(),
            op(),
            -2i32..12
        )
            .prop_map(|(func, event, window, op, v)| Predicate::Aggregate {
                func,
                event,
                property: "amount".into(),
                window,
                op,
                value: f64::from(v)
            }),
        (
            any::<bool>(),
            any_event(),
            prop::option::of(window()),
            prop_oneof![
                instant().prop_map(|t| TimeTest::Before(Literal::Time(t))),
                instant().prop_map(|t| TimeTest::After(Literal::Time(t))),
                (op(), 0i64..100).prop_map(|(o, n)| TimeTest::DaysSince(o, n)),
            ]
        )
            .prop_map(|(first, event, window, test)| Predicate::Occurrence {
                which: if first { Which::First } else { Which::Last },
                event,
                window,
                test
            }),
        (
            event_ref("view"),
            event_ref("purchase"),
            prop::sample::select(vec![3600u64, 86_400 * 2]),
            window()
        )
            .prop_map(|(first, then_no, within, window)| Predicate::Sequence {
                first,
                then_no,
                within: Window::from_secs(within),
                window
            }),
    ]
    .boxed()
}

/// Predicates that only the text and JSON forms need (weekday, LINE-only, odd names).
pub fn extra_predicate() -> BoxedStrategy<Predicate> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(vec!["male", "female"]), 1..3)
            .prop_map(|v| Predicate::Demographic(Demographic::Gender(v.into_iter().map(String::from).collect()))),
        (
            prop::option::of(prop::sample::select(AGE_BANDS.to_vec())),
            prop::option::of(prop::sample::select(AGE_BANDS.to_vec()))
        )
            .prop_filter("a bound", |(a, b)| a.is_some() || b.is_some())
            .prop_map(|(gte, lt)| Predicate::Demographic(Demographic::Age { gte, lt })),
        prop::collection::vec(prop::sample::select(vec!["jp_13", "jp_14", "tw_01"]), 1..3)
            .prop_map(|v| Predicate::Demographic(Demographic::Area(v.into_iter().map(String::from).collect()))),
        (1i64..10_000_000_000).prop_map(Predicate::Audience),
        "[a-z0-9-]{1,12}".prop_map(Predicate::Redelivery),
        ("[ -~]{1,8}", "\\PC{0,6}")
            .prop_filter("no backtick", |(n, _)| !n.contains('`') && !n.starts_with("line."))
            .prop_map(|(n, s)| Predicate::Compare {
                attr: Attr::Custom(n),
                op: CmpOp::Eq,
                value: Literal::Str(s)
            }),
        prop::sample::select(vec!["and", "count", "demo", "line", "x.y", "in.z"])
            .prop_map(|n| Predicate::Exists(Attr::Custom(n.into()))),
        (-1.0e6f64..1.0e6).prop_map(|v| Predicate::Compare {
            attr: attr("n1"),
            op: CmpOp::Lt,
            value: Literal::Num(v)
        }),
        (prop::collection::vec(1i64..8, 1..3)).prop_map(|v| Predicate::Calendar {
            unit: CalUnit::Weekday,
            attr: attr("t1"),
            tz: "UTC".into(),
            test: CalTest::In(v)
        }),
    ]
    .boxed()
}

/// Random segment trees over `leaf`.
pub fn segment_over(leaf: BoxedStrategy<Predicate>, depth: u32) -> BoxedStrategy<Segment> {
    let leaf = leaf.prop_map(Segment::Pred);
    leaf.prop_recursive(depth, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Segment::All),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Segment::Any),
            inner.prop_map(|s| Segment::Not(Box::new(s))),
        ]
    })
    .boxed()
}

/// A segment the SQL compiler supports.
pub fn sql_segment() -> BoxedStrategy<Segment> {
    segment_over(sql_predicate(), 3)
}

/// Any segment.
pub fn any_segment() -> BoxedStrategy<Segment> {
    segment_over(prop_oneof![3 => sql_predicate(), 1 => extra_predicate()].boxed(), 3)
}

fn event() -> impl Strategy<Value = Event> {
    (
        prop::sample::select(vec!["purchase", "view"]),
        instant(),
        prop::option::of(-2i32..10),
        prop::option::of(prop::sample::select(vec!["a", "b"])),
    )
        .prop_map(|(name, at, amount, category)| {
            let mut e = Event::new(name, at);
            if let (Some(a), "purchase") = (amount, name) {
                e = e.with("amount", Value::Num(f64::from(a)));
            }
            if let Some(c) = category {
                e = e.with("category", Value::Str(c.into()));
            }
            e
        })
}

/// A random profile for [`schema`].
pub fn profile(id: usize) -> impl Strategy<Value = Profile> {
    (
        (
            prop::option::of(str_lit()),
            prop::option::of(str_lit()),
            prop::option::of(num()),
            prop::option::of(num()),
            prop::option::of(any::<bool>()),
            prop::option::of(prop::collection::vec(str_lit(), 0..3)),
            prop::option::of(date()),
            prop::option::of(instant()),
        ),
        (
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
            prop::option::of(instant()),
            prop::option::of(str_lit()),
            prop::option::of(str_lit()),
        ),
        prop::collection::vec(event(), 0..7),
        prop::option::of(instant()),
    )
        .prop_map(move |(a, l, events, hs)| {
            let mut p = Profile::new(format!("U{id:04}"));
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    p.attributes.insert(k, v);
                }
            };
            put("s1", a.0.map(Value::Str));
            put("s2", a.1.map(Value::Str));
            put("n1", a.2.map(Value::Num));
            put("n2", a.3.map(Value::Num));
            put("b1", a.4.map(Value::Bool));
            put(
                "tags",
                a.5.map(|mut v| {
                    v.sort();
                    v.dedup();
                    Value::Set(v)
                }),
            );
            put("d1", a.6.map(Value::Date));
            put("t1", a.7.map(Value::Time));
            p.line.is_friend = l.0;
            p.line.blocked = l.1;
            p.line.id_linked = l.2;
            p.line.friend_since = l.3;
            p.line.friend_source = l.4;
            p.line.store = l.5;
            p.events = events;
            p.history_start = hs;
            p
        })
}

/// A handful of random profiles.
pub fn profiles(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Profile>> {
    prop::collection::vec(0usize..1, n).prop_flat_map(|v| {
        v.iter()
            .enumerate()
            .map(|(i, _)| profile(i).boxed())
            .collect::<Vec<_>>()
    })
}

/// The SQL tests' mapping of the schema onto tables, with `prefix` before each table name
/// (`""` on SQLite, `"pg_temp."` on PostgreSQL).
pub fn sql_mapping(prefix: &str) -> SqlMapping {
    serde_json::from_value(serde_json::json!({
        "profiles": {"table": format!("{prefix}profiles"), "id": "user_id", "history_start": "history_start"},
        "attributes": {
            "s1": {"column": "s1", "type": "string"},
            "s2": {"column": "s2", "type": "string"},
            "n1": {"column": "n1", "type": "number"},
            "n2": {"column": "n2", "type": "number"},
            "b1": {"column": "b1", "type": "bool"},
            "d1": {"column": "d1", "type": "date"},
            "t1": {"column": "t1", "type": "timestamp"},
            "tags": {"set_table": format!("{prefix}profile_tags"), "user_column": "user_id", "value_column": "value", "known": "tags_known"},
            "line.is_friend": {"column": "is_friend", "type": "bool"},
            "line.blocked": {"column": "blocked", "type": "bool"},
            "line.id_linked": {"column": "id_linked", "type": "bool"},
            "line.friend_since": {"column": "friend_since", "type": "timestamp"},
            "line.friend_source": {"column": "friend_source", "type": "string"},
            "line.store": {"column": "store", "type": "string"}
        },
        "events": {"table": format!("{prefix}events"), "user": "user_id", "name": "name", "at": "at",
                   "props": {"amount": "amount", "category": "category"}}
    }))
    .unwrap()
}

/// The ids of `profiles` that `seg` matches at `now`, sorted: what SQL must return.
pub fn in_process(seg: &Segment, profiles: &[Profile], now: Timestamp) -> Vec<String> {
    let c = CompiledSegment::compile(seg).unwrap();
    let e = c.at(now);
    let mut ids: Vec<String> = profiles
        .iter()
        .filter(|p| e.matches(*p))
        .map(|p| p.id.to_string())
        .collect();
    ids.sort();
    ids
}

/// Nodes SQL cannot express fail to compile with an error naming their place.
pub fn assert_unsupported_nodes_are_named(placeholders: Placeholders) {
    let m = sql_mapping("");
    for (src, ptr) in [
        (r#"s1 = "a" and demo.gender("female")"#, "/all/1"),
        (r#"weekday(d1, "UTC") = 1"#, ""),
        (r#"month(t1, "Asia/Tokyo") = current"#, ""),
        (r#"s1 = "a" or unknown_attr = 1"#, "/any/1/attr"),
        (r#"count(purchase where color = "red", 7d) >= 1"#, "/count/where/0/prop"),
        (r#"segment("vip")"#, "/ref"),
    ] {
        let seg = text::parse(src).unwrap();
        let err = sql::compile(&seg, &m, now(), placeholders).unwrap_err();
        match err.kind() {
            ErrorKind::Unsupported { place, .. } => {
                assert_eq!(place, &line_segments::Place::Pointer(ptr.into()), "{src}: {err}")
            }
            other => panic!("{src}: {other:?}"),
        }
    }
}
