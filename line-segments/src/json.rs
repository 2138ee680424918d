//! The JSON form of a segment: the interchange format between services.
//!
//! The form is stable: fields are only ever added. Every node is an object, identified by its key:
//!
//! | Node | JSON |
//! |---|---|
//! | all / any | `{"all": [node, …]}`, `{"any": [node, …]}` (empty `all` is true, empty `any` is false) |
//! | not | `{"not": node}` |
//! | named segment | `{"ref": "vip"}` |
//! | comparison | `{"attr": "age", "op": "ge", "value": 20}` with `op` one of `eq ne lt le gt ge` |
//! | between (inclusive) | `{"attr": "age", "op": "between", "value": [20, 29]}` |
//! | in a set | `{"attr": "rank", "op": "in", "value": ["gold", "reine"]}` |
//! | tag set contains | `{"attr": "interests", "op": "contains", "value": "cosmetics"}` |
//! | starts with | `{"attr": "zip", "op": "starts_with", "value": "150"}` |
//! | exists / missing | `{"attr": "email", "op": "exists"}`, `{"attr": "email", "op": "missing"}` |
//! | before / after | `{"attr": "signup_at", "op": "before", "value": {"timestamp": "2026-01-01T00:00:00Z"}}` |
//! | within the last | `{"attr": "last_login", "op": "within_last", "value": "30d"}` |
//! | days since | `{"days_since": "signup_at", "op": "ge", "value": 7}` |
//! | calendar | `{"calendar": "month", "attr": "birthday", "tz": "Asia/Tokyo", "is": "current"}` or `"in": [5, 6]` |
//! | count | `{"count": {"event": "purchase", "where": [cond, …]}, "window": "90d", "op": "ge", "value": 2}` |
//! | sum, min, max, avg | `{"sum": {"event": "purchase", "property": "amount"}, "window": "365d", "op": "ge", "value": 10000}` |
//! | first / last | `{"last": {"event": "purchase"}, "window": "365d", "before": literal}` (or `"after"`, or `"days_since": {"op": "ge", "value": 30}`; `window` optional) |
//! | sequence | `{"sequence": {"did": {"event": "add_to_cart"}, "then_no": {"event": "purchase"}, "within": "1h", "window": "7d"}}` |
//! | LINE demographic | `{"demographic": {"type": "gender", "oneOf": ["female"]}}` (LINE's own object, without `operator`) |
//! | LINE audience | `{"audience": 1234567890}` |
//! | LINE redelivery | `{"redelivery": "request-id"}` |
//!
//! Attribute names are first-party names, or `line.is_friend`, `line.blocked`, `line.id_linked`,
//! `line.friend_since`, `line.friend_source`, `line.store`. Literals are JSON strings, numbers and
//! booleans, plus `{"date": "2026-05-01"}` and `{"timestamp": "2026-05-01T00:00:00Z"}`. Windows are
//! strings such as `"90d"`, `"12h"`, `"30m"`, `"45s"`, `"2w"`. An event condition (`where`) is
//! `{"prop": "category", "op": "eq", "value": "cosmetics"}` or `{"prop": "category", "op": "in", "value": [...]}`.
//!
//! Errors name the JSON pointer of the offending value. A segment nests at most
//! [`MAX_DEPTH`] levels of `not` and non-empty `all`/`any`: its JSON form then stays far below the
//! 128 levels `serde_json` reads, and the reader reports a deeper one at the pointer of the first
//! node past the limit.

use serde_json::{json, Map, Value};

use crate::ast::*;
use crate::error::{push_ptr, Error, Result};

/// Converts a segment to its JSON form.
///
/// Errors: [`crate::ErrorKind::TooDeep`] for a segment deeper than [`MAX_DEPTH`] (only Rust code
/// can build one; both readers refuse them), whose JSON form [`from_json`] would refuse.
pub fn to_json(segment: &Segment) -> Result<Value> {
    segment.check_depth()?;
    Ok(node_to_json(segment))
}

fn node_to_json(segment: &Segment) -> Value {
    match segment {
        Segment::All(c) => json!({ "all": c.iter().map(node_to_json).collect::<Vec<_>>() }),
        Segment::Any(c) => json!({ "any": c.iter().map(node_to_json).collect::<Vec<_>>() }),
        Segment::Not(inner) => json!({ "not": node_to_json(inner) }),
        Segment::Ref(name) => json!({ "ref": name }),
        Segment::Pred(p) => pred_to_json(p),
    }
}

/// Parses the JSON form of a segment. Errors name the JSON pointer of the offending value; a
/// segment nested deeper than [`MAX_DEPTH`] levels is [`crate::ErrorKind::TooDeep`] at the first
/// node past the limit.
pub fn from_json(value: &Value) -> Result<Segment> {
    parse_node(value, "", 0)
}

/// Parses a JSON document (text) holding a segment.
pub fn from_json_str(text: &str) -> Result<Segment> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Error::new(crate::ErrorKind::Json {
            place: crate::Place::Text {
                line: e.line(),
                column: e.column(),
            },
            message: strip_serde_position(&e.to_string()),
        })
    })?;
    from_json(&value)
}

pub(crate) fn strip_serde_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

impl serde::Serialize for Segment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        to_json(self).map_err(serde::ser::Error::custom)?.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Segment {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        from_json(&value).map_err(serde::de::Error::custom)
    }
}

/// Converts a literal to JSON.
pub fn literal_to_json(l: &Literal) -> Value {
    match l {
        Literal::Str(s) => Value::String(s.clone()),
        Literal::Num(n) => num_json(*n),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Date(d) => json!({ "date": d.to_string() }),
        Literal::Time(t) => json!({ "timestamp": t.to_string() }),
    }
}

fn num_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

fn event_json(e: &EventRef, property: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("event".into(), Value::String(e.name.clone()));
    if let Some(p) = property {
        m.insert("property".into(), Value::String(p.to_owned()));
    }
    if !e.filter.is_empty() {
        m.insert(
            "where".into(),
            Value::Array(
                e.filter
                    .iter()
                    .map(|c| match &c.test {
                        PropTest::Cmp(op, v) => json!({"prop": c.prop, "op": op.json_name(), "value": literal_to_json(v)}),
                        PropTest::In(vs) => {
                            json!({"prop": c.prop, "op": "in", "value": vs.iter().map(literal_to_json).collect::<Vec<_>>()})
                        }
                    })
                    .collect(),
            ),
        );
    }
    Value::Object(m)
}

fn time_test_json(m: &mut Map<String, Value>, t: &TimeTest) {
    match t {
        TimeTest::Before(l) => {
            m.insert("before".into(), literal_to_json(l));
        }
        TimeTest::After(l) => {
            m.insert("after".into(), literal_to_json(l));
        }
        TimeTest::DaysSince(op, n) => {
            m.insert("days_since".into(), json!({"op": op.json_name(), "value": n}));
        }
    }
}

/// Converts a demographic to LINE's demographic filter object.
pub fn demographic_to_json(d: &Demographic) -> Value {
    fn range(kind: &str, prefix: &str, gte: &Option<u32>, lt: &Option<u32>) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), Value::String(kind.into()));
        if let Some(g) = gte {
            m.insert("gte".into(), Value::String(format!("{prefix}{g}")));
        }
        if let Some(l) = lt {
            m.insert("lt".into(), Value::String(format!("{prefix}{l}")));
        }
        Value::Object(m)
    }
    match d {
        Demographic::Gender(v) => json!({"type": "gender", "oneOf": v}),
        Demographic::Area(v) => json!({"type": "area", "oneOf": v}),
        Demographic::AppType(v) => json!({"type": "appType", "oneOf": v}),
        Demographic::Age { gte, lt } => range("age", "age_", gte, lt),
        Demographic::SubscriptionPeriod { gte, lt } => range("subscriptionPeriod", "day_", gte, lt),
    }
}

fn pred_to_json(p: &Predicate) -> Value {
    match p {
        Predicate::Compare { attr, op, value } => {
            json!({"attr": attr.json_name(), "op": op.json_name(), "value": literal_to_json(value)})
        }
        Predicate::Between { attr, low, high } => {
            json!({"attr": attr.json_name(), "op": "between", "value": [literal_to_json(low), literal_to_json(high)]})
        }
        Predicate::In { attr, values } => {
            json!({"attr": attr.json_name(), "op": "in", "value": values.iter().map(literal_to_json).collect::<Vec<_>>()})
        }
        Predicate::Contains { attr, value } => json!({"attr": attr.json_name(), "op": "contains", "value": value}),
        Predicate::StartsWith { attr, prefix } => {
            json!({"attr": attr.json_name(), "op": "starts_with", "value": prefix})
        }
        Predicate::Exists(attr) => json!({"attr": attr.json_name(), "op": "exists"}),
        Predicate::Missing(attr) => json!({"attr": attr.json_name(), "op": "missing"}),
        Predicate::Before { attr, at } => {
            json!({"attr": attr.json_name(), "op": "before", "value": literal_to_json(at)})
        }
        Predicate::After { attr, at } => json!({"attr": attr.json_name(), "op": "after", "value": literal_to_json(at)}),
        Predicate::WithinLast { attr, window } => {
            json!({"attr": attr.json_name(), "op": "within_last", "value": window.to_string()})
        }
        Predicate::DaysSince { attr, op, days } => {
            json!({"days_since": attr.json_name(), "op": op.json_name(), "value": days})
        }
        Predicate::Calendar { unit, attr, tz, test } => {
            let mut m = Map::new();
            m.insert("calendar".into(), Value::String(unit.name().into()));
            m.insert("attr".into(), Value::String(attr.json_name()));
            m.insert("tz".into(), Value::String(tz.clone()));
            match test {
                CalTest::Current => m.insert("is".into(), Value::String("current".into())),
                CalTest::In(v) => m.insert("in".into(), json!(v)),
            };
            Value::Object(m)
        }
        Predicate::Count {
            event,
            window,
            op,
            value,
        } => {
            json!({"count": event_json(event, None), "window": window.to_string(), "op": op.json_name(), "value": value})
        }
        Predicate::Aggregate {
            func,
            event,
            property,
            window,
            op,
            value,
        } => {
            let mut m = Map::new();
            m.insert(func.name().into(), event_json(event, Some(property)));
            m.insert("window".into(), Value::String(window.to_string()));
            m.insert("op".into(), Value::String(op.json_name().into()));
            m.insert("value".into(), num_json(*value));
            Value::Object(m)
        }
        Predicate::Occurrence {
            which,
            event,
            window,
            test,
        } => {
            let mut m = Map::new();
            m.insert(which.name().into(), event_json(event, None));
            if let Some(w) = window {
                m.insert("window".into(), Value::String(w.to_string()));
            }
            time_test_json(&mut m, test);
            Value::Object(m)
        }
        Predicate::Sequence {
            first,
            then_no,
            within,
            window,
        } => json!({"sequence": {
            "did": event_json(first, None),
            "then_no": event_json(then_no, None),
            "within": within.to_string(),
            "window": window.to_string(),
        }}),
        Predicate::Demographic(d) => json!({ "demographic": demographic_to_json(d) }),
        Predicate::Audience(id) => json!({ "audience": id }),
        Predicate::Redelivery(id) => json!({ "redelivery": id }),
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

struct Obj<'a> {
    map: &'a Map<String, Value>,
    ptr: &'a str,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, ptr: &'a str, what: &str) -> Result<Self> {
        match v {
            Value::Object(map) => Ok(Self { map, ptr }),
            other => Err(Error::json(
                ptr,
                format!("expected {what} (an object), found {}", kind(other)),
            )),
        }
    }

    fn allow_only(&self, keys: &[&str]) -> Result<()> {
        for k in self.map.keys() {
            if !keys.contains(&k.as_str()) {
                return Err(Error::json(
                    &push_ptr(self.ptr, k),
                    format!("unexpected key `{k}`; allowed keys here are {}", keys.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<(&'a Value, String)> {
        self.map.get(key).map(|v| (v, push_ptr(self.ptr, key)))
    }

    fn req(&self, key: &str) -> Result<(&'a Value, String)> {
        self.get(key)
            .ok_or_else(|| Error::json(self.ptr, format!("missing required key `{key}`")))
    }

    fn str(&self, key: &str) -> Result<(&'a str, String)> {
        let (v, p) = self.req(key)?;
        match v {
            Value::String(s) => Ok((s.as_str(), p)),
            other => Err(Error::json(&p, format!("expected a string, found {}", kind(other)))),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn array<'a>(v: &'a Value, ptr: &str) -> Result<&'a Vec<Value>> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(Error::json(ptr, format!("expected an array, found {}", kind(other)))),
    }
}

/// Integers are read within the bound the text form reads (below 9e15 in magnitude, where
/// every integer is exact as a number), so every segment read from JSON prints as text
/// that parses back.
fn int(v: &Value, ptr: &str) -> Result<i64> {
    let n = v
        .as_i64()
        .ok_or_else(|| Error::json(ptr, format!("expected an integer, found {}", kind(v))))?;
    if n.unsigned_abs() >= 9_000_000_000_000_000 {
        return Err(Error::json(
            ptr,
            format!("integer {n} is out of range (at most 8999999999999999 in magnitude)"),
        ));
    }
    Ok(n)
}

fn number(v: &Value, ptr: &str) -> Result<f64> {
    match v.as_f64() {
        Some(n) if n.is_finite() => Ok(n),
        _ => Err(Error::json(ptr, format!("expected a number, found {}", kind(v)))),
    }
}

fn window(v: &Value, ptr: &str) -> Result<Window> {
    match v {
        Value::String(s) => Window::parse(s).ok_or_else(|| {
            Error::json(
                ptr,
                format!("invalid window `{s}`: expected a number and a unit (s, m, h, d, w) such as `90d`"),
            )
        }),
        other => Err(Error::json(
            ptr,
            format!("expected a window string such as \"90d\", found {}", kind(other)),
        )),
    }
}

fn name(v: &Value, ptr: &str, what: &str) -> Result<String> {
    match v {
        Value::String(s) => {
            check_name(s).map_err(|m| Error::json(ptr, format!("invalid {what}: {m}")))?;
            Ok(s.clone())
        }
        other => Err(Error::json(
            ptr,
            format!("expected {what} (a string), found {}", kind(other)),
        )),
    }
}

/// Names (attributes, events, properties, segments) are non-empty and hold no backtick or control character.
pub(crate) fn check_name(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() {
        return Err("the name is empty".into());
    }
    if let Some(c) = s.chars().find(|c| *c == '`' || c.is_control()) {
        return Err(format!("the name contains the character {c:?}"));
    }
    Ok(())
}

fn attr(v: &Value, ptr: &str) -> Result<Attr> {
    let n = name(v, ptr, "attribute name")?;
    Attr::from_json_name(&n).ok_or_else(|| {
        Error::json(
            ptr,
            format!(
                "unknown LINE fact `{n}`; LINE facts are {}",
                LineFact::ALL.map(|f| format!("line.{}", f.name())).join(", ")
            ),
        )
    })
}

/// The date or timestamp that `op` (`before`, `after`) compares with, at `ptr`.
fn time_literal(v: &Value, ptr: &str, op: &str) -> Result<Literal> {
    let at = literal_from_json(v, ptr)?;
    if !matches!(at, Literal::Date(_) | Literal::Time(_)) {
        return Err(Error::json(
            ptr,
            format!(
                "`{op}` needs {{\"date\": …}} or {{\"timestamp\": …}}, found a {}",
                at.type_name()
            ),
        ));
    }
    Ok(at)
}

/// Parses a literal from JSON.
pub fn literal_from_json(v: &Value, ptr: &str) -> Result<Literal> {
    match v {
        Value::String(s) => Ok(Literal::Str(s.clone())),
        Value::Bool(b) => Ok(Literal::Bool(*b)),
        Value::Number(_) => Ok(Literal::Num(number(v, ptr)?)),
        Value::Object(m) if m.len() == 1 && m.contains_key("date") => {
            let p = push_ptr(ptr, "date");
            match &m["date"] {
                Value::String(s) => s
                    .parse::<jiff::civil::Date>()
                    .map(Literal::Date)
                    .map_err(|e| Error::json(&p, format!("invalid date `{s}`: {e}"))),
                other => Err(Error::json(
                    &p,
                    format!("expected a date string, found {}", kind(other)),
                )),
            }
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("timestamp") => {
            let p = push_ptr(ptr, "timestamp");
            match &m["timestamp"] {
                Value::String(s) => s
                    .parse::<jiff::Timestamp>()
                    .map(Literal::Time)
                    .map_err(|e| Error::json(&p, format!("invalid RFC 3339 timestamp `{s}`: {e}"))),
                other => Err(Error::json(
                    &p,
                    format!("expected a timestamp string, found {}", kind(other)),
                )),
            }
        }
        other => Err(Error::json(
            ptr,
            format!(
                "expected a literal (string, number, boolean, {{\"date\": …}} or {{\"timestamp\": …}}), found {}",
                kind(other)
            ),
        )),
    }
}

fn literals(v: &Value, ptr: &str) -> Result<Vec<Literal>> {
    array(v, ptr)?
        .iter()
        .enumerate()
        .map(|(i, x)| literal_from_json(x, &push_ptr(ptr, i)))
        .collect()
}

fn cmp_op(v: &Value, ptr: &str) -> Result<CmpOp> {
    match v {
        Value::String(s) => CmpOp::from_json_name(s).ok_or_else(|| {
            Error::json(
                ptr,
                format!("unknown operator `{s}`; expected one of eq, ne, lt, le, gt, ge"),
            )
        }),
        other => Err(Error::json(
            ptr,
            format!("expected an operator string, found {}", kind(other)),
        )),
    }
}

fn event_ref(v: &Value, ptr: &str, with_property: bool) -> Result<(EventRef, Option<String>)> {
    let o = Obj::new(v, ptr, "an event reference")?;
    if with_property {
        o.allow_only(&["event", "property", "where"])?;
    } else {
        o.allow_only(&["event", "where"])?;
    }
    let (ev, ev_ptr) = o.req("event")?;
    let name = name(ev, &ev_ptr, "event name")?;
    let property = if with_property {
        let (pv, pp) = o.req("property")?;
        Some(self::name(pv, &pp, "property name")?)
    } else {
        None
    };
    let mut filter = Vec::new();
    if let Some((w, wp)) = o.get("where") {
        for (i, c) in array(w, &wp)?.iter().enumerate() {
            let cp = push_ptr(&wp, i);
            let co = Obj::new(c, &cp, "an event condition")?;
            co.allow_only(&["prop", "op", "value"])?;
            let (pv, pp) = co.req("prop")?;
            let prop = self::name(pv, &pp, "property name")?;
            let (op, op_ptr) = co.str("op")?;
            let (val, val_ptr) = co.req("value")?;
            let test = if op == "in" {
                PropTest::In(literals(val, &val_ptr)?)
            } else {
                PropTest::Cmp(
                    cmp_op(&Value::String(op.into()), &op_ptr)?,
                    literal_from_json(val, &val_ptr)?,
                )
            };
            filter.push(PropCond { prop, test });
        }
    }
    Ok((EventRef { name, filter }, property))
}

/// Parses the node at `ptr`, below `above` levels of `not` and non-empty `all`/`any`.
fn parse_node(v: &Value, ptr: &str, above: usize) -> Result<Segment> {
    let o = Obj::new(v, ptr, "a segment node")?;
    let keys = [
        "all",
        "any",
        "not",
        "ref",
        "calendar",
        "count",
        "sum",
        "min",
        "max",
        "avg",
        "first",
        "last",
        "sequence",
        "demographic",
        "audience",
        "redelivery",
        "days_since",
        "attr",
    ];
    let Some(key) = keys.iter().find(|k| o.map.contains_key(**k)) else {
        return Err(Error::json(
            ptr,
            format!(
                "not a segment node: expected an object with one of the keys {}",
                keys.join(", ")
            ),
        ));
    };
    match *key {
        "all" | "any" => {
            o.allow_only(&[key])?;
            let (list, lp) = o.req(key)?;
            let items = array(list, &lp)?;
            if !items.is_empty() && above >= MAX_DEPTH {
                return Err(Error::too_deep(crate::Place::Pointer(ptr.to_owned())));
            }
            let children = items
                .iter()
                .enumerate()
                .map(|(i, c)| parse_node(c, &push_ptr(&lp, i), above + 1))
                .collect::<Result<Vec<_>>>()?;
            Ok(if *key == "all" {
                Segment::All(children)
            } else {
                Segment::Any(children)
            })
        }
        "not" => {
            o.allow_only(&["not"])?;
            let (inner, ip) = o.req("not")?;
            if above >= MAX_DEPTH {
                return Err(Error::too_deep(crate::Place::Pointer(ptr.to_owned())));
            }
            Ok(Segment::Not(Box::new(parse_node(inner, &ip, above + 1)?)))
        }
        "ref" => {
            o.allow_only(&["ref"])?;
            let (r, rp) = o.req("ref")?;
            Ok(Segment::Ref(name(r, &rp, "segment name")?))
        }
        "attr" => parse_attr_pred(&o).map(Segment::Pred),
        "days_since" => {
            o.allow_only(&["days_since", "op", "value"])?;
            let (a, ap) = o.req("days_since")?;
            let (op, opp) = o.req("op")?;
            let (val, vp) = o.req("value")?;
            Ok(Segment::Pred(Predicate::DaysSince {
                attr: attr(a, &ap)?,
                op: cmp_op(op, &opp)?,
                days: int(val, &vp)?,
            }))
        }
        "calendar" => {
            o.allow_only(&["calendar", "attr", "tz", "is", "in"])?;
            let (u, up) = o.str("calendar")?;
            let unit = CalUnit::from_name(u).ok_or_else(|| {
                Error::json(
                    &up,
                    format!("unknown calendar field `{u}`; expected month, day or weekday"),
                )
            })?;
            let (a, ap) = o.req("attr")?;
            let (tz, _) = o.str("tz")?;
            let test = match (o.get("is"), o.get("in")) {
                (Some((Value::String(s), _)), None) if s == "current" => CalTest::Current,
                (Some((_, p)), None) => return Err(Error::json(&p, "expected the string \"current\"")),
                (None, Some((list, lp))) => CalTest::In(
                    array(list, &lp)?
                        .iter()
                        .enumerate()
                        .map(|(i, x)| int(x, &push_ptr(&lp, i)))
                        .collect::<Result<_>>()?,
                ),
                _ => return Err(Error::json(ptr, "a calendar test needs exactly one of `is` or `in`")),
            };
            Ok(Segment::Pred(Predicate::Calendar {
                unit,
                attr: attr(a, &ap)?,
                tz: tz.to_owned(),
                test,
            }))
        }
        "count" => {
            o.allow_only(&["count", "window", "op", "value"])?;
            let (e, ep) = o.req("count")?;
            let (event, _) = event_ref(e, &ep, false)?;
            let (w, wp) = o.req("window")?;
            let (op, opp) = o.req("op")?;
            let (val, vp) = o.req("value")?;
            Ok(Segment::Pred(Predicate::Count {
                event,
                window: window(w, &wp)?,
                op: cmp_op(op, &opp)?,
                value: int(val, &vp)?,
            }))
        }
        "sum" | "min" | "max" | "avg" => {
            o.allow_only(&[key, "window", "op", "value"])?;
            let (e, ep) = o.req(key)?;
            let (event, property) = event_ref(e, &ep, true)?;
            let (w, wp) = o.req("window")?;
            let (op, opp) = o.req("op")?;
            let (val, vp) = o.req("value")?;
            Ok(Segment::Pred(Predicate::Aggregate {
                func: AggFunc::from_name(key).unwrap_or(AggFunc::Sum),
                event,
                property: property.unwrap_or_default(),
                window: window(w, &wp)?,
                op: cmp_op(op, &opp)?,
                value: number(val, &vp)?,
            }))
        }
        "first" | "last" => {
            o.allow_only(&[key, "window", "before", "after", "days_since"])?;
            let (e, ep) = o.req(key)?;
            let (event, _) = event_ref(e, &ep, false)?;
            let win = match o.get("window") {
                Some((w, wp)) => Some(window(w, &wp)?),
                None => None,
            };
            let test = match (o.get("before"), o.get("after"), o.get("days_since")) {
                (Some((l, lp)), None, None) => TimeTest::Before(time_literal(l, &lp, "before")?),
                (None, Some((l, lp)), None) => TimeTest::After(time_literal(l, &lp, "after")?),
                (None, None, Some((d, dp))) => {
                    let d_obj = Obj::new(d, &dp, "a days-since test")?;
                    d_obj.allow_only(&["op", "value"])?;
                    let (op, opp) = d_obj.req("op")?;
                    let (val, vp) = d_obj.req("value")?;
                    TimeTest::DaysSince(cmp_op(op, &opp)?, int(val, &vp)?)
                }
                _ => {
                    return Err(Error::json(
                        ptr,
                        "an occurrence needs exactly one of `before`, `after` or `days_since`",
                    ))
                }
            };
            Ok(Segment::Pred(Predicate::Occurrence {
                which: if *key == "first" { Which::First } else { Which::Last },
                event,
                window: win,
                test,
            }))
        }
        "sequence" => {
            o.allow_only(&["sequence"])?;
            let (s, sp) = o.req("sequence")?;
            let so = Obj::new(s, &sp, "a sequence")?;
            so.allow_only(&["did", "then_no", "within", "window"])?;
            let (d, dp) = so.req("did")?;
            let (n, np) = so.req("then_no")?;
            let (wi, wip) = so.req("within")?;
            let (w, wp) = so.req("window")?;
            Ok(Segment::Pred(Predicate::Sequence {
                first: event_ref(d, &dp, false)?.0,
                then_no: event_ref(n, &np, false)?.0,
                within: window(wi, &wip)?,
                window: window(w, &wp)?,
            }))
        }
        "demographic" => {
            o.allow_only(&["demographic"])?;
            let (d, dp) = o.req("demographic")?;
            Ok(Segment::Pred(Predicate::Demographic(demographic_from_json(d, &dp)?)))
        }
        "audience" => {
            o.allow_only(&["audience"])?;
            let (a, ap) = o.req("audience")?;
            Ok(Segment::Pred(Predicate::Audience(int(a, &ap)?)))
        }
        _ => {
            o.allow_only(&["redelivery"])?;
            let (r, rp) = o.str("redelivery")?;
            if r.is_empty() {
                return Err(Error::json(&rp, "the request id is empty"));
            }
            Ok(Segment::Pred(Predicate::Redelivery(r.to_owned())))
        }
    }
}

fn parse_attr_pred(o: &Obj<'_>) -> Result<Predicate> {
    o.allow_only(&["attr", "op", "value"])?;
    let (a, ap) = o.req("attr")?;
    let attr = attr(a, &ap)?;
    let (op, opp) = o.str("op")?;
    let value = || o.req("value");
    let string = |what: &str| -> Result<String> {
        let (v, vp) = value()?;
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(Error::json(
                &vp,
                format!("expected {what} (a string), found {}", kind(other)),
            )),
        }
    };
    Ok(match op {
        "exists" | "missing" => {
            if let Some((_, vp)) = o.get("value") {
                return Err(Error::json(&vp, format!("`{op}` takes no value")));
            }
            if op == "exists" {
                Predicate::Exists(attr)
            } else {
                Predicate::Missing(attr)
            }
        }
        "between" => {
            let (v, vp) = value()?;
            let list = literals(v, &vp)?;
            let [low, high]: [Literal; 2] = list
                .try_into()
                .map_err(|_| Error::json(&vp, "`between` takes an array of exactly two literals [low, high]"))?;
            Predicate::Between { attr, low, high }
        }
        "in" => {
            let (v, vp) = value()?;
            Predicate::In {
                attr,
                values: literals(v, &vp)?,
            }
        }
        "contains" => Predicate::Contains {
            attr,
            value: string("an element")?,
        },
        "starts_with" => Predicate::StartsWith {
            attr,
            prefix: string("a prefix")?,
        },
        "before" | "after" => {
            let (v, vp) = value()?;
            let at = time_literal(v, &vp, op)?;
            if op == "before" {
                Predicate::Before { attr, at }
            } else {
                Predicate::After { attr, at }
            }
        }
        "within_last" => {
            let (v, vp) = value()?;
            Predicate::WithinLast {
                attr,
                window: window(v, &vp)?,
            }
        }
        other => match CmpOp::from_json_name(other) {
            Some(cmp) => {
                let (v, vp) = value()?;
                Predicate::Compare {
                    attr,
                    op: cmp,
                    value: literal_from_json(v, &vp)?,
                }
            }
            None => {
                return Err(Error::json(
                    &opp,
                    format!(
                        "unknown operator `{other}`; expected one of eq, ne, lt, le, gt, ge, between, in, contains, starts_with, exists, missing, before, after, within_last"
                    ),
                ))
            }
        },
    })
}

/// Parses LINE's demographic filter object (without `operator`, which the segment tree expresses).
pub fn demographic_from_json(v: &Value, ptr: &str) -> Result<Demographic> {
    let o = Obj::new(v, ptr, "a LINE demographic filter object")?;
    let (t, tp) = o.str("type")?;
    let one_of = |allowed: &dyn Fn(&str) -> bool, what: &str| -> Result<Vec<String>> {
        o.allow_only(&["type", "oneOf"])?;
        let (list, lp) = o.req("oneOf")?;
        let items = array(list, &lp)?;
        if items.is_empty() {
            return Err(Error::json(&lp, "`oneOf` is empty"));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let xp = push_ptr(&lp, i);
                match x {
                    Value::String(s) if allowed(s) => Ok(s.clone()),
                    Value::String(s) => Err(Error::json(&xp, format!("`{s}` is not a LINE {what}"))),
                    other => Err(Error::json(&xp, format!("expected a string, found {}", kind(other)))),
                }
            })
            .collect()
    };
    let range = |prefix: &str, allowed: &[u32]| -> Result<(Option<u32>, Option<u32>)> {
        o.allow_only(&["type", "gte", "lt"])?;
        let mut out = [None, None];
        for (slot, key) in out.iter_mut().zip(["gte", "lt"]) {
            if let Some((x, xp)) = o.get(key) {
                let n = x
                    .as_str()
                    .and_then(|s| s.strip_prefix(prefix))
                    .and_then(|s| s.parse::<u32>().ok())
                    .filter(|n| allowed.contains(n))
                    .ok_or_else(|| {
                        Error::json(
                            &xp,
                            format!(
                                "expected one of {}",
                                allowed
                                    .iter()
                                    .map(|n| format!("\"{prefix}{n}\""))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    })?;
                *slot = Some(n);
            }
        }
        if out == [None, None] {
            return Err(Error::json(ptr, "a range filter needs `gte`, `lt` or both"));
        }
        Ok((out[0], out[1]))
    };
    match t {
        "gender" => Ok(Demographic::Gender(one_of(&|s| GENDERS.contains(&s), "gender")?)),
        "appType" => Ok(Demographic::AppType(one_of(&|s| APP_TYPES.contains(&s), "app type")?)),
        "area" => Ok(Demographic::Area(one_of(&is_area_code, "area code")?)),
        "age" => {
            let (gte, lt) = range("age_", &AGE_BANDS)?;
            Ok(Demographic::Age { gte, lt })
        }
        "subscriptionPeriod" => {
            let (gte, lt) = range("day_", &SUBSCRIPTION_PERIODS)?;
            Ok(Demographic::SubscriptionPeriod { gte, lt })
        }
        "operator" => Err(Error::json(
            &tp,
            "operator objects are not accepted here: express and/or/not with the segment's all/any/not",
        )),
        other => Err(Error::json(
            &tp,
            format!("unknown demographic type `{other}`; expected gender, age, area, appType or subscriptionPeriod"),
        )),
    }
}
