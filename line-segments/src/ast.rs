//! The segment algebra: a tree of `all` / `any` / `not` over typed predicates.
//!
//! A [`Segment`] is plain data. It has a stable JSON form ([`crate::json`]) and a text form
//! ([`crate::text`]), and it is evaluated by compiling it ([`crate::eval::CompiledSegment`]).

use std::fmt;

use jiff::civil::Date;
use jiff::Timestamp;

pub use crate::limits::MAX_DEPTH;

/// A segment: a boolean expression over profiles, in three-valued (Kleene) logic.
///
/// A profile is a member when the expression is `true`; `unknown` is not membership.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// True when every child is true. `All(vec![])` is the constant `true`.
    All(Vec<Segment>),
    /// True when some child is true. `Any(vec![])` is the constant `false`.
    Any(Vec<Segment>),
    /// Kleene negation: true becomes false, false becomes true, unknown stays unknown.
    Not(Box<Segment>),
    /// A reference to a named segment of a [`crate::library::Library`].
    Ref(String),
    /// A leaf predicate.
    Pred(Predicate),
}

impl Segment {
    /// The constant `true` (an empty `all`).
    pub fn always() -> Self {
        Segment::All(Vec::new())
    }

    /// The constant `false` (an empty `any`).
    pub fn never() -> Self {
        Segment::Any(Vec::new())
    }

    /// Wraps `self` in a `not`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Segment::Not(Box::new(self))
    }

    /// The nesting depth: the largest number of `not` nodes and non-empty `all`/`any` nodes on one
    /// path from the root. A predicate, a reference, `true` and `false` have depth 0;
    /// `not (a or b)` has depth 2. Computed without recursion, so any tree can be measured.
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack = vec![(self, 0usize)];
        while let Some((s, above)) = stack.pop() {
            match s {
                Segment::All(c) | Segment::Any(c) if !c.is_empty() => {
                    max = max.max(above + 1);
                    stack.extend(c.iter().map(|x| (x, above + 1)));
                }
                Segment::Not(x) => {
                    max = max.max(above + 1);
                    stack.push((x, above + 1));
                }
                _ => {}
            }
        }
        max
    }

    /// Checks that the segment nests at most [`MAX_DEPTH`] levels (see [`Segment::depth`]).
    ///
    /// Every function of this crate that walks a tree calls this first (or reads a form whose
    /// reader enforces the limit), so a tree built in Rust cannot drive any of them deeper. The
    /// error is [`crate::ErrorKind::TooDeep`] with the JSON pointer of the first node past the limit.
    pub fn check_depth(&self) -> crate::Result<()> {
        if self.depth() <= MAX_DEPTH {
            return Ok(());
        }
        // Find the first node past the limit (depth first, in document order). Pointers stay
        // short: the walk never goes below the limit.
        let mut stack = vec![(self, String::new(), 0usize)];
        while let Some((s, ptr, above)) = stack.pop() {
            let (key, kids): (&str, Vec<&Segment>) = match s {
                Segment::All(c) if !c.is_empty() => ("all", c.iter().collect()),
                Segment::Any(c) if !c.is_empty() => ("any", c.iter().collect()),
                Segment::Not(x) => ("not", vec![&**x]),
                _ => continue,
            };
            if above + 1 > MAX_DEPTH {
                return Err(crate::Error::too_deep(crate::Place::Pointer(ptr)));
            }
            for (i, kid) in kids.into_iter().enumerate().rev() {
                let p = if key == "not" {
                    format!("{ptr}/not")
                } else {
                    format!("{ptr}/{key}/{i}")
                };
                stack.push((kid, p, above + 1));
            }
        }
        Err(crate::Error::too_deep(crate::Place::Pointer(String::new())))
    }

    /// Visits every predicate in the tree, depth first, with its JSON pointer. Works without
    /// recursion, at any depth.
    pub fn visit_predicates<'a>(&'a self, f: &mut dyn FnMut(&str, &'a Predicate)) {
        let mut stack = vec![(self, String::new())];
        while let Some((s, ptr)) = stack.pop() {
            match s {
                Segment::All(c) | Segment::Any(c) => {
                    let key = if matches!(s, Segment::All(_)) { "all" } else { "any" };
                    for (i, child) in c.iter().enumerate().rev() {
                        stack.push((child, format!("{ptr}/{key}/{i}")));
                    }
                }
                Segment::Not(inner) => stack.push((inner, format!("{ptr}/not"))),
                Segment::Ref(_) => {}
                Segment::Pred(p) => f(&ptr, p),
            }
        }
    }

    /// The names of the segments this one refers to, with the pointer of each reference. Works
    /// without recursion, at any depth.
    pub fn references(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut stack = vec![(self, String::new())];
        while let Some((s, ptr)) = stack.pop() {
            match s {
                Segment::All(c) | Segment::Any(c) => {
                    let key = if matches!(s, Segment::All(_)) { "all" } else { "any" };
                    for (i, child) in c.iter().enumerate().rev() {
                        stack.push((child, format!("{ptr}/{key}/{i}")));
                    }
                }
                Segment::Not(inner) => stack.push((inner, format!("{ptr}/not"))),
                Segment::Ref(name) => out.push((ptr, name.clone())),
                Segment::Pred(_) => {}
            }
        }
        out
    }
}

impl From<Predicate> for Segment {
    fn from(p: Predicate) -> Self {
        Segment::Pred(p)
    }
}

/// An attribute a predicate reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attr {
    /// A first-party attribute the host stores (text name `gender`, JSON `"gender"`).
    Custom(String),
    /// A fact LINE tells the host through webhooks and the API (text `line.id_linked`).
    Line(LineFact),
}

impl Attr {
    /// A first-party attribute.
    pub fn custom(name: impl Into<String>) -> Self {
        Attr::Custom(name.into())
    }

    /// The attribute's name as it appears in JSON (`"line.id_linked"` for LINE facts).
    pub fn json_name(&self) -> String {
        match self {
            Attr::Custom(n) => n.clone(),
            Attr::Line(f) => format!("line.{}", f.name()),
        }
    }

    /// Parses a JSON attribute name; names starting with `line.` must be LINE facts.
    pub fn from_json_name(name: &str) -> Option<Self> {
        match name.strip_prefix("line.") {
            Some(fact) => LineFact::from_name(fact).map(Attr::Line),
            None => Some(Attr::Custom(name.to_owned())),
        }
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.json_name())
    }
}

/// Facts about a user that LINE reports (friendship, blocking, account link, how they became a friend).
///
/// These are known to the host, so they are evaluated in process like first-party attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineFact {
    /// Boolean: the user is a friend of the official account now.
    IsFriend,
    /// Boolean: the user has blocked the account (an `unfollow` event was seen).
    Blocked,
    /// Boolean: the LINE user is linked to a first-party account (ID link).
    IdLinked,
    /// Timestamp: when the user last became a friend.
    FriendSince,
    /// String: where the user became a friend (`qr`, `flyer`, `popup`, `store`, `ad`, …; open set).
    FriendSource,
    /// String: the store where the user became a friend or is registered.
    Store,
}

impl LineFact {
    /// All LINE facts.
    pub const ALL: [LineFact; 6] = [
        LineFact::IsFriend,
        LineFact::Blocked,
        LineFact::IdLinked,
        LineFact::FriendSince,
        LineFact::FriendSource,
        LineFact::Store,
    ];

    /// The name after `line.`.
    pub fn name(self) -> &'static str {
        match self {
            LineFact::IsFriend => "is_friend",
            LineFact::Blocked => "blocked",
            LineFact::IdLinked => "id_linked",
            LineFact::FriendSince => "friend_since",
            LineFact::FriendSource => "friend_source",
            LineFact::Store => "store",
        }
    }

    /// Parses the name after `line.`.
    pub fn from_name(name: &str) -> Option<Self> {
        LineFact::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The value type of the fact.
    pub fn value_type(self) -> AttrType {
        match self {
            LineFact::IsFriend | LineFact::Blocked | LineFact::IdLinked => AttrType::Bool,
            LineFact::FriendSince => AttrType::Timestamp,
            LineFact::FriendSource | LineFact::Store => AttrType::String,
        }
    }
}

/// A literal value in a predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string. JSON string; text `"…"`.
    Str(String),
    /// A number (finite). JSON number; text `12`, `-3.5`.
    Num(f64),
    /// A boolean. JSON `true`/`false`; text `true`/`false`.
    Bool(bool),
    /// A calendar date. JSON `{"date":"2026-05-01"}`; text `2026-05-01`.
    Date(Date),
    /// An instant. JSON `{"timestamp":"2026-05-01T00:00:00Z"}`; text `2026-05-01T00:00:00Z`.
    Time(Timestamp),
}

impl Literal {
    /// A short name of the literal's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Literal::Str(_) => "string",
            Literal::Num(_) => "number",
            Literal::Bool(_) => "bool",
            Literal::Date(_) => "date",
            Literal::Time(_) => "timestamp",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=` (JSON `eq`)
    Eq,
    /// `!=` (JSON `ne`)
    Ne,
    /// `<` (JSON `lt`)
    Lt,
    /// `<=` (JSON `le`)
    Le,
    /// `>` (JSON `gt`)
    Gt,
    /// `>=` (JSON `ge`)
    Ge,
}

impl CmpOp {
    /// All operators.
    pub const ALL: [CmpOp; 6] = [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge];

    /// JSON name.
    pub fn json_name(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
        }
    }

    /// Text symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Parses a JSON name.
    pub fn from_json_name(s: &str) -> Option<Self> {
        CmpOp::ALL.into_iter().find(|o| o.json_name() == s)
    }

    /// The operator that is true exactly when this one is false (on known, comparable values).
    pub fn negate(self) -> Self {
        match self {
            CmpOp::Eq => CmpOp::Ne,
            CmpOp::Ne => CmpOp::Eq,
            CmpOp::Lt => CmpOp::Ge,
            CmpOp::Le => CmpOp::Gt,
            CmpOp::Gt => CmpOp::Le,
            CmpOp::Ge => CmpOp::Lt,
        }
    }

    /// Applies the operator to an ordering.
    #[inline]
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ord == Equal,
            CmpOp::Ne => ord != Equal,
            CmpOp::Lt => ord == Less,
            CmpOp::Le => ord != Greater,
            CmpOp::Gt => ord == Greater,
            CmpOp::Ge => ord != Less,
        }
    }
}

/// A time span, in whole seconds. Text and JSON `90d`, `12h`, `30m`, `45s`, `2w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    secs: u64,
}

impl Window {
    /// A window of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self { secs }
    }

    /// A window of `days` days (saturating).
    pub const fn days(days: u64) -> Self {
        Self {
            secs: days.saturating_mul(86_400),
        }
    }

    /// The length in seconds.
    pub const fn secs(self) -> u64 {
        self.secs
    }

    /// Parses `90d`, `12h`, `30m`, `45s` or `2w`.
    pub fn parse(s: &str) -> Option<Self> {
        let unit = s.chars().last()?;
        let digits = &s[..s.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = digits.parse().ok()?;
        let mult = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        n.checked_mul(mult).map(Window::from_secs)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.secs;
        if s != 0 && s.is_multiple_of(86_400) {
            write!(f, "{}d", s / 86_400)
        } else if s != 0 && s.is_multiple_of(3_600) {
            write!(f, "{}h", s / 3_600)
        } else if s != 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

/// A calendar field, read in a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalUnit {
    /// Month of the year, 1–12.
    Month,
    /// Day of the month, 1–31.
    Day,
    /// Day of the week, 1 (Monday) – 7 (Sunday).
    Weekday,
}

impl CalUnit {
    /// Name in JSON and text.
    pub fn name(self) -> &'static str {
        match self {
            CalUnit::Month => "month",
            CalUnit::Day => "day",
            CalUnit::Weekday => "weekday",
        }
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "month" => Some(CalUnit::Month),
            "day" => Some(CalUnit::Day),
            "weekday" => Some(CalUnit::Weekday),
            _ => None,
        }
    }

    /// The valid range of the field.
    pub fn range(self) -> (i64, i64) {
        match self {
            CalUnit::Month => (1, 12),
            CalUnit::Day => (1, 31),
            CalUnit::Weekday => (1, 7),
        }
    }
}

/// What a calendar field is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalTest {
    /// The same field of "now" in the time zone (birthday month is this month).
    Current,
    /// One of these values.
    In(Vec<i64>),
}

/// An event name plus a filter on its properties.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRef {
    /// The event name, for example `purchase`.
    pub name: String,
    /// Conditions on the event's properties, all of which must be true (SQL `WHERE` semantics: a
    /// condition on a missing property is not true, so the event does not match).
    pub filter: Vec<PropCond>,
}

impl EventRef {
    /// An event without a filter.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            filter: Vec::new(),
        }
    }
}

/// A condition on one event property.
#[derive(Debug, Clone, PartialEq)]
pub struct PropCond {
    /// The property name.
    pub prop: String,
    /// The test.
    pub test: PropTest,
}

/// The test of a [`PropCond`].
#[derive(Debug, Clone, PartialEq)]
pub enum PropTest {
    /// Compare with a literal.
    Cmp(CmpOp, Literal),
    /// Equal to one of these literals.
    In(Vec<Literal>),
}

/// An aggregate of a numeric event property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggFunc {
    /// Sum (0 when no event matches).
    Sum,
    /// Minimum (unknown when no event matches).
    Min,
    /// Maximum (unknown when no event matches).
    Max,
    /// Average (unknown when no event matches).
    Avg,
}

impl AggFunc {
    /// Name in JSON and text.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Sum => "sum",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Avg => "avg",
        }
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "sum" => Some(AggFunc::Sum),
            "min" => Some(AggFunc::Min),
            "max" => Some(AggFunc::Max),
            "avg" => Some(AggFunc::Avg),
            _ => None,
        }
    }
}

/// First or last occurrence of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Which {
    /// The earliest matching event.
    First,
    /// The latest matching event.
    Last,
}

impl Which {
    /// Name in JSON and text.
    pub fn name(self) -> &'static str {
        match self {
            Which::First => "first",
            Which::Last => "last",
        }
    }
}

/// A test on an instant (an occurrence's time).
#[derive(Debug, Clone, PartialEq)]
pub enum TimeTest {
    /// Strictly before the literal (a date means the start of that day in UTC).
    Before(Literal),
    /// Strictly after the literal (a date means the start of that day in UTC).
    After(Literal),
    /// Whole days elapsed since the instant, compared with a number.
    DaysSince(CmpOp, i64),
}

/// A demographic LINE infers about its users, usable only in a narrowcast filter.
///
/// **Not evaluable in process**: LINE never tells the host these values. Compiling a segment that
/// contains one for in-process evaluation fails with [`crate::ErrorKind::NotEvaluable`]; the narrowcast
/// compiler puts it in the request's `filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Demographic {
    /// `gender`, one of `male`, `female`.
    Gender(Vec<String>),
    /// Age band: `gte` and `lt` in years from 15, 20, …, 70.
    Age {
        /// Lower bound (inclusive).
        gte: Option<u32>,
        /// Upper bound (exclusive).
        lt: Option<u32>,
    },
    /// Area codes such as `jp_13` (Tokyo).
    Area(Vec<String>),
    /// `ios` or `android`.
    AppType(Vec<String>),
    /// Days since the user became a friend, as LINE counts it: 7, 30, 90, 180 or 365.
    SubscriptionPeriod {
        /// Lower bound (inclusive).
        gte: Option<u32>,
        /// Upper bound (exclusive).
        lt: Option<u32>,
    },
}

/// Age bands LINE knows.
pub const AGE_BANDS: [u32; 12] = [15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70];
/// Subscription periods LINE knows, in days.
pub const SUBSCRIPTION_PERIODS: [u32; 5] = [7, 30, 90, 180, 365];
/// Genders LINE knows.
pub const GENDERS: [&str; 2] = ["male", "female"];
/// App types LINE knows.
pub const APP_TYPES: [&str; 2] = ["ios", "android"];

/// Whether `code` is one of LINE's area codes (`jp_01`–`jp_47`, `tw_01`–`tw_22`, `th_01`–`th_08`, `id_01`–`id_12`).
pub fn is_area_code(code: &str) -> bool {
    let Some((country, num)) = code.split_once('_') else {
        return false;
    };
    if num.len() != 2 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n: u32 = num.parse().unwrap_or(0);
    let max = match country {
        "jp" => 47,
        "tw" => 22,
        "th" => 8,
        "id" => 12,
        _ => return false,
    };
    (1..=max).contains(&n)
}

/// A leaf predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// `attr op literal`. Unknown when the attribute is missing or of another type.
    Compare {
        /// The attribute.
        attr: Attr,
        /// The operator.
        op: CmpOp,
        /// The literal.
        value: Literal,
    },
    /// `low <= attr <= high` (inclusive on both ends).
    Between {
        /// The attribute.
        attr: Attr,
        /// Lower bound, inclusive.
        low: Literal,
        /// Upper bound, inclusive.
        high: Literal,
    },
    /// The attribute equals one of the literals.
    In {
        /// The attribute.
        attr: Attr,
        /// The candidates.
        values: Vec<Literal>,
    },
    /// A string-set attribute (tags) contains the value.
    Contains {
        /// The set attribute.
        attr: Attr,
        /// The element.
        value: String,
    },
    /// A string attribute starts with the prefix.
    StartsWith {
        /// The attribute.
        attr: Attr,
        /// The prefix.
        prefix: String,
    },
    /// The attribute has a value. Never unknown.
    Exists(Attr),
    /// The attribute has no value. Never unknown.
    Missing(Attr),
    /// A date or timestamp attribute is strictly before the literal.
    Before {
        /// The attribute.
        attr: Attr,
        /// A date or timestamp literal of the attribute's type.
        at: Literal,
    },
    /// A date or timestamp attribute is strictly after the literal.
    After {
        /// The attribute.
        attr: Attr,
        /// A date or timestamp literal of the attribute's type.
        at: Literal,
    },
    /// A timestamp attribute is in `(now - window, now]`.
    WithinLast {
        /// The attribute.
        attr: Attr,
        /// How far back.
        window: Window,
    },
    /// Whole days since a timestamp attribute (floor of elapsed seconds / 86400), compared.
    DaysSince {
        /// The attribute.
        attr: Attr,
        /// The operator.
        op: CmpOp,
        /// The number of days.
        days: i64,
    },
    /// A calendar field of a date or timestamp attribute, read in a time zone.
    Calendar {
        /// Which field.
        unit: CalUnit,
        /// The date or timestamp attribute.
        attr: Attr,
        /// IANA time zone used for timestamps and for "now" (for example `Asia/Tokyo`).
        tz: String,
        /// The test.
        test: CalTest,
    },
    /// Number of matching events in `(now - window, now]`, compared with a count.
    Count {
        /// The event.
        event: EventRef,
        /// The window.
        window: Window,
        /// The operator.
        op: CmpOp,
        /// The count.
        value: i64,
    },
    /// An aggregate of a numeric property over matching events in the window.
    Aggregate {
        /// The function.
        func: AggFunc,
        /// The event.
        event: EventRef,
        /// The numeric property.
        property: String,
        /// The window.
        window: Window,
        /// The operator.
        op: CmpOp,
        /// The number compared with.
        value: f64,
    },
    /// The time of the first or last matching event (within a window, or ever), tested.
    Occurrence {
        /// First or last.
        which: Which,
        /// The event.
        event: EventRef,
        /// The window; `None` is all of history.
        window: Option<Window>,
        /// The test on the event's time.
        test: TimeTest,
    },
    /// "Did A and then no B within T": some A in the window, at least T old, with no B in the
    /// T after it (cart abandonment).
    Sequence {
        /// The first event (A).
        first: EventRef,
        /// The event that must not follow (B).
        then_no: EventRef,
        /// How long B has to follow A (T).
        within: Window,
        /// Window in which A is looked for.
        window: Window,
    },
    /// A LINE-inferred demographic. Compile-only (see [`Demographic`]).
    Demographic(Demographic),
    /// Membership in an existing LINE audience group. Compile-only.
    Audience(i64),
    /// Users who received the message of a previous request (`requestId`). Compile-only.
    Redelivery(String),
}

impl Predicate {
    /// Whether only LINE can evaluate this predicate.
    pub fn is_line_only(&self) -> bool {
        matches!(
            self,
            Predicate::Demographic(_) | Predicate::Audience(_) | Predicate::Redelivery(_)
        )
    }

    /// The attribute this predicate reads, if any.
    pub fn attr(&self) -> Option<&Attr> {
        match self {
            Predicate::Compare { attr, .. }
            | Predicate::Between { attr, .. }
            | Predicate::In { attr, .. }
            | Predicate::Contains { attr, .. }
            | Predicate::StartsWith { attr, .. }
            | Predicate::Exists(attr)
            | Predicate::Missing(attr)
            | Predicate::Before { attr, .. }
            | Predicate::After { attr, .. }
            | Predicate::WithinLast { attr, .. }
            | Predicate::DaysSince { attr, .. }
            | Predicate::Calendar { attr, .. } => Some(attr),
            _ => None,
        }
    }

    /// The events this predicate reads, with the window it needs (`None` = all history).
    pub fn events(&self) -> Vec<(&EventRef, Option<Window>)> {
        match self {
            Predicate::Count { event, window, .. } | Predicate::Aggregate { event, window, .. } => {
                vec![(event, Some(*window))]
            }
            Predicate::Occurrence { event, window, .. } => vec![(event, *window)],
            Predicate::Sequence {
                first,
                then_no,
                within: _,
                window,
            } => vec![(first, Some(*window)), (then_no, Some(*window))],
            _ => Vec::new(),
        }
    }
}

impl serde::Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Window::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("invalid window `{s}`: expected such as 90d")))
    }
}

/// The type of an attribute or event property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttrType {
    /// Text.
    String,
    /// A number.
    Number,
    /// true or false.
    Bool,
    /// A calendar date without a time zone (birthdays).
    Date,
    /// An instant.
    Timestamp,
    /// A set of strings (tags, interests).
    StringSet,
}

impl AttrType {
    /// The name used in schemas.
    pub fn name(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Number => "number",
            AttrType::Bool => "bool",
            AttrType::Date => "date",
            AttrType::Timestamp => "timestamp",
            AttrType::StringSet => "string_set",
        }
    }

    pub(crate) fn accepts(self, l: &Literal) -> bool {
        matches!(
            (self, l),
            (AttrType::String, Literal::Str(_))
                | (AttrType::Number, Literal::Num(_))
                | (AttrType::Bool, Literal::Bool(_))
                | (AttrType::Date, Literal::Date(_))
                | (AttrType::Timestamp, Literal::Time(_))
        )
    }
}

/// Compares two literals of the same type.
pub fn literal_cmp(a: &Literal, b: &Literal) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Literal::Str(x), Literal::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Literal::Num(x), Literal::Num(y)) => x.partial_cmp(y),
        (Literal::Bool(x), Literal::Bool(y)) => Some(x.cmp(y)),
        (Literal::Date(x), Literal::Date(y)) => Some(x.cmp(y)),
        (Literal::Time(x), Literal::Time(y)) => Some(x.cmp(y)),
        _ => None,
    }
}
