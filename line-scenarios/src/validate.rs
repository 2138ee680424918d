//! Validation before anything runs.
//!
//! [`validate`] reports every problem of a scenario, each naming the step (when there is one) and
//! the JSON pointer of the offending value in the scenario's JSON form:
//!
//! - unknown step targets (`next`, `then`, `else`, split arms), duplicate step ids, no steps;
//! - steps no path from the first step reaches;
//! - loops that pass through no wait (they would spin without end);
//! - template variables with no source, event variables without an event trigger, Flex contents
//!   LINE would reject, sends of 0 or more than 5 messages;
//! - segments (entry and branch conditions) that do not type-check against the host schema or
//!   cannot be evaluated in process;
//! - waits outside sane bounds (1 minute to 400 days), split weights of 0, unknown time zones,
//!   triggers that match nothing, malformed friend-source codes in follow triggers, scenarios
//!   started or stopped that do not exist.
//!
//! ```
//! use line_scenarios::validate::{validate, Options};
//! let s = line_scenarios::json::from_str(r#"{"id": "x", "trigger": {"follow": {}}, "steps": [
//!   {"id": "a", "wait": {"for": "30s"}, "next": "nowhere"},
//!   {"id": "b", "exit": {}}
//! ]}"#).unwrap();
//! let problems = validate(&s, &Options::default());
//! let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
//! assert_eq!(text, [
//!     "step `a` at /steps/0/next: unknown step `nowhere`",
//!     "step `a` at /steps/0/wait/for: a wait of 30s is shorter than the minimum of 1m",
//!     "step `b` at /steps/1: unreachable from the first step",
//! ]);
//! ```

use std::collections::{BTreeSet, HashMap};

use line_segments::eval::CompiledSegment;
use line_segments::schema::{AttrType, Schema};
use line_segments::Segment;

pub use crate::error::Problem;
use crate::model::bounds::{MAX_WAIT_SECS, MIN_WAIT_SECS};
use crate::model::*;

/// What validation checks against.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// The host schema: segments, attributes and events are type-checked against it.
    pub schema: Option<Schema>,
    /// The ids of the scenarios that exist, for `start` and `stop` acts (`None`: not checked).
    pub scenarios: Option<BTreeSet<String>>,
}

impl Options {
    /// Checks against a schema.
    #[must_use]
    pub fn with_schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Checks `start` and `stop` targets against these scenario ids.
    #[must_use]
    pub fn with_scenarios(mut self, ids: impl IntoIterator<Item = String>) -> Self {
        self.scenarios = Some(ids.into_iter().collect());
        self
    }
}

/// Validates several scenarios together (ids unique, `start`/`stop` targets known).
pub fn validate_all(scenarios: &[Scenario], options: &Options) -> Vec<(String, Problem)> {
    let mut options = options.clone();
    if options.scenarios.is_none() {
        options.scenarios = Some(scenarios.iter().map(|s| s.id.clone()).collect());
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for s in scenarios {
        if !seen.insert(s.id.as_str()) {
            out.push((
                s.id.clone(),
                Problem {
                    step: None,
                    pointer: "/id".into(),
                    message: format!("a second scenario with id `{}`", s.id),
                },
            ));
        }
        out.extend(validate(s, &options).into_iter().map(|p| (s.id.clone(), p)));
    }
    out
}

struct Ctx<'a> {
    out: Vec<Problem>,
    options: &'a Options,
}

impl Ctx<'_> {
    fn push(&mut self, step: Option<&str>, pointer: impl Into<String>, message: impl Into<String>) {
        self.out.push(Problem {
            step: step.map(str::to_owned),
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    fn segment(&mut self, step: Option<&str>, base: &str, segment: &Segment) {
        if let Some(schema) = &self.options.schema {
            for e in schema.check(segment) {
                let (ptr, msg) = match e.place() {
                    Some(line_segments::Place::Pointer(p)) => (format!("{base}{p}"), e.to_string()),
                    _ => (base.to_owned(), e.to_string()),
                };
                self.push(step, ptr, msg);
            }
        }
        if let Err(e) = CompiledSegment::compile(segment) {
            let ptr = match e.place() {
                Some(line_segments::Place::Pointer(p)) => format!("{base}{p}"),
                _ => base.to_owned(),
            };
            self.push(step, ptr, e.to_string());
        }
    }

    fn event(&mut self, step: Option<&str>, pointer: &str, name: &str) {
        if let Some(schema) = &self.options.schema {
            if !schema.events.is_empty() && !schema.events.contains_key(name) {
                self.push(step, pointer, format!("event `{name}` is not in the schema"));
            }
        }
    }

    fn attribute(&mut self, step: Option<&str>, pointer: &str, name: &str, want: Option<AttrType>) {
        let Some(schema) = &self.options.schema else { return };
        match (schema.attributes.get(name), want) {
            (None, _) if !schema.attributes.is_empty() => {
                self.push(step, pointer, format!("attribute `{name}` is not in the schema"))
            }
            (Some(have), Some(want)) if *have != want => self.push(
                step,
                pointer,
                format!("attribute `{name}` is a {}, not a {}", have.name(), want.name()),
            ),
            _ => {}
        }
    }
}

/// Every problem of `scenario` (empty when it is valid).
pub fn validate(scenario: &Scenario, options: &Options) -> Vec<Problem> {
    let mut cx = Ctx {
        out: Vec::new(),
        options,
    };
    if scenario.id.is_empty()
        || !scenario
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        cx.push(
            None,
            "/id",
            "a scenario id is non-empty and uses only ASCII letters, digits, `_`, `-` and `.`",
        );
    }
    if let Some(tz) = &scenario.time_zone {
        if jiff::tz::TimeZone::get(tz).is_err() {
            cx.push(None, "/time_zone", format!("unknown time zone `{tz}`"));
        }
    }
    check_trigger(&mut cx, scenario);
    if let Some(seg) = &scenario.entry.segment {
        cx.segment(None, "/entry/segment", seg);
    }
    if let Reentry::OncePer(w) = scenario.entry.reentry {
        if w.secs() == 0 {
            cx.push(
                None,
                "/entry/reentry/once_per",
                "a re-entry period must be longer than 0",
            );
        }
    }
    for (i, g) in scenario.goals.iter().enumerate() {
        cx.event(None, &format!("/goals/{i}/event"), &g.event);
    }

    if scenario.steps.is_empty() {
        cx.push(None, "/steps", "a scenario needs at least one step");
        return cx.out;
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, s) in scenario.steps.iter().enumerate() {
        if s.id.is_empty() {
            cx.push(Some(&s.id), format!("/steps/{i}/id"), "a step id is non-empty");
        }
        if index.insert(s.id.as_str(), i).is_some() {
            cx.push(
                Some(&s.id),
                format!("/steps/{i}/id"),
                format!("a second step with id `{}`", s.id),
            );
        }
    }
    if scenario.steps.len() > usize::from(u16::MAX - 1) {
        cx.push(None, "/steps", "too many steps");
        return cx.out;
    }

    // Edges, with unknown targets reported.
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); scenario.steps.len()];
    for (i, s) in scenario.steps.iter().enumerate() {
        let mut target = |cx: &mut Ctx<'_>, name: &str, ptr: String| match index.get(name) {
            Some(&j) => edges[i].push(j),
            None => cx.push(Some(&s.id), ptr, format!("unknown step `{name}`")),
        };
        match &s.kind {
            StepKind::Branch { then, otherwise, .. } => {
                target(&mut cx, then, format!("/steps/{i}/then"));
                target(&mut cx, otherwise, format!("/steps/{i}/else"));
            }
            StepKind::Split(arms) => {
                for (k, arm) in arms.iter().enumerate() {
                    target(&mut cx, &arm.next, format!("/steps/{i}/split/{k}/next"));
                }
            }
            StepKind::Exit => {}
            _ => match &s.next {
                Some(n) => target(&mut cx, n, format!("/steps/{i}/next")),
                None if i + 1 < scenario.steps.len() => edges[i].push(i + 1),
                None => {}
            },
        }
        check_step(&mut cx, scenario, i, s);
    }

    // Reachability from the first step.
    let mut seen = vec![false; scenario.steps.len()];
    let mut stack = vec![0];
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        stack.extend(edges[i].iter().copied());
    }
    for (i, s) in scenario.steps.iter().enumerate() {
        if !seen[i] {
            cx.push(Some(&s.id), format!("/steps/{i}"), "unreachable from the first step");
        }
    }

    // Loops through no wait: a cycle among the non-wait steps.
    let is_wait = |i: usize| matches!(scenario.steps[i].kind, StepKind::Wait(_));
    let mut color = vec![0u8; scenario.steps.len()]; // 0 new, 1 on stack, 2 done
    for start in 0..scenario.steps.len() {
        if color[start] != 0 || is_wait(start) {
            continue;
        }
        // Iterative DFS with an explicit edge cursor.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        color[start] = 1;
        while let Some(&mut (node, ref mut k)) = stack.last_mut() {
            if let Some(&next) = edges[node].get(*k) {
                *k += 1;
                if is_wait(next) {
                    continue;
                }
                match color[next] {
                    0 => {
                        color[next] = 1;
                        stack.push((next, 0));
                    }
                    1 => {
                        let s = &scenario.steps[node];
                        cx.push(
                            Some(&s.id),
                            format!("/steps/{node}"),
                            format!("a loop back to step `{}` with no wait in it", scenario.steps[next].id),
                        );
                    }
                    _ => {}
                }
            } else {
                color[node] = 2;
                stack.pop();
            }
        }
    }
    cx.out.sort_by_key(|p| order_key(&p.pointer));
    cx.out
}

/// Sorts pointers by step number, then text, so problems come in document order.
fn order_key(pointer: &str) -> (u8, usize, String) {
    if let Some(rest) = pointer.strip_prefix("/steps/") {
        let n: usize = rest.split('/').next().and_then(|x| x.parse().ok()).unwrap_or(0);
        (1, n, pointer.to_owned())
    } else if pointer.starts_with("/goals") {
        (2, 0, pointer.to_owned())
    } else {
        (0, 0, pointer.to_owned())
    }
}

fn check_trigger(cx: &mut Ctx<'_>, scenario: &Scenario) {
    match &scenario.trigger {
        Trigger::Postback { data, prefix } if data.is_none() && prefix.is_none() => {
            cx.push(None, "/trigger/postback", "a postback trigger needs `data` or `prefix`")
        }
        Trigger::Message(m) => {
            if m.keywords.is_empty() && m.patterns.is_empty() {
                cx.push(
                    None,
                    "/trigger/message",
                    "a message trigger needs `keywords` or `patterns`",
                );
            }
            for (i, k) in m.keywords.iter().enumerate() {
                if k.trim().is_empty() {
                    cx.push(
                        None,
                        format!("/trigger/message/keywords/{i}"),
                        "an empty keyword matches nothing",
                    );
                }
            }
            for (i, p) in m.patterns.iter().enumerate() {
                if p.trim().is_empty() {
                    cx.push(
                        None,
                        format!("/trigger/message/patterns/{i}"),
                        "an empty pattern matches nothing",
                    );
                }
            }
        }
        Trigger::Event(e) => {
            cx.event(None, "/trigger/event/name", &e.name);
        }
        Trigger::Birthday(b) => {
            cx.attribute(None, "/trigger/birthday/attribute", &b.attribute, Some(AttrType::Date));
        }
        Trigger::Follow {
            source: Some(FollowSource::Code(code)),
        } => {
            if let Err(reason) = check_code(code) {
                cx.push(None, "/trigger/follow/source", reason);
            }
        }
        _ => {}
    }
}

fn check_step(cx: &mut Ctx<'_>, scenario: &Scenario, i: usize, s: &Step) {
    let id = Some(s.id.as_str());
    match &s.kind {
        StepKind::Wait(Wait::For(w)) => {
            let ptr = format!("/steps/{i}/wait/for");
            if w.secs() < MIN_WAIT_SECS {
                cx.push(
                    id,
                    ptr,
                    format!(
                        "a wait of {w} is shorter than the minimum of {}",
                        line_segments::Window::from_secs(MIN_WAIT_SECS)
                    ),
                );
            } else if w.secs() > MAX_WAIT_SECS {
                cx.push(
                    id,
                    ptr,
                    format!(
                        "a wait of {w} is longer than the maximum of {}",
                        line_segments::Window::from_secs(MAX_WAIT_SECS)
                    ),
                );
            }
        }
        StepKind::Wait(_) => {}
        StepKind::Branch { condition, .. } => match condition {
            Condition::Segment(seg) => cx.segment(id, &format!("/steps/{i}/if/segment"), seg),
            Condition::EventSinceEntry(e) => cx.event(id, &format!("/steps/{i}/if/event_since_entry/name"), &e.name),
        },
        StepKind::Send(send) => check_send(cx, scenario, i, s, send),
        StepKind::Split(arms) => {
            if arms.is_empty() {
                cx.push(id, format!("/steps/{i}/split"), "a split needs at least one arm");
            }
            for (k, arm) in arms.iter().enumerate() {
                if arm.weight == 0 {
                    cx.push(id, format!("/steps/{i}/split/{k}/weight"), "a weight is at least 1");
                }
            }
        }
        StepKind::Act(act) => {
            let base = format!("/steps/{i}/act");
            match act {
                Act::AddTag(t) | Act::RemoveTag(t) if t.is_empty() => cx.push(id, base, "an empty tag"),
                Act::AddTag(_) | Act::RemoveTag(_) => {
                    cx.attribute(id, &base, crate::profiles::TAGS, Some(AttrType::StringSet))
                }
                Act::SetAttribute { name, value } => {
                    cx.attribute(id, &format!("{base}/set_attribute/name"), name, Some(value.attr_type()));
                }
                Act::RemoveAttribute(name) => cx.attribute(id, &format!("{base}/remove_attribute"), name, None),
                Act::RichMenu(m) if m.is_empty() => cx.push(id, format!("{base}/rich_menu"), "an empty rich menu"),
                Act::Start(other) | Act::Stop(other) => {
                    let key = if matches!(act, Act::Start(_)) { "start" } else { "stop" };
                    if let Some(known) = &cx.options.scenarios {
                        if !known.contains(other) {
                            cx.push(id, format!("{base}/{key}"), format!("unknown scenario `{other}`"));
                        }
                    }
                }
                _ => {}
            }
        }
        StepKind::Exit => {}
    }
}

fn check_send(cx: &mut Ctx<'_>, scenario: &Scenario, i: usize, s: &Step, send: &Send) {
    let id = Some(s.id.as_str());
    match &send.content {
        Content::Messages(m) => {
            if m.is_empty() || m.len() > line_core::limits::MAX_MESSAGES_PER_REQUEST {
                cx.push(
                    id,
                    format!("/steps/{i}/send/messages"),
                    format!("a send has 1 to 5 messages, not {}", m.len()),
                );
            }
        }
        Content::Flex(f) => {
            let base = format!("/steps/{i}/send/flex");
            match crate::render::flex_template(f) {
                Ok(t) => {
                    for v in t.variables() {
                        if !f.vars.contains_key(v) {
                            cx.push(
                                id,
                                format!("{base}/vars"),
                                format!("template variable {{{v}}} has no source in `vars`"),
                            );
                        }
                    }
                }
                Err(e) => cx.push(id, base.clone(), e.to_string()),
            }
            for finding in line_flex::Validate::validate(&f.contents) {
                if finding.severity == line_flex::Severity::Error {
                    cx.push(
                        id,
                        format!("{base}/contents{}", finding.pointer),
                        finding.message.to_string(),
                    );
                }
            }
            for (name, var) in &f.vars {
                let ptr = crate::error::push_ptr(&format!("{base}/vars"), name);
                match &var.from {
                    VarFrom::Event(_) if !matches!(scenario.trigger, Trigger::Event(_)) => cx.push(
                        id,
                        ptr,
                        "an `event` variable needs a scenario triggered by a host event",
                    ),
                    VarFrom::Attribute(a) => cx.attribute(id, &format!("{ptr}/attribute"), a, None),
                    _ => {}
                }
            }
        }
    }
}
