//! Algebraic laws and form round-trips, on random segments and profiles.

mod common;

use common::*;
use line_segments::eval::{CompileOptions, CompiledSegment, LineOnly};
use line_segments::profile::Profile;
use line_segments::source::{evaluate_source, FetchRequest, InMemorySource, ProfilePage, ProfileSource};
use line_segments::{json, normal, text, Segment, Truth};
use proptest::prelude::*;

fn eval_all(seg: &Segment, profiles: &[Profile]) -> Vec<Truth> {
    let c = CompiledSegment::compile(seg).unwrap();
    let e = c.at(now());
    profiles.iter().map(|p| e.eval(p)).collect()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn de_morgan(a in sql_segment(), b in sql_segment(), ps in profiles(1..6)) {
        let not_all = Segment::Not(Box::new(Segment::All(vec![a.clone(), b.clone()])));
        let any_not = Segment::Any(vec![a.clone().not(), b.clone().not()]);
        prop_assert_eq!(eval_all(&not_all, &ps), eval_all(&any_not, &ps));
        let not_any = Segment::Not(Box::new(Segment::Any(vec![a.clone(), b.clone()])));
        let all_not = Segment::All(vec![a.not(), b.not()]);
        prop_assert_eq!(eval_all(&not_any, &ps), eval_all(&all_not, &ps));
    }

    #[test]
    fn explain_agrees_with_eval(a in sql_segment(), ps in profiles(1..6)) {
        let c = CompiledSegment::compile(&a).unwrap();
        let e = c.at(now());
        for p in &ps {
            prop_assert_eq!(e.explain(p).value, e.eval(p), "{}", text::print(&a));
        }
    }

    #[test]
    fn double_negation(a in sql_segment(), ps in profiles(1..6)) {
        let nn = a.clone().not().not();
        prop_assert_eq!(eval_all(&nn, &ps), eval_all(&a, &ps));
    }

    #[test]
    fn negation_normal_form_evaluates_equal(a in sql_segment(), ps in profiles(1..6)) {
        let n = normal::nnf(&a).unwrap();
        // In NNF, `not` only wraps leaves.
        fn nots_on_leaves(s: &Segment) -> bool {
            match s {
                Segment::All(c) | Segment::Any(c) => c.iter().all(nots_on_leaves),
                Segment::Not(x) => matches!(**x, Segment::Pred(_) | Segment::Ref(_)),
                _ => true,
            }
        }
        prop_assert!(nots_on_leaves(&n), "{}", text::print(&n));
        prop_assert_eq!(eval_all(&n, &ps), eval_all(&a, &ps));
    }

    #[test]
    fn text_json_text_round_trips(a in any_segment()) {
        let t1 = text::print(&a);
        let parsed = text::parse(&t1).map_err(|e| TestCaseError::fail(format!("{e}\n{t1}")))?;
        let j = json::to_json(&parsed).unwrap();
        let back = json::from_json(&j).map_err(|e| TestCaseError::fail(format!("{e}\n{j}")))?;
        prop_assert_eq!(&back, &parsed);
        let t2 = text::print(&back);
        prop_assert_eq!(&t1, &t2);
        // And parsing the text again gives the same tree.
        prop_assert_eq!(text::parse(&t2).unwrap(), parsed);
        // JSON text survives serde too.
        let s = serde_json::to_string(&back).unwrap();
        let again: Segment = serde_json::from_str(&s).unwrap();
        prop_assert_eq!(again, back);
    }

    #[test]
    fn random_sql_segments_pass_the_schema_check(a in sql_segment()) {
        let errs: Vec<String> = schema().check(&a).into_iter()
            .map(|e| e.to_string())
            .filter(|m| !m.contains("impossible") && !m.contains("empty set"))
            .collect();
        prop_assert!(errs.is_empty(), "{:?}\n{}", errs, text::print(&a));
    }

    #[test]
    fn matches_is_eval_true(a in any_segment(), ps in profiles(1..6)) {
        // `matches` runs a separate two-valued program; it must agree with Kleene evaluation, for
        // the segment and for its negation.
        let options = CompileOptions { line_only: LineOnly::Unknown };
        for seg in [a.clone(), a.clone().not()] {
            if let Ok(c) = CompiledSegment::compile_with(&seg, options) {
                let e = c.at(now());
                for p in &ps {
                    prop_assert_eq!(e.matches(p), e.eval(p) == Truth::True, "{}", text::print(&seg));
                }
            }
        }
    }

    #[test]
    fn batch_evaluation_agrees_with_matches(a in sql_segment(), ps in profiles(1..12)) {
        let c = CompiledSegment::compile(&a).unwrap();
        let e = c.at(now());
        let expected: Vec<_> = ps.iter().filter(|p| e.matches(*p)).map(|p| p.id.clone()).collect();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let source = InMemorySource::new(ps.clone());
        prop_assert_eq!(source.profiles(), ps.clone(), "the packed source gives its profiles back");
        for page_size in [1, 3, 100] {
            let in_place = rt.block_on(evaluate_source(&c, &source, now(), page_size)).unwrap();
            prop_assert_eq!(&in_place, &expected, "{}", text::print(&a));
            let paged = rt.block_on(evaluate_source(&c, &Paged(source.clone()), now(), page_size)).unwrap();
            prop_assert_eq!(&paged, &expected, "{}", text::print(&a));
        }
    }

    #[test]
    fn fused_scans_agree_with_kleene_evaluation(a in scan_segment(), ps in profiles(1..8)) {
        // Counts and aggregates of one event are fused into one pass; compare that pass with the
        // per-predicate evaluation of `explain`, also on odd amounts (NaN, -0, text, missing) and on
        // events at the edge of a window.
        let ps: Vec<Profile> = ps.into_iter().map(odd_events).collect();
        let c = CompiledSegment::compile(&a).unwrap();
        let e = c.at(now());
        for p in &ps {
            let t = e.eval(p);
            prop_assert_eq!(e.explain(p).value, t, "{}", text::print(&a));
            prop_assert_eq!(e.matches(p), t == Truth::True, "{}", text::print(&a));
        }
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ids = rt.block_on(evaluate_source(&c, &InMemorySource::new(ps.clone()), now(), 4)).unwrap();
        let expected: Vec<_> = ps.iter().filter(|p| e.matches(*p)).map(|p| p.id.clone()).collect();
        prop_assert_eq!(ids, expected, "{}", text::print(&a));
    }

    #[test]
    fn string_tests_of_every_length_agree(
        lit in string_of_any_length(),
        value in string_of_any_length(),
        tags in prop::collection::vec(string_of_any_length(), 0..4),
        negate in any::<bool>(),
        tags_test in any::<bool>(),
    ) {
        // Equality and membership compare packed words chosen by length; check them on strings of
        // every length up to 20, including ones differing from each other in one byte.
        use line_segments::profile::Value;
        use line_segments::{Attr, Literal, Predicate};
        let pred = if tags_test {
            Predicate::Contains { attr: Attr::Custom("tags".into()), value: lit.clone() }
        } else {
            Predicate::Compare { attr: Attr::Custom("s1".into()), op: line_segments::CmpOp::Eq, value: Literal::Str(lit.clone()) }
        };
        let seg = if negate { Segment::Pred(pred).not() } else { Segment::Pred(pred) };
        let c = CompiledSegment::compile(&seg).unwrap();
        let e = c.at(now());
        let p = Profile::new("U1").with_attr("s1", Value::Str(value.clone())).with_attr("tags", Value::Set(tags.clone()));
        let expected = if tags_test { tags.contains(&lit) } else { value == lit } != negate;
        prop_assert_eq!(e.eval(&p), Truth::from_bool(expected), "{}", text::print(&seg));
        prop_assert_eq!(e.matches(&p), expected, "{}", text::print(&seg));
    }

    #[test]
    fn line_only_as_unknown_never_adds_members(a in any_segment(), ps in profiles(1..4)) {
        // Replacing a LINE-only leaf by unknown can only lose members relative to either choice.
        let c = CompiledSegment::compile_with(&a, CompileOptions { line_only: LineOnly::Unknown });
        if let Ok(c) = c {
            let e = c.at(now());
            for p in &ps {
                let t = e.eval(p);
                let with_true = eval_all(&replace_line_only(&a, true), std::slice::from_ref(p))[0];
                let with_false = eval_all(&replace_line_only(&a, false), std::slice::from_ref(p))[0];
                if t == Truth::True {
                    prop_assert!(with_true == Truth::True && with_false == Truth::True);
                }
            }
        }
    }
}

/// An `all` or `any` of counts and aggregates of one `purchase` event (so they fuse into one scan).
fn scan_segment() -> BoxedStrategy<Segment> {
    use line_segments::ast::{AggFunc, EventRef, PropCond, PropTest};
    use line_segments::{CmpOp, Literal, Predicate, Window};
    let op = prop::sample::select(CmpOp::ALL.to_vec());
    let window = prop::sample::select(vec![
        Window::days(1),
        Window::days(30),
        Window::days(90),
        Window::days(365),
    ]);
    let func = prop::sample::select(vec![
        AggFunc::Sum,
        AggFunc::Sum,
        AggFunc::Min,
        AggFunc::Max,
        AggFunc::Avg,
    ]);
    let part = prop_oneof![
        (window.clone(), op.clone(), -1i64..4).prop_map(|(window, op, value)| (None, window, op, value as f64)),
        (func, window, op, -3i32..12).prop_map(|(f, window, op, v)| (Some(f), window, op, f64::from(v))),
    ];
    let filter = prop_oneof![
        Just(Vec::new()),
        Just(vec![PropCond {
            prop: "amount".into(),
            test: PropTest::Cmp(CmpOp::Gt, Literal::Num(0.0)),
        }]),
    ];
    (any::<bool>(), filter, prop::collection::vec(part, 2..5))
        .prop_map(|(all, filter, parts)| {
            let event = EventRef {
                name: "purchase".into(),
                filter,
            };
            let preds: Vec<Segment> = parts
                .into_iter()
                .map(|(func, window, op, value)| {
                    Segment::Pred(match func {
                        None => Predicate::Count {
                            event: event.clone(),
                            window,
                            op,
                            value: value as i64,
                        },
                        Some(func) => Predicate::Aggregate {
                            func,
                            event: event.clone(),
                            property: "amount".into(),
                            window,
                            op,
                            value,
                        },
                    })
                })
                .collect();
            if all {
                Segment::All(preds)
            } else {
                Segment::Any(preds)
            }
        })
        .boxed()
}

/// Some purchase amounts replaced by NaN, -0, text, or removed, and some events moved to the
/// edge of a window.
fn odd_events(mut p: Profile) -> Profile {
    use line_segments::profile::Value;
    for (i, e) in p.events.iter_mut().enumerate() {
        if i % 4 == 2 {
            let days = [30, 90, 365][(i / 4) % 3];
            e.at = now().checked_sub(jiff::SignedDuration::from_hours(days * 24)).unwrap();
        }
        let odd = match i % 5 {
            1 => Some(Value::Num(f64::NAN)),
            2 => Some(Value::Num(-0.0)),
            3 => Some(Value::Str("x".into())),
            _ => None,
        };
        match (i % 7, odd) {
            (0 | 6, _) => {}
            (5, _) => e.props.retain(|(k, _)| &**k != "amount"),
            (_, Some(v)) => {
                for (k, x) in e.props.iter_mut() {
                    if &**k == "amount" {
                        *x = v.clone();
                    }
                }
            }
            (_, None) => {}
        }
    }
    p
}

/// Strings of 0 to 20 bytes over a small alphabet, so that equal lengths and near misses are common.
fn string_of_any_length() -> impl Strategy<Value = String> {
    (
        0usize..21,
        prop::collection::vec(prop::sample::select(vec!['a', 'b', 'é']), 20),
        0usize..20,
    )
        .prop_map(|(len, chars, flip)| {
            let mut s: String = "abcdefghijklmnopqrst".chars().take(len).collect();
            // A near miss: one character changed (which may change the length in bytes).
            if flip < len && chars[flip] != 'a' {
                s = s
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if i == flip { chars[i] } else { c })
                    .collect();
            }
            s
        })
}

/// An in-memory source that only pages (as a database-backed source does).
struct Paged(InMemorySource);

#[async_trait::async_trait]
impl ProfileSource for Paged {
    async fn page(&self, request: &FetchRequest, cursor: Option<String>) -> line_segments::Result<ProfilePage> {
        self.0.page(request, cursor).await
    }
}

fn replace_line_only(s: &Segment, v: bool) -> Segment {
    match s {
        Segment::All(c) => Segment::All(c.iter().map(|x| replace_line_only(x, v)).collect()),
        Segment::Any(c) => Segment::Any(c.iter().map(|x| replace_line_only(x, v)).collect()),
        Segment::Not(x) => Segment::Not(Box::new(replace_line_only(x, v))),
        Segment::Pred(p) if p.is_line_only() => {
            if v {
                Segment::always()
            } else {
                Segment::never()
            }
        }
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary text never panics the parser, and an error points inside the input.
    #[test]
    fn garbage_text_gets_a_placed_error(src in "[ -~\n]{0,60}|\\PC{0,30}") {
        if let Err(e) = text::parse(&src) {
            match e.place() {
                Some(line_segments::Place::Text { line, column }) => {
                    let lines: Vec<&str> = src.split('\n').collect();
                    prop_assert!(*line >= 1 && *line <= lines.len(), "{e}");
                    prop_assert!(*column >= 1 && *column <= lines[*line - 1].chars().count() + 1, "{e}");
                }
                other => prop_assert!(false, "no text place: {other:?} ({e})"),
            }
        }
    }

    /// Arbitrary JSON never panics the JSON reader, and errors name a pointer that exists.
    #[test]
    fn garbage_json_gets_a_pointer(a in any_segment(), pick in any::<prop::sample::Index>(), junk in prop_oneof![Just(serde_json::json!(null)), Just(serde_json::json!({"x": 1})), Just(serde_json::json!("90x")), Just(serde_json::json!([1, 2]))]) {
        // Replace one value somewhere in a valid segment by junk.
        fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| pointers(x, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out)),
                serde_json::Value::Array(xs) => xs.iter().enumerate().for_each(|(i, x)| pointers(x, format!("{at}/{i}"), out)),
                _ => {}
            }
            out.push(at);
        }
        let mut doc = json::to_json(&a).unwrap();
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let target = pick.get(&all).clone();
        if let Some(slot) = doc.pointer_mut(&target) {
            *slot = junk;
        }
        if let Err(e) = json::from_json(&doc) {
            match e.place() {
                Some(line_segments::Place::Pointer(p)) => {
                    // The pointer names a value of the document, or a key missing from an object in it.
                    let parent = p.rsplit_once('/').map(|(a, _)| a).unwrap_or("");
                    prop_assert!(doc.pointer(p).is_some() || doc.pointer(parent).is_some(), "{e}\n{doc}");
                }
                other => prop_assert!(false, "no pointer: {other:?} ({e})"),
            }
        }
    }
}
