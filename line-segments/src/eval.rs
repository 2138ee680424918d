//! In-process evaluation: compile a segment once, then evaluate it per profile.
//!
//! ```
//! use line_segments::{eval::CompiledSegment, profile::{Profile, Value}, text, Truth};
//! let seg = text::parse(r#"gender = "female" and points >= 100"#).unwrap();
//! let compiled = CompiledSegment::compile(&seg).unwrap();
//! let now = "2026-05-01T00:00:00Z".parse().unwrap();
//! let p = Profile::new("U1").with_attr("gender", Value::Str("female".into()));
//! // points is missing: the result is unknown, so the profile is not a member.
//! assert_eq!(compiled.at(now).eval(&p), Truth::Unknown);
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use line_core::clock::Clock;
use serde::Serialize;

use crate::ast::*;
use crate::error::{Error, ErrorKind, Place, Result};
use crate::profile::{Event, ProfileView, ValueRef};

/// A three-valued (Kleene) truth value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Truth {
    /// Definitely false.
    False = 0,
    /// Not decidable from the data (a missing attribute, a partial history).
    Unknown = 1,
    /// Definitely true: the profile is a member.
    True = 2,
}

impl Truth {
    /// From a boolean.
    #[inline(always)]
    pub fn from_bool(b: bool) -> Self {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }

    /// Kleene conjunction (the minimum).
    #[inline(always)]
    pub fn and(self, other: Truth) -> Truth {
        self.min(other)
    }

    /// Kleene disjunction (the maximum).
    #[inline(always)]
    pub fn or(self, other: Truth) -> Truth {
        self.max(other)
    }

    /// Kleene negation.
    #[inline(always)]
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Truth {
        match self {
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
            Truth::True => Truth::False,
        }
    }

    /// Whether this is `True` (membership).
    #[inline(always)]
    pub fn is_true(self) -> bool {
        self == Truth::True
    }
}

impl fmt::Display for Truth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Truth::False => "false",
            Truth::Unknown => "unknown",
            Truth::True => "true",
        })
    }
}

/// What to do with predicates only LINE can evaluate (demographics, audiences, redeliveries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineOnly {
    /// Refuse to compile ([`ErrorKind::NotEvaluable`]). The default.
    #[default]
    Reject,
    /// Evaluate them as `unknown`, so that a profile is a member only when the rest of the segment
    /// decides it. The narrowcast planner uses this for its multicast fallback.
    Unknown,
}

pub use crate::ast::literal_cmp;

/// Compares a profile value with a literal; `None` when the types differ.
#[inline]
pub fn value_cmp(v: ValueRef<'_>, l: &Literal) -> Option<Ordering> {
    match (v, l) {
        (ValueRef::Str(x), Literal::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (ValueRef::Num(x), Literal::Num(y)) => x.partial_cmp(y),
        (ValueRef::Bool(x), Literal::Bool(y)) => Some(x.cmp(y)),
        (ValueRef::Date(x), Literal::Date(y)) => Some(x.cmp(y)),
        (ValueRef::Time(x), Literal::Time(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[inline(always)]
fn cmp_truth(o: Option<Ordering>, op: CmpOp) -> Truth {
    match o {
        Some(o) => Truth::from_bool(op.holds(o)),
        None => Truth::Unknown,
    }
}

/// A count that is only a lower bound (partial history): decide what can be decided.
#[inline]
pub(crate) fn partial_count(op: CmpOp, seen: i64, v: i64) -> Truth {
    match op {
        CmpOp::Ge if seen >= v => Truth::True,
        CmpOp::Gt | CmpOp::Ne if seen > v => Truth::True,
        CmpOp::Le | CmpOp::Eq if seen > v => Truth::False,
        CmpOp::Lt if seen >= v => Truth::False,
        _ => Truth::Unknown,
    }
}

/// Where an attribute comes from. A custom slot keeps its name, so reading it needs no lookup.
#[derive(Debug, Clone)]
enum Slot {
    Custom(u32, Arc<str>),
    Line(LineFact),
}

/// A string that profile strings (event names, property names, attribute values, set members) are
/// compared with many times: its bytes are packed into words once, so that a comparison is a
/// length check and two word compares, without a call to `memcmp`.
#[derive(Debug, Clone, PartialEq)]
struct Needle {
    s: Box<str>,
    /// 4 to 8 bytes: the first and last four bytes. 9 to 16 bytes: the first eight bytes.
    head: u64,
    /// 9 to 16 bytes: the last eight bytes.
    tail: u64,
}

#[inline(always)]
fn word_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

/// The first and last four bytes of `b` (at least four long) as one word.
#[inline(always)]
fn halves(b: &[u8]) -> u64 {
    let first = b.first_chunk::<4>().map(|w| u32::from_le_bytes(*w)).unwrap_or(0);
    let last = b.last_chunk::<4>().map(|w| u32::from_le_bytes(*w)).unwrap_or(0);
    u64::from(first) | u64::from(last) << 32
}

/// Whether `v` is the string of `len` (4 to 8) bytes whose [`halves`] are `head`.
#[inline(always)]
fn half_eq(v: &str, len: usize, head: u64) -> bool {
    v.len() == len && halves(v.as_bytes()) == head
}

/// Whether `v` is the string of `len` (9 to 16) bytes whose first and last eight bytes are `head`
/// and `tail`.
#[inline(always)]
fn words_eq(v: &str, len: usize, head: u64, tail: u64) -> bool {
    let a = v.as_bytes();
    a.len() == len && word_at(a, 0) == head && word_at(a, a.len().wrapping_sub(8)) == tail
}

impl Needle {
    fn new(s: &str) -> Self {
        let b = s.as_bytes();
        let (head, tail) = match b.len() {
            4..=8 => (halves(b), 0),
            9..=16 => (word_at(b, 0), word_at(b, b.len() - 8)),
            _ => (0, 0),
        };
        Self {
            s: s.into(),
            head,
            tail,
        }
    }

    /// Whether `v` equals the needle.
    #[inline(always)]
    fn eq(&self, v: &str) -> bool {
        let a = v.as_bytes();
        let n = a.len();
        if n != self.s.len() {
            return false;
        }
        // Two range checks rather than a `match`, which would compile to an indirect jump.
        if n.wrapping_sub(4) <= 4 {
            halves(a) == self.head
        } else if n.wrapping_sub(9) <= 7 {
            word_at(a, 0) == self.head && word_at(a, n - 8) == self.tail
        } else {
            self.eq_bytes(a)
        }
    }

    /// The comparison for lengths other than 4 to 16.
    #[inline(never)]
    fn eq_bytes(&self, a: &[u8]) -> bool {
        a == self.s.as_bytes()
    }

    /// Whether the shared string `v` equals the needle. Event and property names are shared
    /// (`Arc<str>`, one allocation per distinct name), so once `v` has matched, `hit` remembers its
    /// allocation and later names in it match by address, without reading their bytes.
    #[inline(always)]
    fn eq_shared(&self, v: &Arc<str>, hit: &mut *const u8) -> bool {
        if v.len() != self.s.len() {
            return false;
        }
        let at = Arc::as_ptr(v).cast::<u8>();
        if at == *hit {
            return true;
        }
        let eq = self.eq_cold(v);
        if eq {
            *hit = at;
        }
        eq
    }

    /// [`Self::eq`] out of line, for the first name of a batch.
    #[cold]
    #[inline(never)]
    fn eq_cold(&self, v: &str) -> bool {
        self.eq(v)
    }
}

impl fmt::Display for Needle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.s)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct EvMatch {
    name: Needle,
    filter: Box<[PropCond]>,
}

impl EvMatch {
    #[inline]
    fn matches(&self, e: &Event) -> bool {
        self.name.eq(&e.name) && self.filter_matches(e)
    }

    #[inline(always)]
    fn filter_matches(&self, e: &Event) -> bool {
        self.filter.is_empty() || self.filter.iter().all(|c| prop_matches(e, c))
    }
}

/// A rough cost of evaluating a node, to test cheap children of `all`/`any` first.
fn cost(n: &Node) -> u32 {
    match n {
        Node::All(c) | Node::Any(c) => c.iter().map(cost).sum::<u32>().max(1),
        Node::Not(x) => cost(x),
        // Attribute tests cost about the same: the author's order is kept among them.
        Node::EqStr { .. }
        | Node::CmpNum { .. }
        | Node::EqBool { .. }
        | Node::Exists(_)
        | Node::Missing(_)
        | Node::Cmp { .. }
        | Node::Between { .. }
        | Node::StartsWith { .. }
        | Node::TimeCmp { .. }
        | Node::In { .. }
        | Node::Contains { .. }
        | Node::WithinLast { .. }
        | Node::DaysSince { .. } => 1,
        Node::Calendar { .. } => 20,
        Node::Count { .. } | Node::Agg { .. } | Node::Occ { .. } => 100,
        Node::Seq { .. } => 400,
        Node::LineOnly => 0,
        Node::Scan(_) => 120,
    }
}

/// Fuses the counts and aggregates of one event among the children of an `all`/`any` into one
/// scan. Kleene `and`/`or` are associative and commutative, so the value is unchanged.
fn fuse(children: Vec<Node>, all: bool, windows: &[u64]) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::with_capacity(children.len());
    let mut groups: Vec<(EvMatch, Vec<ScanPart>)> = Vec::new();
    for c in children {
        let (ev, part) = match c {
            Node::Count { ev, win, op, value } if value.unsigned_abs() < (1 << 52) => (
                ev,
                ScanPart {
                    win,
                    prop: None,
                    func: AggFunc::Sum,
                    op,
                    value: value as f64,
                    count: value,
                    range: num_range(op, value as f64),
                },
            ),
            Node::Agg {
                func,
                ev,
                prop,
                win,
                op,
                value,
            } => (
                ev,
                ScanPart {
                    win,
                    prop: Some(prop),
                    func,
                    op,
                    value,
                    count: 0,
                    range: num_range(op, value),
                },
            ),
            other => {
                out.push(other);
                continue;
            }
        };
        match groups
            .iter_mut()
            .find(|(e, parts)| *e == ev && parts.len() < MAX_SCAN_PARTS)
        {
            Some((_, parts)) => parts.push(part),
            None => groups.push((ev, vec![part])),
        }
    }
    for (ev, mut parts) in groups {
        // Widest window first: an event in the first part's window is then known to be after the
        // scan's earliest start.
        parts.sort_by_key(|p| std::cmp::Reverse(windows.get(p.win).copied().unwrap_or(0)));
        if parts.len() == 1 {
            let part = parts.remove(0);
            out.push(match part.prop {
                None => Node::Count {
                    ev,
                    win: part.win,
                    op: part.op,
                    value: part.value as i64,
                },
                Some(prop) => Node::Agg {
                    func: part.func,
                    ev,
                    prop,
                    win: part.win,
                    op: part.op,
                    value: part.value,
                },
            });
        } else {
            // Counts and sums of at most one property take the plain pass.
            let props: Vec<&Needle> = parts.iter().filter_map(|p| p.prop.as_ref()).collect();
            let plain = props.windows(2).all(|w| w[0] == w[1])
                && parts.iter().all(|p| p.prop.is_none() || p.func == AggFunc::Sum);
            out.push(Node::Scan(Box::new(Scan {
                ev,
                parts: parts.into_boxed_slice(),
                all,
                plain,
            })));
        }
    }
    out
}

/// Orders the children of every `all` and `any` by cost. Kleene `and` and `or` are commutative,
/// so the value is unchanged; only the work done before a short cut is.
fn reorder(n: &mut Node, windows: &[u64]) {
    match n {
        Node::All(_) | Node::Any(_) => {
            let all = matches!(n, Node::All(_));
            let (Node::All(c) | Node::Any(c)) = n else {
                return;
            };
            c.iter_mut().for_each(|x| reorder(x, windows));
            let mut v = fuse(std::mem::take(c).into_vec(), all, windows);
            v.sort_by_key(cost);
            *c = v.into_boxed_slice();
        }
        Node::Not(x) => reorder(x, windows),
        _ => {}
    }
}

/// The numeric value of an event property (the first one of that name), if it is a number. `hit`
/// is as for [`Needle::eq_shared`].
#[inline(always)]
fn num_prop(e: &Event, prop: &Needle, hit: &mut *const u8) -> Option<f64> {
    for (k, v) in &e.props {
        if prop.eq_shared(k, hit) {
            return match v {
                crate::profile::Value::Num(x) => Some(*x),
                _ => None,
            };
        }
    }
    None
}

#[inline]
fn prop_matches(e: &Event, c: &PropCond) -> bool {
    let Some(v) = e.prop(&c.prop) else {
        return false;
    };
    match &c.test {
        PropTest::Cmp(op, l) => value_cmp(v.as_ref(), l).is_some_and(|o| op.holds(o)),
        PropTest::In(ls) => ls.iter().any(|l| value_cmp(v.as_ref(), l) == Some(Ordering::Equal)),
    }
}

#[derive(Debug, Clone)]
enum Node {
    All(Box<[Node]>),
    Any(Box<[Node]>),
    Not(Box<Node>),
    /// `x = "s"` (or `!=` when `eq` is false): the common case, without the generic comparison.
    EqStr {
        slot: Slot,
        s: Needle,
        eq: bool,
    },
    /// A numeric comparison.
    CmpNum {
        slot: Slot,
        op: CmpOp,
        n: f64,
    },
    /// `x = b` on a boolean (`x != b` compiles to `x = !b`).
    EqBool {
        slot: Slot,
        b: bool,
    },
    Cmp {
        slot: Slot,
        op: CmpOp,
        lit: Literal,
    },
    Between {
        slot: Slot,
        lo: Literal,
        hi: Literal,
    },
    In {
        slot: Slot,
        lits: Box<[Literal]>,
    },
    Contains {
        slot: Slot,
        value: Needle,
    },
    StartsWith {
        slot: Slot,
        prefix: Box<str>,
    },
    Exists(Slot),
    Missing(Slot),
    TimeCmp {
        slot: Slot,
        want: Ordering,
        at: Literal,
    },
    WithinLast {
        slot: Slot,
        win: usize,
    },
    DaysSince {
        slot: Slot,
        op: CmpOp,
        days: i64,
    },
    Calendar {
        slot: Slot,
        unit: CalUnit,
        zone: usize,
        test: CalTest,
    },
    Count {
        ev: EvMatch,
        win: usize,
        op: CmpOp,
        value: i64,
    },
    Agg {
        func: AggFunc,
        ev: EvMatch,
        prop: Needle,
        win: usize,
        op: CmpOp,
        value: f64,
    },
    Occ {
        which: Which,
        ev: EvMatch,
        win: Option<usize>,
        test: OccTest,
    },
    Seq {
        a: EvMatch,
        b: EvMatch,
        within: SignedDuration,
        win: usize,
    },
    LineOnly,
    /// Counts and aggregates of one event, fused into one pass (built by `reorder`).
    Scan(Box<Scan>),
}

/// The membership program: a two-valued test that holds exactly when the node it is built from
/// evaluates to `want` (so, built with `want` = `true`, exactly when the profile is a member).
///
/// Kleene logic makes this exact: an `all` is true when every child is true and false when some
/// child is false; an `any` the other way round; `not x` is true when `x` is false. Leaves compare
/// typed values directly, without building a three-valued result.
#[derive(Debug, Clone)]
enum Test {
    All(Box<[Test]>),
    Any(Box<[Test]>),
    /// A first-party string equal to `s`.
    StrEq {
        i: u32,
        name: Arc<str>,
        s: Needle,
    },
    /// `StrEq` with a string of 4 to 8 bytes, packed as in [`Needle`]: the comparison is chosen
    /// once, when the test is built (as for the three variants below).
    StrEqHalf {
        i: u32,
        name: Arc<str>,
        len: usize,
        head: u64,
    },
    /// `StrEq` with a string of 9 to 16 bytes.
    StrEqWords {
        i: u32,
        name: Arc<str>,
        len: usize,
        head: u64,
        tail: u64,
    },
    /// A string whose equality with `s` is `eq` (any attribute).
    Str {
        slot: Slot,
        s: Needle,
        eq: bool,
    },
    /// A first-party number within `lo..=hi` (a comparison other than `!=`).
    Range {
        i: u32,
        name: Arc<str>,
        lo: f64,
        hi: f64,
    },
    /// A first-party number different from `n`.
    NumNe {
        i: u32,
        name: Arc<str>,
        n: f64,
    },
    /// A boolean equal to `b`.
    Bool {
        slot: Slot,
        b: bool,
    },
    /// A first-party set that contains `s` (`has`) or does not.
    Has {
        i: u32,
        name: Arc<str>,
        s: Needle,
        has: bool,
    },
    /// A first-party set that contains a string of 4 to 8 bytes.
    HasHalf {
        i: u32,
        name: Arc<str>,
        len: usize,
        head: u64,
    },
    /// A first-party set that contains a string of 9 to 16 bytes.
    HasWords {
        i: u32,
        name: Arc<str>,
        len: usize,
        head: u64,
        tail: u64,
    },
    /// An attribute that is set (`set`) or missing.
    Set {
        slot: Slot,
        set: bool,
    },
    /// A fused scan whose value is the truth given.
    Scan(Box<Scan>, Truth),
    /// Any other node, whose value is the truth given.
    Other(Box<Node>, Truth),
}

impl Test {
    /// The test that `n` evaluates to `want` (`True` or `False`).
    fn build(n: Node, want: Truth) -> Test {
        let yes = want == Truth::True;
        let children = |c: Box<[Node]>, want: Truth| -> Box<[Test]> {
            c.into_vec().into_iter().map(|x| Test::build(x, want)).collect()
        };
        let t = match n {
            // `all` is false when some child is false; `any` is false when every child is.
            Node::All(c) if yes => Test::All(children(c, want)),
            Node::All(c) => Test::Any(children(c, want)),
            Node::Any(c) if yes => Test::Any(children(c, want)),
            Node::Any(c) => Test::All(children(c, want)),
            Node::Not(x) => Test::build(*x, want.not()),
            Node::EqStr {
                slot: Slot::Custom(i, name),
                s,
                eq,
            } if eq == yes && (4..=8).contains(&s.s.len()) => Test::StrEqHalf {
                i,
                name,
                len: s.s.len(),
                head: s.head,
            },
            Node::EqStr {
                slot: Slot::Custom(i, name),
                s,
                eq,
            } if eq == yes && (9..=16).contains(&s.s.len()) => Test::StrEqWords {
                i,
                name,
                len: s.s.len(),
                head: s.head,
                tail: s.tail,
            },
            Node::EqStr {
                slot: Slot::Custom(i, name),
                s,
                eq,
            } if eq == yes => Test::StrEq { i, name, s },
            Node::EqStr { slot, s, eq } => Test::Str { slot, s, eq: eq == yes },
            // A comparison is false exactly when its negation is true (both need a number).
            Node::CmpNum {
                slot: Slot::Custom(i, name),
                op,
                n,
            } => Test::num(i, name, if yes { op } else { op.negate() }, n),
            Node::EqBool { slot, b } => Test::Bool { slot, b: b == yes },
            Node::Contains {
                slot: Slot::Custom(i, name),
                value,
            } if yes && (4..=8).contains(&value.s.len()) => Test::HasHalf {
                i,
                name,
                len: value.s.len(),
                head: value.head,
            },
            Node::Contains {
                slot: Slot::Custom(i, name),
                value,
            } if yes && (9..=16).contains(&value.s.len()) => Test::HasWords {
                i,
                name,
                len: value.s.len(),
                head: value.head,
                tail: value.tail,
            },
            Node::Contains {
                slot: Slot::Custom(i, name),
                value,
            } => Test::Has {
                i,
                name,
                s: value,
                has: yes,
            },
            Node::Exists(slot) => Test::Set { slot, set: yes },
            Node::Missing(slot) => Test::Set { slot, set: !yes },
            Node::Scan(sc) => Test::Scan(sc, want),
            other => Test::Other(Box::new(other), want),
        };
        // An `all` or `any` of one test is that test.
        match t {
            Test::All(c) | Test::Any(c) if c.len() == 1 => c.into_vec().remove(0),
            t => t,
        }
    }

    /// `v op n` on numbers, as a range (every operator but `!=`). A NaN bound makes an empty
    /// range, as a comparison with NaN is never true.
    fn num(i: u32, name: Arc<str>, op: CmpOp, n: f64) -> Test {
        match num_range(op, n) {
            Some((lo, hi)) => Test::Range { i, name, lo, hi },
            None => Test::NumNe { i, name, n },
        }
    }
}

/// The numbers `v` for which `v op n` is true, as a range `lo..=hi`; `None` for `!=`. A NaN bound
/// makes an empty range, as a comparison with NaN is never true; NaN is in no range. On whole
/// numbers (counts) the range is exact too.
fn num_range(op: CmpOp, n: f64) -> Option<(f64, f64)> {
    const EMPTY: (f64, f64) = (f64::INFINITY, f64::NEG_INFINITY);
    Some(match op {
        CmpOp::Ne => return None,
        CmpOp::Eq => (n, n),
        CmpOp::Le => (f64::NEG_INFINITY, n),
        CmpOp::Ge => (n, f64::INFINITY),
        // `v < n` is `v <= next_down(n)` on numbers, but nothing is below -∞.
        CmpOp::Lt if n == f64::NEG_INFINITY => EMPTY,
        CmpOp::Lt => (f64::NEG_INFINITY, n.next_down()),
        CmpOp::Gt if n == f64::INFINITY => EMPTY,
        CmpOp::Gt => (n.next_up(), f64::INFINITY),
    })
}

/// Whether `x op n` is true, given `num_range(op, n)`.
#[inline(always)]
fn in_range(x: f64, range: Option<(f64, f64)>, n: f64) -> bool {
    match range {
        Some((lo, hi)) => lo <= x && x <= hi,
        // `!=`, but false with NaN.
        None => matches!(x.partial_cmp(&n), Some(Ordering::Less | Ordering::Greater)),
    }
}

/// The allocations of the event and property names a plain scan last matched (see
/// [`Needle::eq_shared`]), kept from one profile to the next in a batch.
///
/// A remembered address is only compared with the names of profiles borrowed for the whole batch,
/// so the allocation it belongs to (held by a borrowed event) is still alive and no other name can
/// have that address. `scan` says which scan the names are for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hits {
    scan: *const Scan,
    name: *const u8,
    prop: *const u8,
}

impl Default for Hits {
    fn default() -> Self {
        Self {
            scan: std::ptr::null(),
            name: std::ptr::null(),
            prop: std::ptr::null(),
        }
    }
}

/// A plain scan (counts and sums of at most one property) of `K` parts, prepared for one profile:
/// the window starts, and the allocations of the event and property names last matched (see
/// [`Needle::eq_shared`]).
struct Plain<'s, const K: usize> {
    sc: &'s Scan,
    starts: [Timestamp; K],
    earliest: Timestamp,
    prop: Option<&'s Needle>,
    name_hit: *const u8,
    prop_hit: *const u8,
}

/// The most parts one fused scan holds.
const MAX_SCAN_PARTS: usize = 8;

/// Counts and aggregates of one event, computed in one pass over the events.
#[derive(Debug, Clone)]
struct Scan {
    ev: EvMatch,
    parts: Box<[ScanPart]>,
    /// Whether the parts are combined with `and` (else `or`).
    all: bool,
    /// Only counts and sums of at most one property.
    plain: bool,
}

#[derive(Debug, Clone)]
struct ScanPart {
    win: usize,
    /// `None` for a count; the property for an aggregate.
    prop: Option<Needle>,
    func: AggFunc,
    op: CmpOp,
    /// The count (as a float) or the number compared with.
    value: f64,
    /// The count compared with (for a count).
    count: i64,
    /// `num_range(op, value)`: the counts or sums for which the part is true.
    range: Option<(f64, f64)>,
}

#[derive(Clone, Copy)]
struct Acc {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Acc {
    const EMPTY: Acc = Acc {
        n: 0,
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
    };

    #[inline(always)]
    fn add(&mut self, x: f64) {
        self.n += 1;
        self.sum += x;
        if x < self.min {
            self.min = x;
        }
        if x > self.max {
            self.max = x;
        }
    }

    fn value(&self, func: AggFunc) -> Option<f64> {
        match func {
            AggFunc::Sum => Some(self.sum),
            _ if self.n == 0 => None,
            AggFunc::Min => Some(self.min),
            AggFunc::Max => Some(self.max),
            AggFunc::Avg => Some(self.sum / self.n as f64),
        }
    }
}

#[derive(Debug, Clone)]
enum OccTest {
    Before(Timestamp),
    After(Timestamp),
    DaysSince(CmpOp, i64),
}

/// What a compiled segment reads, so that a `ProfileSource` (feature `source`) can fetch only that.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Needs {
    /// First-party attributes, in slot order.
    pub attributes: Vec<String>,
    /// LINE facts.
    pub line_facts: Vec<LineFact>,
    /// Events by name, with the longest window needed (`None`: all of history).
    pub events: Vec<EventNeed>,
}

impl Serialize for LineFact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One event the segment reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventNeed {
    /// The event name.
    pub name: String,
    /// How far back events are needed, from "now"; `None` is all of history.
    pub window: Option<Window>,
}

/// Options for [`CompiledSegment::compile_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CompileOptions {
    /// How to treat predicates only LINE can evaluate.
    pub line_only: LineOnly,
}

/// A segment compiled for fast in-process evaluation.
///
/// Cheap to share across threads (`Send + Sync`). Evaluate with [`CompiledSegment::at`] (one "now"
/// for a batch) or [`CompiledSegment::eval`] (reads the clock).
#[derive(Debug, Clone)]
pub struct CompiledSegment {
    /// The tree used by `eval`: negation normal form, cheap tests first.
    fast: Node,
    /// The membership test used by `matches`, built from `fast`: a conjunction.
    test: Box<[Test]>,

    /// The tree mirroring the source, used by `explain`.
    root: Node,
    source: Segment,
    needs: Needs,
    windows: Vec<u64>,
    zones: Vec<TimeZone>,
}

struct Compiler {
    needs: Needs,
    windows: Vec<u64>,
    zones: Vec<(String, TimeZone)>,
    options: CompileOptions,
}

impl Compiler {
    fn slot(&mut self, a: &Attr) -> Slot {
        match a {
            Attr::Custom(n) => {
                let i = match self.needs.attributes.iter().position(|x| x == n) {
                    Some(i) => i,
                    None => {
                        self.needs.attributes.push(n.clone());
                        self.needs.attributes.len() - 1
                    }
                };
                Slot::Custom(i as u32, Arc::from(n.as_str()))
            }
            Attr::Line(f) => {
                if !self.needs.line_facts.contains(f) {
                    self.needs.line_facts.push(*f);
                }
                Slot::Line(*f)
            }
        }
    }

    fn window(&mut self, w: Window) -> usize {
        match self.windows.iter().position(|x| *x == w.secs()) {
            Some(i) => i,
            None => {
                self.windows.push(w.secs());
                self.windows.len() - 1
            }
        }
    }

    fn event(&mut self, e: &EventRef, w: Option<Window>) -> EvMatch {
        match self.needs.events.iter_mut().find(|n| n.name == e.name) {
            Some(need) => {
                need.window = match (need.window, w) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                }
            }
            None => self.needs.events.push(EventNeed {
                name: e.name.clone(),
                window: w,
            }),
        }
        EvMatch {
            name: Needle::new(&e.name),
            filter: e.filter.clone().into_boxed_slice(),
        }
    }

    fn zone(&mut self, tz: &str, ptr: &str) -> Result<usize> {
        if let Some(i) = self.zones.iter().position(|(n, _)| n == tz) {
            return Ok(i);
        }
        let zone =
            TimeZone::get(tz).map_err(|_| Error::schema(&format!("{ptr}/tz"), format!("unknown time zone `{tz}`")))?;
        self.zones.push((tz.to_owned(), zone));
        Ok(self.zones.len() - 1)
    }

    fn node(&mut self, s: &Segment, ptr: &str) -> Result<Node> {
        Ok(match s {
            Segment::All(c) => Node::All(
                c.iter()
                    .enumerate()
                    .map(|(i, x)| self.node(x, &format!("{ptr}/all/{i}")))
                    .collect::<Result<_>>()?,
            ),
            Segment::Any(c) => Node::Any(
                c.iter()
                    .enumerate()
                    .map(|(i, x)| self.node(x, &format!("{ptr}/any/{i}")))
                    .collect::<Result<_>>()?,
            ),
            Segment::Not(x) => Node::Not(Box::new(self.node(x, &format!("{ptr}/not"))?)),
            Segment::Ref(name) => {
                return Err(Error::new(ErrorKind::UnknownSegment {
                    place: Place::Pointer(format!("{ptr}/ref")),
                    name: name.clone(),
                }))
            }
            Segment::Pred(p) => self.pred(p, ptr)?,
        })
    }

    fn pred(&mut self, p: &Predicate, ptr: &str) -> Result<Node> {
        Ok(match p {
            Predicate::Compare { attr, op, value } => {
                let slot = self.slot(attr);
                match (op, value) {
                    (CmpOp::Eq | CmpOp::Ne, Literal::Str(s)) => Node::EqStr {
                        slot,
                        s: Needle::new(s),
                        eq: *op == CmpOp::Eq,
                    },
                    (_, Literal::Num(n)) => Node::CmpNum { slot, op: *op, n: *n },
                    (CmpOp::Eq, Literal::Bool(b)) => Node::EqBool { slot, b: *b },
                    (CmpOp::Ne, Literal::Bool(b)) => Node::EqBool { slot, b: !*b },
                    _ => Node::Cmp {
                        slot,
                        op: *op,
                        lit: value.clone(),
                    },
                }
            }
            Predicate::Between { attr, low, high } => Node::Between {
                slot: self.slot(attr),
                lo: low.clone(),
                hi: high.clone(),
            },
            Predicate::In { attr, values } => Node::In {
                slot: self.slot(attr),
                lits: values.clone().into_boxed_slice(),
            },
            Predicate::Contains { attr, value } => Node::Contains {
                slot: self.slot(attr),
                value: Needle::new(value),
            },
            Predicate::StartsWith { attr, prefix } => Node::StartsWith {
                slot: self.slot(attr),
                prefix: prefix.as_str().into(),
            },
            Predicate::Exists(a) => Node::Exists(self.slot(a)),
            Predicate::Missing(a) => Node::Missing(self.slot(a)),
            Predicate::Before { attr, at } => Node::TimeCmp {
                slot: self.slot(attr),
                want: Ordering::Less,
                at: at.clone(),
            },
            Predicate::After { attr, at } => Node::TimeCmp {
                slot: self.slot(attr),
                want: Ordering::Greater,
                at: at.clone(),
            },
            Predicate::WithinLast { attr, window } => Node::WithinLast {
                slot: self.slot(attr),
                win: self.window(*window),
            },
            Predicate::DaysSince { attr, op, days } => Node::DaysSince {
                slot: self.slot(attr),
                op: *op,
                days: *days,
            },
            Predicate::Calendar { unit, attr, tz, test } => Node::Calendar {
                slot: self.slot(attr),
                unit: *unit,
                zone: self.zone(tz, ptr)?,
                test: test.clone(),
            },
            Predicate::Count {
                event,
                window,
                op,
                value,
            } => Node::Count {
                ev: self.event(event, Some(*window)),
                win: self.window(*window),
                op: *op,
                value: *value,
            },
            Predicate::Aggregate {
                func,
                event,
                property,
                window,
                op,
                value,
            } => Node::Agg {
                func: *func,
                ev: self.event(event, Some(*window)),
                prop: Needle::new(property),
                win: self.window(*window),
                op: *op,
                value: *value,
            },
            Predicate::Occurrence {
                which,
                event,
                window,
                test,
            } => {
                let to_ts = |l: &Literal, key: &str| -> Result<Timestamp> {
                    match l {
                        Literal::Time(t) => Ok(*t),
                        Literal::Date(d) => d
                            .to_zoned(TimeZone::UTC)
                            .map(|z| z.timestamp())
                            .map_err(|e| Error::schema(&format!("{ptr}/{key}"), format!("date out of range: {e}"))),
                        other => Err(Error::schema(
                            &format!("{ptr}/{key}"),
                            format!(
                                "an occurrence time is compared with a date or timestamp, not a {}",
                                other.type_name()
                            ),
                        )),
                    }
                };
                Node::Occ {
                    which: *which,
                    ev: self.event(event, *window),
                    win: window.map(|w| self.window(w)),
                    test: match test {
                        TimeTest::Before(l) => OccTest::Before(to_ts(l, "before")?),
                        TimeTest::After(l) => OccTest::After(to_ts(l, "after")?),
                        TimeTest::DaysSince(op, n) => OccTest::DaysSince(*op, *n),
                    },
                }
            }
            Predicate::Sequence {
                first,
                then_no,
                within,
                window,
            } => Node::Seq {
                a: self.event(first, Some(*window)),
                b: self.event(then_no, Some(*window)),
                within: SignedDuration::from_secs(i64::try_from(within.secs()).unwrap_or(i64::MAX)),
                win: self.window(*window),
            },
            Predicate::Demographic(_) | Predicate::Audience(_) | Predicate::Redelivery(_) => {
                match self.options.line_only {
                    LineOnly::Unknown => Node::LineOnly,
                    LineOnly::Reject => {
                        let what = match p {
                            Predicate::Demographic(_) => "a LINE-inferred demographic",
                            Predicate::Audience(_) => "a LINE audience",
                            _ => "a LINE redelivery",
                        };
                        return Err(Error::new(ErrorKind::NotEvaluable {
                            place: Place::Pointer(ptr.to_owned()),
                            what: what.into(),
                        }));
                    }
                }
            }
        })
    }
}

impl CompiledSegment {
    /// Compiles a segment. It must not contain references (resolve them with
    /// [`crate::library::Library::resolve`]) nor LINE-only predicates.
    pub fn compile(segment: &Segment) -> Result<Self> {
        Self::compile_with(segment, CompileOptions::default())
    }

    /// Compiles with options.
    ///
    /// A segment deeper than [`crate::ast::MAX_DEPTH`] is refused ([`ErrorKind::TooDeep`]) before
    /// anything walks it, so compilation, evaluation and [`Evaluator::explain`] never recurse
    /// deeper than the limit.
    pub fn compile_with(segment: &Segment, options: CompileOptions) -> Result<Self> {
        segment.check_depth()?;
        let mut c = Compiler {
            needs: Needs::default(),
            windows: Vec::new(),
            zones: Vec::new(),
            options,
        };
        let root = c.node(segment, "")?;
        let mut fast = c.node(&crate::normal::nnf(segment)?, "")?;
        reorder(&mut fast, &c.windows);
        let test = match Test::build(fast.clone(), Truth::True) {
            Test::All(c) => c,
            t => Box::new([t]),
        };
        Ok(Self {
            fast,
            test,
            root,
            source: segment.clone(),
            needs: c.needs,
            windows: c.windows,
            zones: c.zones.into_iter().map(|(_, z)| z).collect(),
        })
    }

    /// The segment this was compiled from.
    pub fn segment(&self) -> &Segment {
        &self.source
    }

    /// The first-party attributes read, in slot order (see [`ProfileView::attr`]).
    pub fn attributes(&self) -> &[String] {
        &self.needs.attributes
    }

    /// Everything the segment reads.
    pub fn needs(&self) -> &Needs {
        &self.needs
    }

    /// Prepares evaluation at `now`: window bounds and calendar values are computed once here.
    pub fn at(&self, now: Timestamp) -> Evaluator<'_> {
        let starts = self
            .windows
            .iter()
            .map(|w| {
                now.checked_sub(SignedDuration::from_secs(i64::try_from(*w).unwrap_or(i64::MAX)))
                    .unwrap_or(Timestamp::MIN)
            })
            .collect();
        let today = self.zones.iter().map(|z| now.to_zoned(z.clone()).date()).collect();
        Evaluator {
            seg: self,
            test: &self.test,
            now,
            now_ns: now.as_nanosecond(),
            starts,
            today,
        }
    }

    /// Evaluates one profile, reading "now" from the clock.
    pub fn eval(&self, profile: &impl ProfileView, clock: &dyn Clock) -> Truth {
        self.at(clock.now()).eval(profile)
    }

    /// Explains the evaluation of one profile, reading "now" from the clock.
    pub fn explain(&self, profile: &impl ProfileView, clock: &dyn Clock) -> Explanation {
        self.at(clock.now()).explain(profile)
    }
}

/// A compiled segment at a fixed "now". Create with [`CompiledSegment::at`].
#[derive(Debug, Clone)]
pub struct Evaluator<'a> {
    seg: &'a CompiledSegment,
    /// `seg.test`, one indirection closer.
    test: &'a [Test],
    now: Timestamp,
    now_ns: i128,
    starts: Vec<Timestamp>,
    today: Vec<Date>,
}

trait Sink {
    /// Whether the full data must be computed (explaining) or a decision is enough.
    const FULL: bool;
    fn note(&mut self, f: impl FnOnce() -> String);
}

struct NoSink;
impl Sink for NoSink {
    const FULL: bool = false;
    #[inline(always)]
    fn note(&mut self, _f: impl FnOnce() -> String) {}
}

struct StrSink(Option<String>);
impl Sink for StrSink {
    const FULL: bool = true;
    fn note(&mut self, f: impl FnOnce() -> String) {
        self.0 = Some(f());
    }
}

const DAY_NS: i128 = 86_400_000_000_000;

fn cal_field(unit: CalUnit, d: Date) -> i64 {
    match unit {
        CalUnit::Month => i64::from(d.month()),
        CalUnit::Day => i64::from(d.day()),
        CalUnit::Weekday => i64::from(d.weekday().to_monday_one_offset()),
    }
}

impl Evaluator<'_> {
    /// The "now" of this evaluator.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Evaluates one profile.
    #[inline]
    pub fn eval(&self, p: &impl ProfileView) -> Truth {
        self.node(&self.seg.fast, p)
    }

    /// Whether the profile is a member (the segment is `true` for it). Equal to
    /// `self.eval(p).is_true()`, computed by a two-valued test that stops at the first child that
    /// decides an `all` or `any`.
    #[inline(always)]
    pub fn matches(&self, p: &impl ProfileView) -> bool {
        self.holds_all(p, None)
    }

    /// [`Self::matches`] for one profile of a batch whose profiles all stay borrowed while `hits`
    /// is used: see [`Hits`].
    #[cfg(feature = "source")]
    #[inline(always)]
    pub(crate) fn matches_in<P: ProfileView + ?Sized>(&self, p: &P, hits: &mut Hits) -> bool {
        self.holds_all(p, Some(hits))
    }

    /// Whether every test of the top-level conjunction holds. Without `hits`, a scan keeps its
    /// own for the one profile.
    #[inline(always)]
    fn holds_all<P: ProfileView + ?Sized>(&self, p: &P, mut hits: Option<&mut Hits>) -> bool {
        // The first two tests each have their own copy of the dispatch on the kind of test: each
        // copy then always goes the same way for a segment (easy to predict), and no single block
        // of code runs for every test, which made the speed depend on where that block landed
        // relative to 64-byte lines. The rest share a loop.
        let tests = self.test;
        macro_rules! step {
            ($i:expr) => {
                match tests.get($i) {
                    Some(t) => {
                        if !self.holds_leaf(t, p, hits.as_deref_mut()) {
                            return false;
                        }
                    }
                    None => return true,
                }
            };
        }
        step!(0);
        step!(1);
        for t in tests.get(2..).unwrap_or_default() {
            if !self.holds_leaf(t, p, hits.as_deref_mut()) {
                return false;
            }
        }
        true
    }

    #[inline]
    fn holds<P: ProfileView + ?Sized>(&self, t: &Test, p: &P, mut hits: Option<&mut Hits>) -> bool {
        match t {
            Test::All(c) => {
                for x in c.iter() {
                    if !self.holds_leaf(x, p, hits.as_deref_mut()) {
                        return false;
                    }
                }
                true
            }
            Test::Any(c) => {
                for x in c.iter() {
                    if self.holds_leaf(x, p, hits.as_deref_mut()) {
                        return true;
                    }
                }
                false
            }
            leaf => self.holds_leaf(leaf, p, hits),
        }
    }

    #[inline(always)]
    fn holds_leaf<P: ProfileView + ?Sized>(&self, t: &Test, p: &P, hits: Option<&mut Hits>) -> bool {
        match t {
            Test::StrEq { i, name, s } => matches!(p.attr(*i as usize, name), Some(ValueRef::Str(v)) if s.eq(v)),
            Test::StrEqHalf { i, name, len, head } => {
                matches!(p.attr(*i as usize, name), Some(ValueRef::Str(v)) if half_eq(v, *len, *head))
            }
            Test::StrEqWords {
                i,
                name,
                len,
                head,
                tail,
            } => matches!(p.attr(*i as usize, name), Some(ValueRef::Str(v)) if words_eq(v, *len, *head, *tail)),
            Test::Str { slot, s, eq } => matches!(self.get(p, slot), Some(ValueRef::Str(v)) if s.eq(v) == *eq),
            Test::Range { i, name, lo, hi } => {
                matches!(p.attr(*i as usize, name), Some(ValueRef::Num(v)) if *lo <= v && v <= *hi)
            }
            Test::NumNe { i, name, n } => {
                matches!(p.attr(*i as usize, name), Some(ValueRef::Num(v)) if v.partial_cmp(n).is_some_and(Ordering::is_ne))
            }
            Test::Bool { slot, b } => matches!(self.get(p, slot), Some(ValueRef::Bool(v)) if v == *b),
            Test::Has { i, name, s, has } => {
                matches!(p.attr(*i as usize, name), Some(ValueRef::Set(xs)) if xs.iter().any(|x| s.eq(x)) == *has)
            }
            Test::HasHalf { i, name, len, head } => {
                matches!(p.attr(*i as usize, name), Some(ValueRef::Set(xs)) if xs.iter().any(|x| half_eq(x, *len, *head)))
            }
            Test::HasWords {
                i,
                name,
                len,
                head,
                tail,
            } => matches!(
                p.attr(*i as usize, name),
                Some(ValueRef::Set(xs)) if xs.iter().any(|x| words_eq(x, *len, *head, *tail))
            ),
            Test::Set { slot, set } => self.get(p, slot).is_some() == *set,
            Test::Scan(sc, Truth::True) => self.scan_holds(sc, p, hits),
            Test::Scan(sc, want) => self.scan(sc, p) == *want,
            Test::Other(n, want) => self.heavy(n, p) == *want,
            Test::All(_) | Test::Any(_) => self.holds_nested(t, p, hits),
        }
    }

    #[inline(never)]
    fn holds_nested<P: ProfileView + ?Sized>(&self, t: &Test, p: &P, hits: Option<&mut Hits>) -> bool {
        self.holds(t, p, hits)
    }

    /// Evaluates a node: `all`/`any`/`not` and cheap leaves inline, heavy leaves out of line, so
    /// that this function stays small and cheap to call.
    #[inline]
    fn node<P: ProfileView + ?Sized>(&self, n: &Node, p: &P) -> Truth {
        match n {
            Node::All(c) => {
                let mut acc = Truth::True;
                for x in c.iter() {
                    match self.cheap(x, p) {
                        Truth::False => return Truth::False,
                        t => acc = acc.and(t),
                    }
                }
                acc
            }
            Node::Any(c) => {
                let mut acc = Truth::False;
                for x in c.iter() {
                    match self.cheap(x, p) {
                        Truth::True => return Truth::True,
                        t => acc = acc.or(t),
                    }
                }
                acc
            }
            Node::Not(x) => self.cheap(x, p).not(),
            other => self.cheap(other, p),
        }
    }

    #[inline(always)]
    fn cheap<P: ProfileView + ?Sized>(&self, n: &Node, p: &P) -> Truth {
        match n {
            Node::EqStr { slot, s, eq } => match self.get(p, slot) {
                Some(ValueRef::Str(v)) => Truth::from_bool(s.eq(v) == *eq),
                _ => Truth::Unknown,
            },
            Node::CmpNum { slot, op, n } => match self.get(p, slot) {
                Some(ValueRef::Num(v)) => cmp_truth(v.partial_cmp(n), *op),
                _ => Truth::Unknown,
            },
            Node::EqBool { slot, b } => match self.get(p, slot) {
                Some(ValueRef::Bool(v)) => Truth::from_bool(v == *b),
                _ => Truth::Unknown,
            },
            Node::Contains { slot, value } => match self.get(p, slot) {
                Some(ValueRef::Set(s)) => Truth::from_bool(s.iter().any(|x| value.eq(x))),
                _ => Truth::Unknown,
            },
            Node::Exists(slot) => Truth::from_bool(self.get(p, slot).is_some()),
            Node::Missing(slot) => Truth::from_bool(self.get(p, slot).is_none()),
            Node::All(_) | Node::Any(_) | Node::Not(_) => self.nested(n, p),
            _ => self.heavy(n, p),
        }
    }

    #[inline(never)]
    fn nested<P: ProfileView + ?Sized>(&self, n: &Node, p: &P) -> Truth {
        self.node(n, p)
    }

    #[inline(never)]
    fn heavy<P: ProfileView + ?Sized>(&self, n: &Node, p: &P) -> Truth {
        match n {
            Node::Count { ev, win, op, value } => {
                let c = self.count(ev, *win, *op, *value, p.events(), false);
                self.count_truth(c, *win, *op, *value, p)
            }
            Node::Agg {
                func,
                ev,
                prop,
                win,
                op,
                value,
            } => {
                if self.partial(p.history_start(), Some(*win)) {
                    return Truth::Unknown;
                }
                match self.agg(*func, ev, prop, *win, p.events()).0 {
                    Some(a) => cmp_truth(a.partial_cmp(value), *op),
                    None => Truth::Unknown,
                }
            }
            Node::Scan(sc) => self.scan(sc, p),
            leaf => self.leaf(leaf, p, &mut NoSink),
        }
    }

    /// Several counts and aggregates of the same event, computed in one pass over the events.
    #[inline(never)]
    fn scan<P: ProfileView + ?Sized>(&self, sc: &Scan, p: &P) -> Truth {
        let (events, hs) = (p.events(), p.history_start());
        match (sc.plain, sc.parts.len()) {
            (true, 2) => self.plain_run(&mut self.plain::<2>(sc), events, hs),
            (true, 3) => self.plain_run(&mut self.plain::<3>(sc), events, hs),
            (true, 4) => self.plain_run(&mut self.plain::<4>(sc), events, hs),
            _ => self.scan_any(sc, events, hs),
        }
    }

    /// Whether a scan is `true`: [`Self::scan`], with the common case decided directly (a plain
    /// scan over a complete history, whose parts are then never unknown but for a NaN sum, which
    /// is in no range).
    #[inline(never)]
    fn scan_holds<P: ProfileView + ?Sized>(&self, sc: &Scan, p: &P, hits: Option<&mut Hits>) -> bool {
        if p.history_start().is_none() && sc.plain {
            let mut own = Hits::default();
            let hits = hits.unwrap_or(&mut own);
            if !std::ptr::eq(hits.scan, sc) {
                *hits = Hits {
                    scan: sc,
                    ..Hits::default()
                };
            }
            match sc.parts.len() {
                2 => return self.plain_holds::<2>(sc, p.events(), hits),
                3 => return self.plain_holds::<3>(sc, p.events(), hits),
                4 => return self.plain_holds::<4>(sc, p.events(), hits),
                _ => {}
            }
        }
        self.scan(sc, p) == Truth::True
    }

    #[inline(always)]
    fn plain_holds<const K: usize>(&self, sc: &Scan, events: &[Event], hits: &mut Hits) -> bool {
        let mut plan = self.plain::<K>(sc);
        (plan.name_hit, plan.prop_hit) = (hits.name, hits.prop);
        let (n, sum) = self.plain_pass(&mut plan, events);
        (hits.name, hits.prop) = (plan.name_hit, plan.prop_hit);
        let part = |i: usize| {
            sc.parts.get(i).is_some_and(|part| {
                // Counts are far below 2^63 (and exact as floats below 2^53).
                let x = if part.prop.is_none() {
                    n[i] as i64 as f64
                } else {
                    sum[i]
                };
                in_range(x, part.range, part.value)
            })
        };
        if sc.all {
            (0..K).all(part)
        } else {
            (0..K).any(part)
        }
    }

    /// The value of a scan from its accumulators (one per part, in order).
    #[inline(always)]
    fn scan_truth(&self, sc: &Scan, acc: &[Acc], hs: Option<Timestamp>) -> Truth {
        let mut out = Truth::from_bool(sc.all);
        for (part, a) in sc.parts.iter().zip(acc.iter()) {
            let partial = self.partial(hs, Some(part.win));
            let t = match (&part.prop, part.func) {
                (None, _) => {
                    let c = i64::try_from(a.n).unwrap_or(i64::MAX);
                    if partial {
                        partial_count(part.op, c, part.count)
                    } else {
                        Truth::from_bool(part.op.holds(c.cmp(&part.count)))
                    }
                }
                _ if partial => Truth::Unknown,
                (Some(_), func) => match a.value(func) {
                    Some(x) => cmp_truth(x.partial_cmp(&part.value), part.op),
                    None => Truth::Unknown,
                },
            };
            out = if sc.all { out.and(t) } else { out.or(t) };
        }
        out
    }

    /// Prepares a plain scan of `K` parts (see [`Plain`]).
    #[inline(always)]
    fn plain<'s, const K: usize>(&self, sc: &'s Scan) -> Plain<'s, K> {
        let now = self.now;
        let mut starts = [now; K];
        for (start, part) in starts.iter_mut().zip(sc.parts.iter()) {
            *start = self.starts.get(part.win).copied().unwrap_or(now);
        }
        debug_assert!(starts.is_sorted(), "parts are fused widest window first");
        Plain {
            sc,
            starts,
            earliest: starts.iter().copied().min().unwrap_or(now),
            prop: sc.parts.iter().find_map(|p| p.prop.as_ref()),
            name_hit: std::ptr::null(),
            prop_hit: std::ptr::null(),
        }
    }

    /// A plain scan over one profile's events: the property is read once per event, and every
    /// part in whose window the event falls adds one to its count and the value (0 when missing,
    /// which leaves a sum unchanged) to its sum. A count part reads only the count, a sum part
    /// only the sum.
    #[inline(always)]
    fn plain_run<const K: usize>(&self, pl: &mut Plain<'_, K>, events: &[Event], hs: Option<Timestamp>) -> Truth {
        let (n, sum) = self.plain_pass(pl, events);
        let mut acc = [Acc::EMPTY; K];
        for ((a, n), sum) in acc.iter_mut().zip(n).zip(sum) {
            a.n = n;
            a.sum = sum;
        }
        self.scan_truth(pl.sc, &acc, hs)
    }

    /// The pass of a plain scan: each part's count and sum.
    #[inline(always)]
    fn plain_pass<const K: usize>(&self, pl: &mut Plain<'_, K>, events: &[Event]) -> ([u64; K], [f64; K]) {
        if pl.sc.ev.filter.is_empty() {
            self.plain_events::<K, false>(pl, events)
        } else {
            self.plain_events::<K, true>(pl, events)
        }
    }

    /// The loop of [`Self::plain_pass`], with or without a `where` filter on the events.
    #[inline(always)]
    fn plain_events<const K: usize, const FILTER: bool>(
        &self,
        pl: &mut Plain<'_, K>,
        events: &[Event],
    ) -> ([u64; K], [f64; K]) {
        let (now, earliest, starts, ev) = (self.now, pl.earliest, pl.starts, &pl.sc.ev);
        let (mut name_hit, mut prop_hit) = (pl.name_hit, pl.prop_hit);
        let mut n = [0u64; K];
        let mut sum = [0.0f64; K];
        for e in events {
            if !(ev.name.eq_shared(&e.name, &mut name_hit) && e.at > earliest && e.at <= now) {
                continue;
            }
            if FILTER && !ev.filter_matches(e) {
                continue;
            }
            let x = match pl.prop {
                Some(prop) => num_prop(e, prop, &mut prop_hit).unwrap_or(0.0),
                None => 0.0,
            };
            for i in 0..K {
                // The first part has the widest window, whose start is `earliest`.
                if i == 0 || e.at > starts[i] {
                    n[i] += 1;
                    sum[i] += x;
                }
            }
        }
        (pl.name_hit, pl.prop_hit) = (name_hit, prop_hit);
        (n, sum)
    }

    /// [`Self::scan`] in general: one accumulator per part.
    fn scan_any(&self, sc: &Scan, events: &[Event], hs: Option<Timestamp>) -> Truth {
        let mut acc = [Acc::EMPTY; MAX_SCAN_PARTS];
        let parts = &sc.parts[..sc.parts.len().min(MAX_SCAN_PARTS)];
        let mut starts = [self.now; MAX_SCAN_PARTS];
        let mut earliest = self.now;
        for (start, part) in starts.iter_mut().zip(parts) {
            *start = self.starts.get(part.win).copied().unwrap_or(self.now);
            earliest = earliest.min(*start);
        }
        let now = self.now;
        let mut name_hit = std::ptr::null();
        for e in events {
            if !(sc.ev.name.eq_shared(&e.name, &mut name_hit)
                && e.at > earliest
                && e.at <= now
                && sc.ev.filter_matches(e))
            {
                continue;
            }
            for ((part, a), start) in parts.iter().zip(acc.iter_mut()).zip(starts.iter()) {
                if e.at <= *start {
                    continue;
                }
                match &part.prop {
                    None => a.n += 1,
                    Some(prop) => {
                        if let Some(x) = num_prop(e, prop, &mut std::ptr::null()) {
                            if part.func == AggFunc::Sum {
                                a.n += 1;
                                a.sum += x;
                            } else {
                                a.add(x);
                            }
                        }
                    }
                }
            }
        }
        self.scan_truth(sc, &acc, hs)
    }

    /// Counts matching events in the window, stopping early (unless `full`) once the comparison
    /// with `value` can no longer change.
    #[inline(always)]
    fn count(&self, ev: &EvMatch, win: usize, op: CmpOp, value: i64, events: &[Event], full: bool) -> i64 {
        // Once the count reaches `decided`, the result no longer depends on more events (with a
        // full or a partial history).
        let decided = match op {
            CmpOp::Ge | CmpOp::Lt => value,
            _ => value.saturating_add(1),
        };
        let (start, now) = (self.starts[win], self.now);
        let mut c: i64 = 0;
        let mut hit = std::ptr::null();
        for e in events {
            if ev.name.eq_shared(&e.name, &mut hit) && e.at > start && e.at <= now && ev.filter_matches(e) {
                c += 1;
                if !full && c >= decided {
                    break;
                }
            }
        }
        c
    }

    #[inline(always)]
    fn count_truth<P: ProfileView + ?Sized>(&self, c: i64, win: usize, op: CmpOp, value: i64, p: &P) -> Truth {
        if self.partial(p.history_start(), Some(win)) {
            partial_count(op, c, value)
        } else {
            Truth::from_bool(op.holds(c.cmp(&value)))
        }
    }

    /// The aggregate of a numeric property over matching events, and how many had the property.
    #[inline(always)]
    fn agg(&self, func: AggFunc, ev: &EvMatch, prop: &Needle, win: usize, events: &[Event]) -> (Option<f64>, u64) {
        let (start, now) = (self.starts[win], self.now);
        let (mut n, mut sum, mut min, mut max) = (0u64, 0.0f64, f64::INFINITY, f64::NEG_INFINITY);
        let (mut name_hit, mut prop_hit) = (std::ptr::null(), std::ptr::null());
        for e in events {
            if ev.name.eq_shared(&e.name, &mut name_hit) && e.at > start && e.at <= now && ev.filter_matches(e) {
                if let Some(x) = num_prop(e, prop, &mut prop_hit) {
                    n += 1;
                    sum += x;
                    if x < min {
                        min = x;
                    }
                    if x > max {
                        max = x;
                    }
                }
            }
        }
        let value = match func {
            AggFunc::Sum => Some(sum),
            _ if n == 0 => None,
            AggFunc::Min => Some(min),
            AggFunc::Max => Some(max),
            AggFunc::Avg => Some(sum / n as f64),
        };
        (value, n)
    }

    #[inline(always)]
    fn get<'p, P: ProfileView + ?Sized>(&self, p: &'p P, slot: &Slot) -> Option<ValueRef<'p>> {
        match slot {
            Slot::Custom(i, name) => p.attr(*i as usize, name),
            Slot::Line(f) => p.line_fact(*f),
        }
    }

    #[inline(always)]
    fn in_window(&self, e: &Event, win: usize) -> bool {
        e.at > self.starts[win] && e.at <= self.now
    }

    fn partial(&self, hs: Option<Timestamp>, win: Option<usize>) -> bool {
        match (hs, win) {
            (None, _) => false,
            (Some(h), Some(w)) => h > self.starts[w],
            (Some(_), None) => true,
        }
    }

    fn days_since(&self, t: Timestamp) -> i64 {
        let d = (self.now_ns - t.as_nanosecond()).div_euclid(DAY_NS);
        i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
    }

    fn leaf<P: ProfileView + ?Sized, S: Sink>(&self, n: &Node, p: &P, sink: &mut S) -> Truth {
        let name = |slot: &Slot| match slot {
            Slot::Custom(_, name) => name.to_string(),
            Slot::Line(f) => format!("line.{}", f.name()),
        };
        let show = |slot: &Slot, v: Option<ValueRef<'_>>| match v {
            Some(v) => format!("{} = {v}", name(slot)),
            None => format!("{} is missing", name(slot)),
        };
        match n {
            Node::EqStr { slot, .. } | Node::CmpNum { slot, .. } | Node::EqBool { slot, .. } => {
                let v = self.get(p, slot);
                sink.note(|| show(slot, v));
                self.node(n, p)
            }
            Node::Cmp { slot, op, lit } => {
                let v = self.get(p, slot);
                sink.note(|| show(slot, v));
                match v {
                    Some(v) => cmp_truth(value_cmp(v, lit), *op),
                    None => Truth::Unknown,
                }
            }
            Node::Between { slot, lo, hi } => {
                let v = self.get(p, slot);
                sink.note(|| show(slot, v));
                match v {
                    Some(v) => cmp_truth(value_cmp(v, lo), CmpOp::Ge).and(cmp_truth(value_cmp(v, hi), CmpOp::Le)),
                    None => Truth::Unknown,
                }
            }
            Node::In { slot, lits } => {
                let v = self.get(p, slot);
                sink.note(|| show(slot, v));
                let mut acc = Truth::False;
                for l in lits.iter() {
                    let t = match v {
                        Some(v) => cmp_truth(value_cmp(v, l), CmpOp::Eq),
                        None => Truth::Unknown,
                    };
                    if t == Truth::True {
                        return t;
                    }
                    acc = acc.or(t);
                }
                acc
            }
            Node::Contains { slot, value } => {
                let v = self.get(p, slot);
                sink.note(|| show(slot, v));
                match v {
                    Some(ValueRef::Set(s)) => Truth::from_bool(s.iter().any(|x| value.eq(x))),
                    _ => Truth::Unknown,
                }
            }
            Node::StartsWith { slot, prefix } => {
                let v = self.get(p, slot);
                sink.note(|| show(slot, v));
                match v {
                    Some(ValueRef::Str(s)) => Truth::from_bool(s.starts_with(&**prefix)),
                    _ => Truth::Unknown,
                }
            }
            Node::Exists(slot) | Node::Missing(slot) => {
                let v = self.get(p, slot);
                sink.note(|| show(slot, v));
                Truth::from_bool(v.is_some() == matches!(n, Node::Exists(_)))
            }
            Node::TimeCmp { slot, want, at } => {
                let v = self.get(p, slot);
                sink.note(|| show(slot, v));
                match v.and_then(|v| value_cmp(v, at)) {
                    Some(o) => Truth::from_bool(o == *want),
                    None => Truth::Unknown,
                }
            }
            Node::WithinLast { slot, win } => {
                let v = self.get(p, slot);
                sink.note(|| show(slot, v));
                match v {
                    Some(ValueRef::Time(t)) => Truth::from_bool(t > self.starts[*win] && t <= self.now),
                    _ => Truth::Unknown,
                }
            }
            Node::DaysSince { slot, op, days } => {
                let v = self.get(p, slot);
                match v {
                    Some(ValueRef::Time(t)) => {
                        let d = self.days_since(t);
                        sink.note(|| format!("{}, {d} days ago", show(slot, v)));
                        Truth::from_bool(op.holds(d.cmp(days)))
                    }
                    _ => {
                        sink.note(|| show(slot, v));
                        Truth::Unknown
                    }
                }
            }
            Node::Calendar { slot, unit, zone, test } => {
                let v = self.get(p, slot);
                let date = match v {
                    Some(ValueRef::Date(d)) => Some(d),
                    Some(ValueRef::Time(t)) => Some(t.to_zoned(self.seg.zones[*zone].clone()).date()),
                    _ => None,
                };
                let Some(date) = date else {
                    sink.note(|| show(slot, v));
                    return Truth::Unknown;
                };
                let field = cal_field(*unit, date);
                let current = cal_field(*unit, self.today[*zone]);
                sink.note(|| {
                    format!(
                        "{}; {} = {field}, current {} = {current}",
                        show(slot, v),
                        unit.name(),
                        unit.name()
                    )
                });
                Truth::from_bool(match test {
                    CalTest::Current => field == current,
                    CalTest::In(vals) => vals.contains(&field),
                })
            }
            Node::Count { ev, win, op, value } => {
                let c = self.count(ev, *win, *op, *value, p.events(), S::FULL);
                let partial = self.partial(p.history_start(), Some(*win));
                sink.note(|| {
                    format!(
                        "{c} matching `{}` events since {}{}",
                        ev.name,
                        self.starts[*win],
                        if partial {
                            " (history incomplete: a lower bound)"
                        } else {
                            ""
                        }
                    )
                });
                self.count_truth(c, *win, *op, *value, p)
            }
            Node::Agg {
                func,
                ev,
                prop,
                win,
                op,
                value,
            } => {
                let (agg, n) = self.agg(*func, ev, prop, *win, p.events());
                let partial = self.partial(p.history_start(), Some(*win));
                sink.note(|| {
                    format!(
                        "{}({}.{prop}) = {} over {n} events since {}{}",
                        func.name(),
                        ev.name,
                        agg.map(|a| a.to_string()).unwrap_or_else(|| "none".into()),
                        self.starts[*win],
                        if partial { " (history incomplete: unknown)" } else { "" }
                    )
                });
                if partial {
                    return Truth::Unknown;
                }
                match agg {
                    Some(a) => cmp_truth(a.partial_cmp(value), *op),
                    None => Truth::Unknown,
                }
            }
            Node::Occ { which, ev, win, test } => {
                let mut found: Option<Timestamp> = None;
                for e in p.events() {
                    let inw = match win {
                        Some(w) => self.in_window(e, *w),
                        None => e.at <= self.now,
                    };
                    if inw && ev.matches(e) {
                        found = Some(match (found, which) {
                            (None, _) => e.at,
                            (Some(f), Which::First) => f.min(e.at),
                            (Some(f), Which::Last) => f.max(e.at),
                        });
                    }
                }
                let partial = self.partial(p.history_start(), *win);
                sink.note(|| match found {
                    Some(t) => format!(
                        "{} `{}` at {t}{}",
                        which.name(),
                        ev.name,
                        if partial && *which == Which::First {
                            " (history incomplete: an earlier one may exist)"
                        } else {
                            ""
                        }
                    ),
                    None => format!("no matching `{}` event", ev.name),
                });
                let Some(t) = found else {
                    return Truth::Unknown;
                };
                if partial && *which == Which::First {
                    return Truth::Unknown;
                }
                Truth::from_bool(match test {
                    OccTest::Before(x) => t < *x,
                    OccTest::After(x) => t > *x,
                    OccTest::DaysSince(op, d) => op.holds(self.days_since(t).cmp(d)),
                })
            }
            Node::Seq { a, b, within, win } => {
                let hs = p.history_start();
                let events = p.events();
                let mut hit: Option<Timestamp> = None;
                for e in events {
                    if !(self.in_window(e, *win) && a.matches(e)) {
                        continue;
                    }
                    if hs.is_some_and(|h| e.at < h) {
                        continue;
                    }
                    let Ok(deadline) = e.at.checked_add(*within) else {
                        continue;
                    };
                    if deadline > self.now {
                        continue;
                    }
                    let followed = events.iter().any(|f| f.at > e.at && f.at <= deadline && b.matches(f));
                    if !followed {
                        hit = Some(e.at);
                        break;
                    }
                }
                let partial = self.partial(hs, Some(*win));
                sink.note(|| match hit {
                    Some(t) => format!("`{}` at {t} with no `{}` in the {} after it", a.name, b.name, within),
                    None if partial => format!("no qualifying `{}` (history incomplete: unknown)", a.name),
                    None => format!("no `{}` without a following `{}`", a.name, b.name),
                });
                match hit {
                    Some(_) => Truth::True,
                    None if partial => Truth::Unknown,
                    None => Truth::False,
                }
            }
            Node::LineOnly => {
                sink.note(|| "known only to LINE: unknown here".into());
                Truth::Unknown
            }
            Node::All(_) | Node::Any(_) | Node::Not(_) => self.node(n, p),
            Node::Scan(_) => self.heavy(n, p),
        }
    }

    /// Explains the evaluation: the tree with each node's value and the data that decided it.
    pub fn explain(&self, p: &impl ProfileView) -> Explanation {
        self.explain_node(&self.seg.source, &self.seg.root, p)
    }

    /// The value of every aggregate predicate (`sum`, `min`, `max`, `avg`) of the segment for one
    /// profile, in the order they appear in the segment, computed as [`eval`](Self::eval) computes
    /// them. A host shows these numbers (a member's spend, "¥X more to the next tier") instead of
    /// adding up the same events a second time.
    pub fn aggregates(&self, p: &impl ProfileView) -> Vec<AggregateValue> {
        let mut out = Vec::new();
        self.collect_aggregates(&self.seg.source, &self.seg.root, p, &mut out);
        out
    }

    fn collect_aggregates<P: ProfileView>(&self, s: &Segment, n: &Node, p: &P, out: &mut Vec<AggregateValue>) {
        match (s, n) {
            (Segment::All(cs), Node::All(ns)) | (Segment::Any(cs), Node::Any(ns)) => {
                for (c, x) in cs.iter().zip(ns.iter()) {
                    self.collect_aggregates(c, x, p, out);
                }
            }
            (Segment::Not(inner), Node::Not(x)) => self.collect_aggregates(inner, x, p, out),
            (
                Segment::Pred(pred @ Predicate::Aggregate { .. }),
                Node::Agg {
                    func, ev, prop, win, ..
                },
            ) => {
                let (value, events) = self.agg(*func, ev, prop, *win, p.events());
                out.push(AggregateValue {
                    predicate: crate::text::print(&Segment::Pred(pred.clone())),
                    func: *func,
                    value,
                    events,
                    complete: !self.partial(p.history_start(), Some(*win)),
                });
            }
            _ => {}
        }
    }

    fn explain_node<P: ProfileView>(&self, s: &Segment, n: &Node, p: &P) -> Explanation {
        let label = crate::text::print(s);
        match (s, n) {
            (Segment::All(cs), Node::All(ns)) | (Segment::Any(cs), Node::Any(ns)) => {
                let children: Vec<_> = cs
                    .iter()
                    .zip(ns.iter())
                    .map(|(c, x)| self.explain_node(c, x, p))
                    .collect();
                let is_all = matches!(n, Node::All(_));
                let value = children.iter().fold(Truth::from_bool(is_all), |acc, c| {
                    if is_all {
                        acc.and(c.value)
                    } else {
                        acc.or(c.value)
                    }
                });
                Explanation {
                    op: if is_all { "all" } else { "any" },
                    node: label,
                    value,
                    detail: None,
                    children,
                }
            }
            (Segment::Not(inner), Node::Not(x)) => {
                let child = self.explain_node(inner, x, p);
                Explanation {
                    op: "not",
                    node: label,
                    value: child.value.not(),
                    detail: None,
                    children: vec![child],
                }
            }
            _ => {
                let mut sink = StrSink(None);
                let value = self.leaf(n, p, &mut sink);
                Explanation {
                    op: "predicate",
                    node: label,
                    value,
                    detail: sink.0,
                    children: Vec::new(),
                }
            }
        }
    }
}

/// The value of one aggregate predicate for one profile ([`Evaluator::aggregates`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AggregateValue {
    /// The predicate in the text form, e.g. `sum(purchase.amount, 365d) >= 50000`.
    pub predicate: String,
    /// The function.
    pub func: AggFunc,
    /// The aggregate over the matching events in the window: `sum` of none is 0; `min`, `max` and
    /// `avg` of none are `None`.
    pub value: Option<f64>,
    /// How many events in the window had the property.
    pub events: u64,
    /// Whether the profile's history covers the whole window (when it does not, the value is a
    /// lower bound for `sum` and the predicate evaluates to unknown).
    pub complete: bool,
}

/// The explanation of one evaluation: a node, its value and what decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// `all`, `any`, `not` or `predicate`.
    pub op: &'static str,
    /// The node in the text form.
    pub node: String,
    /// Its value.
    pub value: Truth,
    /// The data that decided a leaf (the attribute value, the count found, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Children of `all`, `any` and `not`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Explanation>,
}

impl Explanation {
    fn write(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let head = if self.op == "predicate" {
            self.node.as_str()
        } else {
            self.op
        };
        write!(f, "{:indent$}[{}] {head}", "", self.value, indent = depth * 2)?;
        if let Some(d) = &self.detail {
            write!(f, "    ({d})")?;
        }
        writeln!(f)?;
        for c in &self.children {
            c.write(f, depth + 1)?;
        }
        Ok(())
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}
