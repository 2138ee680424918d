//! Algebraic laws and form round-trips, on random segments and profiles.

mod common;

use common::*;
use line_segments::eval::{CompileOptions, CompiledSegment, LineOnly};
use line_segments::profile::Profile;
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
        let n = normal::nnf(&a);
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
        let j = json::to_json(&parsed);
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
        let mut doc = json::to_json(&a);
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
