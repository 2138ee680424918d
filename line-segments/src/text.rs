//! The text form of a segment: a parser and a printer that round-trip.
//!
//! ```text
//! gender = "female" and "cosmetics" in interests and id_linked and count(purchase, 90d) >= 2
//! ```
//!
//! # Grammar
//!
//! ```text
//! segment   := or
//! or        := and ("or" and)*
//! and       := unary ("and" unary)*
//! unary     := "not" unary | "(" segment ")" | "true" | "false" | predicate
//! predicate := attr ("=" | "!=" | "<" | "<=" | ">" | ">=") literal
//!            | attr "between" literal "and" literal          -- inclusive
//!            | attr "in" "[" literal ("," literal)* "]"
//!            | string "in" attr                              -- tag set contains (also: attr "contains" string)
//!            | attr "starts_with" string
//!            | "exists" "(" attr ")" | "missing" "(" attr ")"
//!            | attr "before" time | attr "after" time
//!            | attr "within" window                           -- in the last window
//!            | "days_since" "(" attr ")" cmp integer
//!            | ("month" | "day" | "weekday") "(" attr "," string ")" ("=" ("current" | integer) | "in" "[" integers "]")
//!            | "count" "(" event "," window ")" cmp integer
//!            | ("sum" | "min" | "max" | "avg") "(" name "." name ["where" conds] "," window ")" cmp number
//!            | ("first" | "last") "(" event ["," window] ")" ("before" time | "after" time)
//!            | "days_since" "(" ("first" | "last") "(" event ["," window] ")" ")" cmp integer
//!            | "sequence" "(" event "then" "no" event "within" window "," window ")"
//!            | "segment" "(" string ")"                        -- a named segment
//!            | "demo.gender" "(" strings ")" | "demo.area" "(" strings ")" | "demo.app_type" "(" strings ")"
//!            | "demo.age" "(" [integer] ".." [integer] ")" | "demo.subscription" "(" [integer] ".." [integer] ")"
//!            | "audience" "(" integer ")" | "redelivery" "(" string ")"
//!            | attr                                           -- shorthand for attr = true
//! event     := name ["where" conds]
//! conds     := name (cmp literal | "in" "[" literals "]") ("and" ...)*
//! attr      := name | "line." fact        -- facts: is_friend blocked id_linked friend_since friend_source store
//!                                           -- `is_friend`, `blocked` and `id_linked` alone mean line.X = true
//! name      := identifier ("." identifier)* | `any text in backticks`
//! literal   := string | number | true | false | date (2026-05-01) | timestamp (2026-05-01T00:00:00Z)
//!                                           -- years before 0000 take a sign and six digits: -000044-03-15
//! window    := integer followed by s, m, h, d or w (90d)
//! ```
//!
//! Strings use JSON escapes. `#` starts a comment that runs to the end of the line.
//!
//! A segment nests at most [`MAX_DEPTH`] levels: each `not` and each `and`/`or` group is a level of
//! the tree ([`Segment::depth`]), and each `(` also opens a level while it is read, so the parser
//! never recurses past the limit. Deeper input is an [`ErrorKind::TooDeep`] error at the line and
//! column of the first level too many.

use std::collections::HashMap;
use std::fmt::Write as _;

use jiff::civil::Date;
use jiff::Timestamp;

use crate::ast::*;
use crate::error::{Error, ErrorKind, Place, Result};

/// Words that cannot be bare attribute names (write them in backticks).
pub const RESERVED: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "between",
    "contains",
    "starts_with",
    "before",
    "after",
    "within",
    "true",
    "false",
    "exists",
    "missing",
    "segment",
    "days_since",
    "month",
    "day",
    "weekday",
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "first",
    "last",
    "sequence",
    "demo",
    "audience",
    "redelivery",
    "then",
    "no",
    "where",
    "current",
    "line",
    "is_friend",
    "blocked",
    "id_linked",
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Quoted(String),
    Str(String),
    Num(f64),
    Dur(Window),
    Date(Date),
    Time(Timestamp),
    Sym(&'static str),
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Quoted(s) => format!("`{s}` (quoted name)"),
            Tok::Str(s) => format!("string {}", serde_json::to_string(s).unwrap_or_default()),
            Tok::Num(n) => format!("number {n}"),
            Tok::Dur(w) => format!("window {w}"),
            Tok::Date(d) => format!("date {d}"),
            Tok::Time(t) => format!("timestamp {t}"),
            Tok::Sym(s) => format!("`{s}`"),
            Tok::Eof => "end of input".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    column: usize,
}

impl Pos {
    fn place(self) -> Place {
        Place::Text {
            line: self.line,
            column: self.column,
        }
    }
}

fn err(pos: Pos, expected: &[&str], found: impl Into<String>) -> Error {
    Error::new(ErrorKind::Parse {
        place: pos.place(),
        expected: expected.iter().map(|s| s.to_string()).collect(),
        found: found.into(),
    })
}

fn lex(src: &str) -> Result<Vec<(Tok, Pos)>> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let is_ident_start = |c: char| c.is_ascii_alphabetic() || c == '_';
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, column: col };
        let start = i;
        if c == '\n' {
            i += 1;
            line += 1;
            col = 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            col += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let tok = if is_ident_start(c) {
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            Tok::Ident(chars[start..i].iter().collect())
        } else if c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != '`' && chars[i] != '\n' {
                i += 1;
            }
            if i >= chars.len() || chars[i] != '`' {
                return Err(err(pos, &["closing backtick"], "end of line"));
            }
            i += 1;
            let name: String = chars[start + 1..i - 1].iter().collect();
            if let Err(m) = crate::json::check_name(&name) {
                return Err(err(pos, &["a name"], m));
            }
            Tok::Quoted(name)
        } else if c == '"' {
            i += 1;
            let mut escaped = false;
            while i < chars.len() {
                let d = chars[i];
                if d == '\n' {
                    break;
                }
                if escaped {
                    escaped = false;
                } else if d == '\\' {
                    escaped = true;
                } else if d == '"' {
                    break;
                }
                i += 1;
            }
            if i >= chars.len() || chars[i] != '"' {
                return Err(err(pos, &["closing quote `\"`"], "end of line"));
            }
            i += 1;
            let raw: String = chars[start..i].iter().collect();
            let s: String = serde_json::from_str(&raw).map_err(|e| {
                err(
                    pos,
                    &["a valid string"],
                    crate::json::strip_serde_position(&e.to_string()),
                )
            })?;
            Tok::Str(s)
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits = i - start;
            // A date or timestamp: four digits, or a sign and six (years before 0000, as they print).
            if ((c != '-' && digits == 4) || (c == '-' && digits == 7)) && chars.get(i) == Some(&'-') {
                while i < chars.len()
                    && (chars[i].is_ascii_digit() || matches!(chars[i], '-' | ':' | 'T' | 'Z' | '+' | '.'))
                {
                    i += 1;
                }
                let raw: String = chars[start..i].iter().collect();
                if raw.contains('T') {
                    Tok::Time(raw.parse::<Timestamp>().map_err(|e| {
                        err(
                            pos,
                            &["an RFC 3339 timestamp such as 2026-05-01T00:00:00Z"],
                            format!("`{raw}` ({e})"),
                        )
                    })?)
                } else {
                    Tok::Date(
                        raw.parse::<Date>()
                            .map_err(|e| err(pos, &["a date such as 2026-05-01"], format!("`{raw}` ({e})")))?,
                    )
                }
            } else {
                if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                    i += 1;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let raw: String = chars[start..i].iter().collect();
                if i < chars.len() && is_ident_start(chars[i]) {
                    let mut j = i;
                    while j < chars.len() && is_ident(chars[j]) {
                        j += 1;
                    }
                    let with_unit: String = chars[start..j].iter().collect();
                    match Window::parse(&with_unit) {
                        Some(w) if c != '-' => {
                            i = j;
                            Tok::Dur(w)
                        }
                        _ => {
                            return Err(err(
                                pos,
                                &["a number", "a window such as 90d (units s, m, h, d, w)"],
                                format!("`{with_unit}`"),
                            ))
                        }
                    }
                } else {
                    let n: f64 = raw.parse().map_err(|_| err(pos, &["a number"], format!("`{raw}`")))?;
                    if !n.is_finite() {
                        return Err(err(pos, &["a finite number"], format!("`{raw}`")));
                    }
                    Tok::Num(n)
                }
            }
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = match two.as_str() {
                "!=" => Some("!="),
                "<=" => Some("<="),
                ">=" => Some(">="),
                ".." => Some(".."),
                "==" => Some("="),
                _ => None,
            };
            if let Some(s) = sym {
                i += 2;
                Tok::Sym(s)
            } else {
                let s = match c {
                    '(' => "(",
                    ')' => ")",
                    '[' => "[",
                    ']' => "]",
                    ',' => ",",
                    '.' => ".",
                    '=' => "=",
                    '<' => "<",
                    '>' => ">",
                    _ => {
                        return Err(err(
                            pos,
                            &["a name, literal, operator or parenthesis"],
                            format!("`{c}`"),
                        ))
                    }
                };
                i += 1;
                Tok::Sym(s)
            }
        };
        col += i - start;
        out.push((tok, pos));
    }
    out.push((Tok::Eof, Pos { line, column: col }));
    Ok(out)
}

/// Positions of nodes in the source, keyed by the JSON pointer of the node.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    places: HashMap<String, Place>,
}

impl SourceMap {
    /// The position of the node at `pointer`, or of its nearest ancestor.
    pub fn place(&self, pointer: &str) -> Option<Place> {
        let mut p = pointer;
        loop {
            if let Some(place) = self.places.get(p) {
                return Some(place.clone());
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }

    /// Rewrites the place of an error from a JSON pointer to a line and column.
    pub fn locate(&self, error: Error) -> Error {
        error.map_place(|p| self.place(p))
    }
}

struct SpanTree {
    pos: Pos,
    /// The depth of the node (see [`Segment::depth`]).
    height: usize,
    kids: Vec<SpanTree>,
}

fn fill(map: &mut SourceMap, seg: &Segment, span: &SpanTree, ptr: &str) {
    map.places.insert(ptr.to_owned(), span.pos.place());
    match seg {
        Segment::All(c) | Segment::Any(c) => {
            let key = if matches!(seg, Segment::All(_)) { "all" } else { "any" };
            for (i, (child, s)) in c.iter().zip(&span.kids).enumerate() {
                fill(map, child, s, &format!("{ptr}/{key}/{i}"));
            }
        }
        Segment::Not(inner) => {
            if let Some(s) = span.kids.first() {
                fill(map, inner, s, &format!("{ptr}/not"));
            }
        }
        _ => {}
    }
}

/// Parses the text form of a segment.
pub fn parse(src: &str) -> Result<Segment> {
    parse_with_map(src).map(|(s, _)| s)
}

/// Parses the text form and also returns where each node is in the source, so that later errors
/// (schema checks) can name a line and column.
pub fn parse_with_map(src: &str) -> Result<(Segment, SourceMap)> {
    let toks = lex(src)?;
    let mut p = Parser { toks, i: 0, level: 0 };
    let (seg, span) = p.or()?;
    let (t, pos) = p.peek_full();
    if *t != Tok::Eof {
        return Err(err(pos, &["`and`", "`or`", "end of input"], t.describe()));
    }
    let mut map = SourceMap::default();
    fill(&mut map, &seg, &span, "");
    Ok((seg, map))
}

struct Parser {
    toks: Vec<(Tok, Pos)>,
    i: usize,
    /// Open `(` and `not` around the current token: bounded by [`MAX_DEPTH`], so the parser's
    /// recursion is too.
    level: usize,
}

/// A node built from `kids`, one level above the deepest of them; too deep is an error at `pos`.
fn compound(pos: Pos, kids: Vec<SpanTree>) -> Result<SpanTree> {
    let height = kids.iter().map(|k| k.height).max().unwrap_or(0) + 1;
    if height > MAX_DEPTH {
        return Err(Error::new(ErrorKind::TooDeep {
            place: pos.place(),
            max: MAX_DEPTH,
        }));
    }
    Ok(SpanTree { pos, height, kids })
}

type Node = (Segment, SpanTree);

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].0
    }
    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.i + k).min(self.toks.len() - 1)].0
    }
    fn peek_full(&self) -> (&Tok, Pos) {
        let (t, p) = &self.toks[self.i];
        (t, *p)
    }
    fn pos(&self) -> Pos {
        self.toks[self.i].1
    }
    fn bump(&mut self) -> Tok {
        let t = self.toks[self.i].0.clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == kw)
    }
    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn fail<T>(&self, expected: &[&str]) -> Result<T> {
        let (t, pos) = self.peek_full();
        Err(err(pos, expected, t.describe()))
    }
    fn expect_sym(&mut self, s: &str) -> Result<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            self.fail(&[&format!("`{s}`")])
        }
    }
    fn expect_kw(&mut self, kw: &str) -> Result<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            self.fail(&[&format!("`{kw}`")])
        }
    }

    fn or(&mut self) -> Result<Node> {
        let pos = self.pos();
        let first = self.and()?;
        if !self.is_kw("or") {
            return Ok(first);
        }
        let (mut segs, mut spans) = (vec![first.0], vec![first.1]);
        while self.eat_kw("or") {
            let (s, sp) = self.and()?;
            segs.push(s);
            spans.push(sp);
        }
        Ok((Segment::Any(segs), compound(pos, spans)?))
    }

    fn and(&mut self) -> Result<Node> {
        let pos = self.pos();
        let first = self.unary()?;
        if !self.is_kw("and") {
            return Ok(first);
        }
        let (mut segs, mut spans) = (vec![first.0], vec![first.1]);
        while self.eat_kw("and") {
            let (s, sp) = self.unary()?;
            segs.push(s);
            spans.push(sp);
        }
        Ok((Segment::All(segs), compound(pos, spans)?))
    }

    fn unary(&mut self) -> Result<Node> {
        let pos = self.pos();
        if self.is_kw("not") || self.is_sym("(") {
            // Each `not` and `(` opens a level; past the limit, stop before recursing.
            if self.level >= MAX_DEPTH {
                return Err(Error::new(ErrorKind::TooDeep {
                    place: pos.place(),
                    max: MAX_DEPTH,
                }));
            }
            self.level += 1;
            let node = if self.eat_kw("not") {
                let inner = self.unary()?;
                (Segment::Not(Box::new(inner.0)), compound(pos, vec![inner.1])?)
            } else {
                self.bump();
                let inner = self.or()?;
                self.expect_sym(")")?;
                inner
            };
            self.level -= 1;
            return Ok(node);
        }
        let leaf = |s: Segment| {
            Ok((
                s,
                SpanTree {
                    pos,
                    height: 0,
                    kids: Vec::new(),
                },
            ))
        };
        if self.is_kw("true") && !self.next_is_operator() {
            self.bump();
            return leaf(Segment::always());
        }
        if self.is_kw("false") && !self.next_is_operator() {
            self.bump();
            return leaf(Segment::never());
        }
        if self.is_kw("segment") && self.peek_at(1) == &Tok::Sym("(") {
            self.bump();
            self.bump();
            let name = self.string()?;
            if let Err(m) = crate::json::check_name(&name) {
                return Err(err(pos, &["a segment name"], m));
            }
            self.expect_sym(")")?;
            return leaf(Segment::Ref(name));
        }
        let p = self.predicate()?;
        leaf(Segment::Pred(p))
    }

    fn next_is_operator(&self) -> bool {
        matches!(self.peek_at(1), Tok::Sym("=" | "!=" | "<" | "<=" | ">" | ">="))
            || matches!(self.peek_at(1), Tok::Ident(s) if s == "in")
    }

    fn string(&mut self) -> Result<String> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.bump();
                Ok(s)
            }
            _ => self.fail(&["a string"]),
        }
    }

    fn int(&mut self) -> Result<i64> {
        match self.peek().clone() {
            Tok::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                self.bump();
                Ok(n as i64)
            }
            _ => self.fail(&["an integer"]),
        }
    }

    fn window(&mut self) -> Result<Window> {
        match self.peek().clone() {
            Tok::Dur(w) => {
                self.bump();
                Ok(w)
            }
            _ => self.fail(&["a window such as 90d"]),
        }
    }

    fn cmp(&mut self) -> Result<CmpOp> {
        let op = match self.peek() {
            Tok::Sym("=") => CmpOp::Eq,
            Tok::Sym("!=") => CmpOp::Ne,
            Tok::Sym("<") => CmpOp::Lt,
            Tok::Sym("<=") => CmpOp::Le,
            Tok::Sym(">") => CmpOp::Gt,
            Tok::Sym(">=") => CmpOp::Ge,
            _ => return self.fail(&["a comparison (=, !=, <, <=, >, >=)"]),
        };
        self.bump();
        Ok(op)
    }

    fn literal(&mut self) -> Result<Literal> {
        let l = match self.peek().clone() {
            Tok::Str(s) => Literal::Str(s),
            Tok::Num(n) => Literal::Num(n),
            Tok::Date(d) => Literal::Date(d),
            Tok::Time(t) => Literal::Time(t),
            Tok::Ident(s) if s == "true" => Literal::Bool(true),
            Tok::Ident(s) if s == "false" => Literal::Bool(false),
            _ => return self.fail(&["a literal (string, number, true, false, date or timestamp)"]),
        };
        self.bump();
        Ok(l)
    }

    fn time_literal(&mut self) -> Result<Literal> {
        match self.peek().clone() {
            Tok::Date(d) => {
                self.bump();
                Ok(Literal::Date(d))
            }
            Tok::Time(t) => {
                self.bump();
                Ok(Literal::Time(t))
            }
            _ => self.fail(&["a date (2026-05-01) or timestamp (2026-05-01T00:00:00Z)"]),
        }
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        self.expect_sym("[")?;
        let mut out = Vec::new();
        if self.eat_sym("]") {
            return Ok(out);
        }
        loop {
            out.push(item(self)?);
            if self.eat_sym("]") {
                return Ok(out);
            }
            if !self.eat_sym(",") {
                return self.fail(&["`,`", "`]`"]);
            }
        }
    }

    /// A plain name: identifier (not reserved) with dotted parts, or a backtick-quoted name.
    fn name(&mut self, what: &str) -> Result<String> {
        match self.peek().clone() {
            Tok::Quoted(s) => {
                self.bump();
                Ok(s)
            }
            Tok::Ident(s) if !RESERVED.contains(&s.as_str()) => {
                self.bump();
                let mut name = s;
                while self.is_sym(".") && matches!(self.peek_at(1), Tok::Ident(_)) {
                    self.bump();
                    if let Tok::Ident(part) = self.bump() {
                        name.push('.');
                        name.push_str(&part);
                    }
                }
                Ok(name)
            }
            _ => self.fail(&[what]),
        }
    }

    fn simple_name(&mut self, what: &str) -> Result<String> {
        match self.peek().clone() {
            Tok::Quoted(s) => {
                self.bump();
                Ok(s)
            }
            Tok::Ident(s) if !RESERVED.contains(&s.as_str()) => {
                self.bump();
                Ok(s)
            }
            _ => self.fail(&[what]),
        }
    }

    fn attr(&mut self) -> Result<Attr> {
        if self.is_kw("line") && self.peek_at(1) == &Tok::Sym(".") {
            self.bump();
            self.bump();
            let pos = self.pos();
            return match self.bump() {
                Tok::Ident(f) => LineFact::from_name(&f).map(Attr::Line).ok_or_else(|| {
                    err(
                        pos,
                        &["a LINE fact (is_friend, blocked, id_linked, friend_since, friend_source, store)"],
                        format!("`{f}`"),
                    )
                }),
                t => Err(err(pos, &["a LINE fact"], t.describe())),
            };
        }
        let pos = self.pos();
        let quoted = matches!(self.peek(), Tok::Quoted(_));
        let name = self.name("an attribute name")?;
        if quoted && name.starts_with("line.") {
            return Err(err(
                pos,
                &["a first-party attribute name"],
                format!("`{name}` (reserved for LINE facts)"),
            ));
        }
        Ok(Attr::Custom(name))
    }

    fn event_ref(&mut self) -> Result<EventRef> {
        let name = self.simple_name("an event name")?;
        let filter = self.conds()?;
        Ok(EventRef { name, filter })
    }

    fn conds(&mut self) -> Result<Vec<PropCond>> {
        let mut filter = Vec::new();
        if !self.eat_kw("where") {
            return Ok(filter);
        }
        loop {
            let prop = self.name("a property name")?;
            let test = if self.eat_kw("in") {
                PropTest::In(self.list(|p| p.literal())?)
            } else {
                let op = self.cmp()?;
                PropTest::Cmp(op, self.literal()?)
            };
            filter.push(PropCond { prop, test });
            if !self.eat_kw("and") {
                return Ok(filter);
            }
        }
    }

    fn call_open(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) && self.peek_at(1) == &Tok::Sym("(") {
            self.bump();
            self.bump();
            true
        } else {
            false
        }
    }

    fn occurrence_head(&mut self) -> Result<Option<(Which, EventRef, Option<Window>)>> {
        let which = if self.call_open("first") {
            Which::First
        } else if self.call_open("last") {
            Which::Last
        } else {
            return Ok(None);
        };
        let event = self.event_ref()?;
        let window = if self.eat_sym(",") { Some(self.window()?) } else { None };
        self.expect_sym(")")?;
        Ok(Some((which, event, window)))
    }

    fn demo_range(&mut self, allowed: &[u32], what: &str) -> Result<(Option<u32>, Option<u32>)> {
        let bound = |p: &mut Self| -> Result<Option<u32>> {
            if matches!(p.peek(), Tok::Num(_)) {
                let pos = p.pos();
                let n = p.int()?;
                let ok = u32::try_from(n).ok().filter(|n| allowed.contains(n));
                match ok {
                    Some(n) => Ok(Some(n)),
                    None => Err(err(
                        pos,
                        &[&format!(
                            "{what} {}",
                            allowed.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
                        )],
                        format!("{n}"),
                    )),
                }
            } else {
                Ok(None)
            }
        };
        let gte = bound(self)?;
        self.expect_sym("..")?;
        let lt = bound(self)?;
        if gte.is_none() && lt.is_none() {
            return self.fail(&["a bound"]);
        }
        Ok((gte, lt))
    }

    fn strings(&mut self, check: &dyn Fn(&str) -> bool, what: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        loop {
            let pos = self.pos();
            let s = self.string()?;
            if !check(&s) {
                return Err(err(pos, &[what], format!("\"{s}\"")));
            }
            out.push(s);
            if !self.eat_sym(",") {
                return Ok(out);
            }
        }
    }

    fn predicate(&mut self) -> Result<Predicate> {
        // String literal first: "x" in tags.
        if let Tok::Str(s) = self.peek().clone() {
            self.bump();
            self.expect_kw("in")?;
            let attr = self.attr()?;
            return Ok(Predicate::Contains { attr, value: s });
        }
        if self.call_open("exists") {
            let attr = self.attr()?;
            self.expect_sym(")")?;
            return Ok(Predicate::Exists(attr));
        }
        if self.call_open("missing") {
            let attr = self.attr()?;
            self.expect_sym(")")?;
            return Ok(Predicate::Missing(attr));
        }
        if self.call_open("days_since") {
            if let Some((which, event, window)) = self.occurrence_head()? {
                self.expect_sym(")")?;
                let op = self.cmp()?;
                let days = self.int()?;
                return Ok(Predicate::Occurrence {
                    which,
                    event,
                    window,
                    test: TimeTest::DaysSince(op, days),
                });
            }
            let attr = self.attr()?;
            self.expect_sym(")")?;
            let op = self.cmp()?;
            let days = self.int()?;
            return Ok(Predicate::DaysSince { attr, op, days });
        }
        for unit in [CalUnit::Month, CalUnit::Day, CalUnit::Weekday] {
            if self.call_open(unit.name()) {
                let attr = self.attr()?;
                self.expect_sym(",")?;
                let tz = self.string()?;
                self.expect_sym(")")?;
                let test = if self.eat_kw("in") {
                    CalTest::In(self.list(|p| p.int())?)
                } else if self.eat_sym("=") {
                    if self.eat_kw("current") {
                        CalTest::Current
                    } else {
                        CalTest::In(vec![self.int()?])
                    }
                } else {
                    return self.fail(&["`=`", "`in`"]);
                };
                return Ok(Predicate::Calendar { unit, attr, tz, test });
            }
        }
        if self.call_open("count") {
            let event = self.event_ref()?;
            self.expect_sym(",")?;
            let window = self.window()?;
            self.expect_sym(")")?;
            let op = self.cmp()?;
            let value = self.int()?;
            return Ok(Predicate::Count {
                event,
                window,
                op,
                value,
            });
        }
        for func in [AggFunc::Sum, AggFunc::Min, AggFunc::Max, AggFunc::Avg] {
            if self.call_open(func.name()) {
                let name = self.simple_name("an event name")?;
                self.expect_sym(".")?;
                let property = self.simple_name("a property name")?;
                let filter = self.conds()?;
                self.expect_sym(",")?;
                let window = self.window()?;
                self.expect_sym(")")?;
                let op = self.cmp()?;
                let value = match self.peek().clone() {
                    Tok::Num(n) => {
                        self.bump();
                        n
                    }
                    _ => return self.fail(&["a number"]),
                };
                return Ok(Predicate::Aggregate {
                    func,
                    event: EventRef { name, filter },
                    property,
                    window,
                    op,
                    value,
                });
            }
        }
        if let Some((which, event, window)) = self.occurrence_head()? {
            let test = if self.eat_kw("before") {
                TimeTest::Before(self.time_literal()?)
            } else if self.eat_kw("after") {
                TimeTest::After(self.time_literal()?)
            } else {
                return self.fail(&["`before`", "`after`"]);
            };
            return Ok(Predicate::Occurrence {
                which,
                event,
                window,
                test,
            });
        }
        if self.call_open("sequence") {
            let first = self.event_ref()?;
            self.expect_kw("then")?;
            self.expect_kw("no")?;
            let then_no = self.event_ref()?;
            self.expect_kw("within")?;
            let within = self.window()?;
            self.expect_sym(",")?;
            let window = self.window()?;
            self.expect_sym(")")?;
            return Ok(Predicate::Sequence {
                first,
                then_no,
                within,
                window,
            });
        }
        if self.call_open("audience") {
            let id = self.int()?;
            self.expect_sym(")")?;
            return Ok(Predicate::Audience(id));
        }
        if self.call_open("redelivery") {
            let pos = self.pos();
            let id = self.string()?;
            if id.is_empty() {
                return Err(err(pos, &["a request id"], "an empty string"));
            }
            self.expect_sym(")")?;
            return Ok(Predicate::Redelivery(id));
        }
        if self.is_kw("demo") && self.peek_at(1) == &Tok::Sym(".") {
            self.bump();
            self.bump();
            let pos = self.pos();
            let kind = match self.bump() {
                Tok::Ident(k) => k,
                t => return Err(err(pos, &["a demographic"], t.describe())),
            };
            self.expect_sym("(")?;
            let d = match kind.as_str() {
                "gender" => Demographic::Gender(self.strings(&|s| GENDERS.contains(&s), "\"male\" or \"female\"")?),
                "app_type" => {
                    Demographic::AppType(self.strings(&|s| APP_TYPES.contains(&s), "\"ios\" or \"android\"")?)
                }
                "area" => Demographic::Area(self.strings(&is_area_code, "a LINE area code such as \"jp_13\"")?),
                "age" => {
                    let (gte, lt) = self.demo_range(&AGE_BANDS, "an age band")?;
                    Demographic::Age { gte, lt }
                }
                "subscription" => {
                    let (gte, lt) = self.demo_range(&SUBSCRIPTION_PERIODS, "a subscription period in days")?;
                    Demographic::SubscriptionPeriod { gte, lt }
                }
                _ => {
                    return Err(err(
                        pos,
                        &["gender, age, area, app_type or subscription"],
                        format!("`{kind}`"),
                    ))
                }
            };
            self.expect_sym(")")?;
            return Ok(Predicate::Demographic(d));
        }
        // Bare LINE boolean facts.
        for fact in [LineFact::IsFriend, LineFact::Blocked, LineFact::IdLinked] {
            if self.is_kw(fact.name()) {
                self.bump();
                return Ok(Predicate::Compare {
                    attr: Attr::Line(fact),
                    op: CmpOp::Eq,
                    value: Literal::Bool(true),
                });
            }
        }
        if !matches!(self.peek(), Tok::Quoted(_))
            && !matches!(self.peek(), Tok::Ident(s) if !RESERVED.contains(&s.as_str()) || s == "line")
        {
            return self.fail(&["a predicate", "`not`", "`(`"]);
        }
        let attr = self.attr()?;
        if self.eat_kw("between") {
            let low = self.literal()?;
            self.expect_kw("and")?;
            let high = self.literal()?;
            return Ok(Predicate::Between { attr, low, high });
        }
        if self.eat_kw("in") {
            let values = self.list(|p| p.literal())?;
            return Ok(Predicate::In { attr, values });
        }
        if self.eat_kw("contains") {
            let value = self.string()?;
            return Ok(Predicate::Contains { attr, value });
        }
        if self.eat_kw("starts_with") {
            let prefix = self.string()?;
            return Ok(Predicate::StartsWith { attr, prefix });
        }
        if self.eat_kw("before") {
            let at = self.time_literal()?;
            return Ok(Predicate::Before { attr, at });
        }
        if self.eat_kw("after") {
            let at = self.time_literal()?;
            return Ok(Predicate::After { attr, at });
        }
        if self.eat_kw("within") {
            let window = self.window()?;
            return Ok(Predicate::WithinLast { attr, window });
        }
        if matches!(self.peek(), Tok::Sym("=" | "!=" | "<" | "<=" | ">" | ">=")) {
            let op = self.cmp()?;
            let value = self.literal()?;
            return Ok(Predicate::Compare { attr, op, value });
        }
        Ok(Predicate::Compare {
            attr,
            op: CmpOp::Eq,
            value: Literal::Bool(true),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Printing

/// Prints a segment in the text form. `parse(&print(s))` gives back `s`, except that an `all` or
/// `any` with one child prints as the child.
///
/// The printer works without recursion, so it prints a tree of any depth; a tree deeper than
/// [`MAX_DEPTH`] (which only Rust code can build) prints as text that [`parse`] refuses.
pub fn print(segment: &Segment) -> String {
    enum Job<'a> {
        Seg(&'a Segment, Ctx),
        Text(&'static str),
    }
    let mut out = String::new();
    let mut jobs = vec![Job::Seg(segment, Ctx::Top)];
    while let Some(job) = jobs.pop() {
        let (s, ctx) = match job {
            Job::Text(t) => {
                out.push_str(t);
                continue;
            }
            Job::Seg(s, ctx) => (s, ctx),
        };
        match s {
            Segment::All(c) | Segment::Any(c) if c.len() == 1 => jobs.push(Job::Seg(&c[0], ctx)),
            Segment::All(c) if c.is_empty() => out.push_str("true"),
            Segment::Any(c) if c.is_empty() => out.push_str("false"),
            Segment::All(c) | Segment::Any(c) => {
                let is_all = matches!(s, Segment::All(_));
                let paren = ctx != Ctx::Top;
                if paren {
                    out.push('(');
                    jobs.push(Job::Text(")"));
                }
                let (joiner, inner) = if is_all { (" and ", Ctx::And) } else { (" or ", Ctx::Or) };
                for (i, child) in c.iter().enumerate().rev() {
                    jobs.push(Job::Seg(child, inner));
                    if i > 0 {
                        jobs.push(Job::Text(joiner));
                    }
                }
            }
            Segment::Not(inner) => {
                out.push_str("not ");
                jobs.push(Job::Seg(inner, Ctx::Not));
            }
            Segment::Ref(name) => {
                let _ = write!(out, "segment({})", quote(name));
            }
            Segment::Pred(p) => print_pred(&mut out, p),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    And,
    Or,
    Not,
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn is_plain_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&s)
}

fn print_name(s: &str) -> String {
    if s.split('.').all(is_plain_ident) {
        s.to_owned()
    } else {
        format!("`{s}`")
    }
}

fn print_simple_name(s: &str) -> String {
    if is_plain_ident(s) {
        s.to_owned()
    } else {
        format!("`{s}`")
    }
}

fn print_attr(a: &Attr) -> String {
    match a {
        Attr::Custom(n) => print_name(n),
        Attr::Line(f) => format!("line.{}", f.name()),
    }
}

/// Prints a literal in the text form.
pub fn print_literal(l: &Literal) -> String {
    match l {
        Literal::Str(s) => quote(s),
        Literal::Num(n) => print_num(*n),
        Literal::Bool(b) => b.to_string(),
        Literal::Date(d) => d.to_string(),
        Literal::Time(t) => t.to_string(),
    }
}

fn print_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn print_event(e: &EventRef) -> String {
    let mut s = print_simple_name(&e.name);
    print_conds(&mut s, &e.filter);
    s
}

fn print_conds(s: &mut String, filter: &[PropCond]) {
    for (i, c) in filter.iter().enumerate() {
        s.push_str(if i == 0 { " where " } else { " and " });
        s.push_str(&print_name(&c.prop));
        match &c.test {
            PropTest::Cmp(op, v) => {
                let _ = write!(s, " {} {}", op.symbol(), print_literal(v));
            }
            PropTest::In(vs) => {
                let _ = write!(
                    s,
                    " in [{}]",
                    vs.iter().map(print_literal).collect::<Vec<_>>().join(", ")
                );
            }
        }
    }
}

fn print_range(gte: &Option<u32>, lt: &Option<u32>) -> String {
    format!(
        "{}..{}",
        gte.map(|n| n.to_string()).unwrap_or_default(),
        lt.map(|n| n.to_string()).unwrap_or_default()
    )
}

fn print_pred(out: &mut String, p: &Predicate) {
    let _ = match p {
        Predicate::Compare {
            attr: Attr::Line(f @ (LineFact::IsFriend | LineFact::Blocked | LineFact::IdLinked)),
            op: CmpOp::Eq,
            value: Literal::Bool(true),
        } => write!(out, "{}", f.name()),
        Predicate::Compare { attr, op, value } => {
            write!(out, "{} {} {}", print_attr(attr), op.symbol(), print_literal(value))
        }
        Predicate::Between { attr, low, high } => write!(
            out,
            "{} between {} and {}",
            print_attr(attr),
            print_literal(low),
            print_literal(high)
        ),
        Predicate::In { attr, values } => write!(
            out,
            "{} in [{}]",
            print_attr(attr),
            values.iter().map(print_literal).collect::<Vec<_>>().join(", ")
        ),
        Predicate::Contains { attr, value } => write!(out, "{} in {}", quote(value), print_attr(attr)),
        Predicate::StartsWith { attr, prefix } => write!(out, "{} starts_with {}", print_attr(attr), quote(prefix)),
        Predicate::Exists(a) => write!(out, "exists({})", print_attr(a)),
        Predicate::Missing(a) => write!(out, "missing({})", print_attr(a)),
        Predicate::Before { attr, at } => write!(out, "{} before {}", print_attr(attr), print_literal(at)),
        Predicate::After { attr, at } => write!(out, "{} after {}", print_attr(attr), print_literal(at)),
        Predicate::WithinLast { attr, window } => write!(out, "{} within {}", print_attr(attr), window),
        Predicate::DaysSince { attr, op, days } => {
            write!(out, "days_since({}) {} {}", print_attr(attr), op.symbol(), days)
        }
        Predicate::Calendar { unit, attr, tz, test } => {
            let _ = write!(out, "{}({}, {})", unit.name(), print_attr(attr), quote(tz));
            match test {
                CalTest::Current => write!(out, " = current"),
                CalTest::In(v) if v.len() == 1 => write!(out, " = {}", v[0]),
                CalTest::In(v) => write!(
                    out,
                    " in [{}]",
                    v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
                ),
            }
        }
        Predicate::Count {
            event,
            window,
            op,
            value,
        } => write!(
            out,
            "count({}, {}) {} {}",
            print_event(event),
            window,
            op.symbol(),
            value
        ),
        Predicate::Aggregate {
            func,
            event,
            property,
            window,
            op,
            value,
        } => {
            let mut head = format!("{}.{}", print_simple_name(&event.name), print_simple_name(property));
            print_conds(&mut head, &event.filter);
            write!(
                out,
                "{}({}, {}) {} {}",
                func.name(),
                head,
                window,
                op.symbol(),
                print_num(*value)
            )
        }
        Predicate::Occurrence {
            which,
            event,
            window,
            test,
        } => {
            let head = match window {
                Some(w) => format!("{}({}, {})", which.name(), print_event(event), w),
                None => format!("{}({})", which.name(), print_event(event)),
            };
            match test {
                TimeTest::Before(l) => write!(out, "{head} before {}", print_literal(l)),
                TimeTest::After(l) => write!(out, "{head} after {}", print_literal(l)),
                TimeTest::DaysSince(op, n) => write!(out, "days_since({head}) {} {n}", op.symbol()),
            }
        }
        Predicate::Sequence {
            first,
            then_no,
            within,
            window,
        } => write!(
            out,
            "sequence({} then no {} within {}, {})",
            print_event(first),
            print_event(then_no),
            within,
            window
        ),
        Predicate::Demographic(d) => match d {
            Demographic::Gender(v) => write!(
                out,
                "demo.gender({})",
                v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
            ),
            Demographic::AppType(v) => {
                write!(
                    out,
                    "demo.app_type({})",
                    v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
                )
            }
            Demographic::Area(v) => write!(
                out,
                "demo.area({})",
                v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
            ),
            Demographic::Age { gte, lt } => write!(out, "demo.age({})", print_range(gte, lt)),
            Demographic::SubscriptionPeriod { gte, lt } => write!(out, "demo.subscription({})", print_range(gte, lt)),
        },
        Predicate::Audience(id) => write!(out, "audience({id})"),
        Predicate::Redelivery(id) => write!(out, "redelivery({})", quote(id)),
    };
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&print(self))
    }
}

impl std::str::FromStr for Segment {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parse(s)
    }
}
