//! Static checks of a segment against a host-declared schema.
//!
//! The schema lists the first-party attributes with their types, and the events with the types of
//! their properties. [`Schema::check`] reports every problem it finds, each naming the node by JSON
//! pointer (use [`crate::text::SourceMap::locate`] to turn that into a line and column).
//!
//! ```
//! use line_segments::{schema::Schema, text};
//! let schema: Schema = serde_json::from_str(r#"{
//!     "attributes": {"gender": "string", "interests": "string_set"},
//!     "events": {"purchase": {"amount": "number"}}
//! }"#).unwrap();
//! let seg = text::parse(r#"gender = 3 and count(purchase, 0d) >= 1"#).unwrap();
//! let errors = schema.check(&seg);
//! assert_eq!(errors.len(), 2);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ast::*;
use crate::error::{push_ptr, Error};

pub use crate::ast::AttrType;

/// The properties of one event, with their types.
pub type EventSchema = BTreeMap<String, AttrType>;

/// What the host stores: first-party attributes and events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// First-party attributes and their types.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttrType>,
    /// Events and the types of their properties.
    #[serde(default)]
    pub events: BTreeMap<String, EventSchema>,
    /// Names of the segments that `segment("…")` may refer to (for checks of one segment of a library).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub segments: BTreeSet<String>,
}

/// The longest window the checker accepts (10 years).
pub const MAX_WINDOW_SECS: u64 = 3_660 * 86_400;

impl Schema {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an attribute.
    pub fn attribute(mut self, name: impl Into<String>, ty: AttrType) -> Self {
        self.attributes.insert(name.into(), ty);
        self
    }

    /// Adds an event with its properties.
    pub fn event<'a>(mut self, name: impl Into<String>, props: impl IntoIterator<Item = (&'a str, AttrType)>) -> Self {
        self.events
            .insert(name.into(), props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        self
    }

    /// The type of an attribute, if the schema declares it (LINE facts are always declared).
    pub fn attr_type(&self, attr: &Attr) -> Option<AttrType> {
        match attr {
            Attr::Custom(n) => self.attributes.get(n).copied(),
            Attr::Line(f) => Some(f.value_type()),
        }
    }

    /// Checks a segment, returning every problem found (empty when the segment is valid).
    ///
    /// A segment deeper than [`MAX_DEPTH`] gives one [`crate::ErrorKind::TooDeep`] error and is
    /// not walked further.
    pub fn check(&self, segment: &Segment) -> Vec<Error> {
        if let Err(e) = segment.check_depth() {
            return vec![e];
        }
        let mut errs = Vec::new();
        self.check_node(segment, "", &mut errs);
        errs
    }

    fn check_node(&self, s: &Segment, ptr: &str, errs: &mut Vec<Error>) {
        match s {
            Segment::All(c) | Segment::Any(c) => {
                let key = if matches!(s, Segment::All(_)) { "all" } else { "any" };
                for (i, child) in c.iter().enumerate() {
                    self.check_node(child, &format!("{ptr}/{key}/{i}"), errs);
                }
            }
            Segment::Not(inner) => self.check_node(inner, &format!("{ptr}/not"), errs),
            Segment::Ref(name) => {
                if !self.segments.contains(name) {
                    errs.push(Error::new(crate::ErrorKind::UnknownSegment {
                        place: crate::Place::Pointer(push_ptr(ptr, "ref")),
                        name: name.clone(),
                    }));
                }
            }
            Segment::Pred(p) => self.check_pred(p, ptr, errs),
        }
    }

    fn attr_of(&self, attr: &Attr, ptr: &str, key: &str, errs: &mut Vec<Error>) -> Option<AttrType> {
        let t = self.attr_type(attr);
        if t.is_none() {
            let known: Vec<&str> = self.attributes.keys().map(|s| s.as_str()).collect();
            errs.push(Error::schema(
                &push_ptr(ptr, key),
                format!(
                    "unknown attribute `{attr}`{}",
                    if known.is_empty() {
                        String::new()
                    } else {
                        format!("; the schema declares {}", known.join(", "))
                    }
                ),
            ));
        }
        t
    }

    fn check_window(w: Window, ptr: &str, errs: &mut Vec<Error>) {
        if w.secs() == 0 {
            errs.push(Error::schema(
                ptr,
                "impossible window: a window of length zero contains no time",
            ));
        } else if w.secs() > MAX_WINDOW_SECS {
            errs.push(Error::schema(
                ptr,
                format!("window {w} is longer than the 3660 days allowed"),
            ));
        }
    }

    fn check_event(&self, e: &EventRef, ptr: &str, errs: &mut Vec<Error>) -> Option<&EventSchema> {
        let Some(props) = self.events.get(&e.name) else {
            errs.push(Error::schema(
                &push_ptr(ptr, "event"),
                format!("unknown event `{}`", e.name),
            ));
            return None;
        };
        for (i, c) in e.filter.iter().enumerate() {
            let cp = push_ptr(&push_ptr(ptr, "where"), i);
            let Some(t) = props.get(&c.prop) else {
                errs.push(Error::schema(
                    &push_ptr(&cp, "prop"),
                    format!("event `{}` has no property `{}`", e.name, c.prop),
                ));
                continue;
            };
            let lits: Vec<&Literal> = match &c.test {
                PropTest::Cmp(op, l) => {
                    if matches!(t, AttrType::Bool | AttrType::StringSet) && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                        errs.push(Error::schema(
                            &push_ptr(&cp, "op"),
                            format!(
                                "operator `{}` does not apply to a {} property",
                                op.json_name(),
                                t.name()
                            ),
                        ));
                    }
                    vec![l]
                }
                PropTest::In(ls) => ls.iter().collect(),
            };
            for (j, l) in lits.iter().enumerate() {
                if !t.accepts(l) {
                    let vp = match &c.test {
                        PropTest::Cmp(..) => push_ptr(&cp, "value"),
                        PropTest::In(_) => push_ptr(&push_ptr(&cp, "value"), j),
                    };
                    errs.push(Error::schema(
                        &vp,
                        format!(
                            "type mismatch: property `{}` is {}, the value is a {}",
                            c.prop,
                            t.name(),
                            l.type_name()
                        ),
                    ));
                }
            }
        }
        Some(props)
    }

    fn check_pred(&self, p: &Predicate, ptr: &str, errs: &mut Vec<Error>) {
        let mismatch = |key: &str, attr: &Attr, t: AttrType, found: &str| {
            Error::schema(
                &push_ptr(ptr, key),
                format!("type mismatch: attribute `{attr}` is {}, {found}", t.name()),
            )
        };
        match p {
            Predicate::Compare { attr, op, value } => {
                if let Some(t) = self.attr_of(attr, ptr, "attr", errs) {
                    if t == AttrType::StringSet {
                        errs.push(mismatch("op", attr, t, "use `contains` (text: \"x\" in attr) for sets"));
                    } else if !t.accepts(value) {
                        errs.push(mismatch(
                            "value",
                            attr,
                            t,
                            &format!("the value is a {}", value.type_name()),
                        ));
                    } else if t == AttrType::Bool && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                        errs.push(Error::schema(
                            &push_ptr(ptr, "op"),
                            format!("operator `{}` does not apply to a bool attribute", op.json_name()),
                        ));
                    }
                }
            }
            Predicate::Between { attr, low, high } => {
                if let Some(t) = self.attr_of(attr, ptr, "attr", errs) {
                    if matches!(t, AttrType::Bool | AttrType::StringSet) {
                        errs.push(mismatch("op", attr, t, "`between` needs an ordered type"));
                    } else {
                        let vp = push_ptr(ptr, "value");
                        let mut ok = true;
                        for (i, l) in [low, high].into_iter().enumerate() {
                            if !t.accepts(l) {
                                ok = false;
                                errs.push(Error::schema(
                                    &push_ptr(&vp, i),
                                    format!(
                                        "type mismatch: attribute `{attr}` is {}, the bound is a {}",
                                        t.name(),
                                        l.type_name()
                                    ),
                                ));
                            }
                        }
                        if ok && crate::ast::literal_cmp(low, high) == Some(std::cmp::Ordering::Greater) {
                            errs.push(Error::schema(
                                &vp,
                                "impossible range: the low bound is above the high bound",
                            ));
                        }
                    }
                }
            }
            Predicate::In { attr, values } => {
                if let Some(t) = self.attr_of(attr, ptr, "attr", errs) {
                    if t == AttrType::StringSet {
                        errs.push(mismatch("op", attr, t, "use `contains` for sets"));
                    }
                    if values.is_empty() {
                        errs.push(Error::schema(&push_ptr(ptr, "value"), "an empty set never matches"));
                    }
                    for (i, l) in values.iter().enumerate() {
                        if t != AttrType::StringSet && !t.accepts(l) {
                            errs.push(Error::schema(
                                &push_ptr(&push_ptr(ptr, "value"), i),
                                format!(
                                    "type mismatch: attribute `{attr}` is {}, the value is a {}",
                                    t.name(),
                                    l.type_name()
                                ),
                            ));
                        }
                    }
                }
            }
            Predicate::Contains { attr, .. } => {
                if let Some(t) = self.attr_of(attr, ptr, "attr", errs) {
                    if t != AttrType::StringSet {
                        errs.push(mismatch("op", attr, t, "`contains` needs a string_set"));
                    }
                }
            }
            Predicate::StartsWith { attr, .. } => {
                if let Some(t) = self.attr_of(attr, ptr, "attr", errs) {
                    if t != AttrType::String {
                        errs.push(mismatch("op", attr, t, "`starts_with` needs a string"));
                    }
                }
            }
            Predicate::Exists(attr) | Predicate::Missing(attr) => {
                self.attr_of(attr, ptr, "attr", errs);
            }
            Predicate::Before { attr, at } | Predicate::After { attr, at } => {
                if let Some(t) = self.attr_of(attr, ptr, "attr", errs) {
                    if !matches!(t, AttrType::Date | AttrType::Timestamp) {
                        errs.push(mismatch("op", attr, t, "`before`/`after` need a date or timestamp"));
                    } else if !t.accepts(at) {
                        errs.push(mismatch(
                            "value",
                            attr,
                            t,
                            &format!("the value is a {}", at.type_name()),
                        ));
                    }
                }
            }
            Predicate::WithinLast { attr, window } => {
                if let Some(t) = self.attr_of(attr, ptr, "attr", errs) {
                    if t != AttrType::Timestamp {
                        errs.push(mismatch("op", attr, t, "`within_last` needs a timestamp"));
                    }
                }
                Self::check_window(*window, &push_ptr(ptr, "value"), errs);
            }
            Predicate::DaysSince { attr, op, days } => {
                if let Some(t) = self.attr_of(attr, ptr, "days_since", errs) {
                    if t != AttrType::Timestamp {
                        errs.push(mismatch("days_since", attr, t, "`days_since` needs a timestamp"));
                    }
                }
                check_days(*op, *days, &push_ptr(ptr, "value"), errs);
            }
            Predicate::Calendar { unit, attr, tz, test } => {
                if let Some(t) = self.attr_of(attr, ptr, "attr", errs) {
                    if !matches!(t, AttrType::Date | AttrType::Timestamp) {
                        errs.push(mismatch("attr", attr, t, "calendar tests need a date or timestamp"));
                    }
                }
                if jiff::tz::TimeZone::get(tz).is_err() {
                    errs.push(Error::schema(&push_ptr(ptr, "tz"), format!("unknown time zone `{tz}`")));
                }
                if let CalTest::In(vals) = test {
                    let (lo, hi) = unit.range();
                    let ip = push_ptr(ptr, "in");
                    if vals.is_empty() {
                        errs.push(Error::schema(&ip, "an empty set never matches"));
                    }
                    for (i, v) in vals.iter().enumerate() {
                        if !(lo..=hi).contains(v) {
                            errs.push(Error::schema(
                                &push_ptr(&ip, i),
                                format!("impossible {}: {v} is outside {lo}..={hi}", unit.name()),
                            ));
                        }
                    }
                }
            }
            Predicate::Count {
                event,
                window,
                op,
                value,
            } => {
                self.check_event(event, &push_ptr(ptr, "count"), errs);
                Self::check_window(*window, &push_ptr(ptr, "window"), errs);
                let never = matches!((op, *value), (CmpOp::Lt, v) if v <= 0)
                    || (*value < 0 && matches!(op, CmpOp::Eq | CmpOp::Le));
                if never {
                    errs.push(Error::schema(
                        &push_ptr(ptr, "value"),
                        "impossible count: a count is never negative",
                    ));
                }
            }
            Predicate::Aggregate {
                func,
                event,
                property,
                window,
                ..
            } => {
                let ep = push_ptr(ptr, func.name());
                if let Some(props) = self.check_event(event, &ep, errs) {
                    match props.get(property) {
                        None => errs.push(Error::schema(
                            &push_ptr(&ep, "property"),
                            format!("event `{}` has no property `{property}`", event.name),
                        )),
                        Some(AttrType::Number) => {}
                        Some(t) => errs.push(Error::schema(
                            &push_ptr(&ep, "property"),
                            format!(
                                "`{}` needs a number property; `{property}` is {}",
                                func.name(),
                                t.name()
                            ),
                        )),
                    }
                }
                Self::check_window(*window, &push_ptr(ptr, "window"), errs);
            }
            Predicate::Occurrence {
                which,
                event,
                window,
                test,
            } => {
                self.check_event(event, &push_ptr(ptr, which.name()), errs);
                if let Some(w) = window {
                    Self::check_window(*w, &push_ptr(ptr, "window"), errs);
                }
                match test {
                    TimeTest::Before(l) | TimeTest::After(l) => {
                        let key = if matches!(test, TimeTest::Before(_)) {
                            "before"
                        } else {
                            "after"
                        };
                        if !matches!(l, Literal::Time(_) | Literal::Date(_)) {
                            errs.push(Error::schema(
                                &push_ptr(ptr, key),
                                format!(
                                    "an occurrence time is compared with a date or timestamp, not a {}",
                                    l.type_name()
                                ),
                            ));
                        }
                    }
                    TimeTest::DaysSince(op, days) => {
                        check_days(*op, *days, &push_ptr(&push_ptr(ptr, "days_since"), "value"), errs)
                    }
                }
            }
            Predicate::Sequence {
                first,
                then_no,
                within,
                window,
            } => {
                let sp = push_ptr(ptr, "sequence");
                self.check_event(first, &push_ptr(&sp, "did"), errs);
                self.check_event(then_no, &push_ptr(&sp, "then_no"), errs);
                Self::check_window(*within, &push_ptr(&sp, "within"), errs);
                Self::check_window(*window, &push_ptr(&sp, "window"), errs);
                if within.secs() >= window.secs() {
                    errs.push(Error::schema(
                        &push_ptr(&sp, "within"),
                        format!("impossible window: the first event must be at least {within} old but the window is only {window}"),
                    ));
                }
            }
            Predicate::Demographic(_) | Predicate::Audience(_) | Predicate::Redelivery(_) => {
                errs.extend(check_line_only(p, ptr));
            }
        }
    }
}

/// Checks a LINE-only predicate (demographic, audience, redelivery) against what LINE accepts: an
/// age or subscription-period range needs `gte` below `lt`, an audience group id is positive.
/// `ptr` is the predicate's JSON pointer. Other predicates pass.
///
/// [`Schema::check`] runs it, and so does the narrowcast planner, which refuses to compile what
/// LINE would reject.
pub fn check_line_only(p: &Predicate, ptr: &str) -> Option<Error> {
    match p {
        Predicate::Demographic(Demographic::Age {
            gte: Some(g),
            lt: Some(l),
        })
        | Predicate::Demographic(Demographic::SubscriptionPeriod {
            gte: Some(g),
            lt: Some(l),
        }) if g >= l => Some(Error::schema(
            &push_ptr(ptr, "demographic"),
            format!("impossible range: `gte` ({g}) must be below `lt` ({l})"),
        )),
        Predicate::Audience(id) if *id <= 0 => Some(Error::schema(
            &push_ptr(ptr, "audience"),
            "an audience group id is positive",
        )),
        _ => None,
    }
}

/// [`check_line_only`] on every predicate of a segment (any depth; no recursion).
pub fn check_line_targets(segment: &Segment) -> Vec<Error> {
    let mut errs = Vec::new();
    segment.visit_predicates(&mut |ptr, p| errs.extend(check_line_only(p, ptr)));
    errs
}

fn check_days(op: CmpOp, days: i64, ptr: &str, errs: &mut Vec<Error>) {
    if days < 0 || (days == 0 && op == CmpOp::Lt) {
        errs.push(Error::schema(
            ptr,
            "impossible number of days: days since a past instant are never negative",
        ));
    }
}
