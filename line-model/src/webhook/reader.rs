//! The direct reader behind [`parse`](super::parse): JSON text straight into
//! the typed event model, without serde's visitor layer.
//!
//! It is the fast path only. Whatever it is not sure of (a syntax error, a
//! missing or mistyped field, nesting deeper than [`MAX_DEPTH`]) makes it give
//! up with [`Bail`], and the serde path decides: it either parses the body or
//! returns the error with its JSON pointer. So the reader never has to name an
//! error, and it never accepts a body the serde path rejects.
//!
//! Values come out exactly as serde_json would give them. Plain integers and
//! strings without escapes are read here; any other number token and any
//! string with an escape is handed to serde_json on its own (one token), so
//! the two paths share one number and escape decoder.
//!
//! A tagged union whose `"type"` is its first property is read in one pass.
//! When the tag comes later (LINE puts `replyToken` before it), the values
//! before it are stepped over without building anything, then read into the
//! variant once the tag is known, in document order, as the serde path
//! replays what it buffered. The result does not depend on where the tag is.
//!
//! A key repeated in an object makes the reader give up (see `wire.rs` for
//! the rule). An event it gives up on is decided on its own, from its text, by
//! the serde path's function (`invalid::decide`): it becomes a typed event or
//! `Event::Invalid`, and the rest of the request is read as usual.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use super::event::Event;
use super::raw::RawObject;
use super::wire::{Buf, Keys};

/// The reader gave up; the serde path decides.
#[derive(Debug)]
pub(crate) struct Bail;

/// A read that may give up.
pub(crate) type R<T> = Result<T, Bail>;

impl fmt::Display for Bail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the fast webhook reader gave up")
    }
}

impl std::error::Error for Bail {}

impl serde::de::Error for Bail {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Bail
    }
}

/// Objects and arrays nested deeper than this make the reader give up
/// (serde_json's own limit is 128), so its recursion stays shallow.
pub(crate) const MAX_DEPTH: u32 = 100;

/// Bytes that end the plain run of a string: `"`, `\` and control characters.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Bytes the skip over a container stops at.
static SCAN_STOP: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'[' as usize] = true;
    t[b'}' as usize] = true;
    t[b']' as usize] = true;
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each zero byte of `x` is set. A byte above a zero byte
/// may be flagged too, but the lowest flagged byte is always a real one.
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Flags the bytes of `w` that are `a` or `b` (lowest flag exact).
#[inline(always)]
fn either_byte(w: u64, a: u8, b: u8) -> u64 {
    zero_bytes(w ^ (ONES * u64::from(a))) | zero_bytes(w ^ (ONES * u64::from(b)))
}

/// The index of the first byte from `i` on that ends a plain string run
/// (`"`, `\` or a control character), or `b.len()`. Eight bytes at a time.
#[inline(always)]
fn string_run_end(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk);
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        let m = either_byte(w, b'"', b'\\') | control;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !STRING_STOP[b[i] as usize] {
        i += 1;
    }
    i
}

/// The index of the first `"` or `\` from `i` on, or `b.len()`.
#[inline(always)]
fn quote_or_backslash(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let m = either_byte(u64::from_le_bytes(*chunk), b'"', b'\\');
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !matches!(b[i], b'"' | b'\\') {
        i += 1;
    }
    i
}

/// A cursor over a JSON text.
pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, pos: 0, depth: 0 }
    }

    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    #[inline(always)]
    fn byte_at(&self, i: usize) -> u8 {
        // 0 is never valid JSON here, so it doubles as "end of input".
        self.bytes().get(i).copied().unwrap_or(0)
    }

    /// Skips whitespace and returns the next byte (0 at the end) without taking it.
    #[inline(always)]
    fn peek(&mut self) -> u8 {
        let c = self.byte_at(self.pos);
        if c > b' ' {
            return c;
        }
        self.skip_whitespace()
    }

    /// [`peek`](Self::peek) past whitespace. A run of spaces (the
    /// indentation of pretty-printed JSON) is taken eight bytes at a time.
    #[inline]
    fn skip_whitespace(&mut self) -> u8 {
        let b = self.bytes();
        loop {
            match b.get(self.pos) {
                Some(b' ') => {
                    let Some(chunk) = b.get(self.pos..).and_then(<[u8]>::first_chunk::<8>) else {
                        return self.skip_whitespace_bytes();
                    };
                    // Zero bytes are spaces; the lowest other byte ends the run.
                    let x = u64::from_le_bytes(*chunk) ^ (ONES * u64::from(b' '));
                    self.pos += (x.trailing_zeros() / 8) as usize;
                }
                Some(b'\n' | b'\r' | b'\t') => self.pos += 1,
                Some(&c) => return c,
                None => return 0,
            }
        }
    }

    /// The last few bytes of the text, one at a time.
    #[cold]
    fn skip_whitespace_bytes(&mut self) -> u8 {
        loop {
            let c = self.byte_at(self.pos);
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                return c;
            }
        }
    }

    #[inline(always)]
    fn eat(&mut self, c: u8) -> R<()> {
        if self.peek() == c {
            self.pos += 1;
            Ok(())
        } else {
            Err(Bail)
        }
    }

    fn descend(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(Bail)
        } else {
            Ok(())
        }
    }

    /// Checks that only whitespace is left.
    pub(crate) fn end(&mut self) -> R<()> {
        if self.peek() == 0 && self.pos == self.text.len() {
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// Opens an object for reading its members with [`key`](Self::key).
    /// `resumed` means a union already opened it and took its first member
    /// (the tag). Returns the `first` flag for `key`.
    #[inline]
    pub(crate) fn open(&mut self, resumed: bool) -> R<bool> {
        if resumed {
            return Ok(false);
        }
        self.descend()?;
        self.eat(b'{')?;
        Ok(true)
    }

    /// The next member's key, with its `:` taken, or `None` once the object's
    /// `}` is taken. `first` tracks whether a `,` must come before the key.
    #[inline]
    pub(crate) fn key(&mut self, first: &mut bool) -> R<Option<Cow<'a, str>>> {
        let mut c = self.peek();
        if c == b'}' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(None);
        }
        if !*first {
            if c != b',' {
                return Err(Bail);
            }
            self.pos += 1;
            c = self.peek();
        }
        *first = false;
        if c != b'"' {
            return Err(Bail);
        }
        let k = self.string_at_quote()?;
        self.eat(b':')?;
        // Pretty-printed JSON puts one space after the colon: taking it here
        // keeps the value's `peek` on its fast path.
        if self.byte_at(self.pos) == b' ' {
            self.pos += 1;
        }
        Ok(Some(k))
    }

    /// A string value, borrowed from the text when it has no escapes.
    #[inline]
    pub(crate) fn str(&mut self) -> R<Cow<'a, str>> {
        if self.peek() != b'"' {
            return Err(Bail);
        }
        self.string_at_quote()
    }

    /// A string value, owned.
    #[inline]
    pub(crate) fn string(&mut self) -> R<String> {
        Ok(self.str()?.into_owned())
    }

    /// An open string enum (or an id type): known values without copying,
    /// unknown ones kept.
    #[inline]
    pub(crate) fn string_as<T: for<'s> From<&'s str> + From<String>>(&mut self) -> R<T> {
        Ok(match self.str()? {
            Cow::Borrowed(s) => T::from(s),
            Cow::Owned(s) => T::from(s),
        })
    }

    /// Reads the string literal whose opening quote is at the cursor.
    #[inline]
    fn string_at_quote(&mut self) -> R<Cow<'a, str>> {
        let b = self.bytes();
        let start = self.pos + 1;
        let i = string_run_end(b, start);
        match b.get(i) {
            Some(b'"') => {
                self.pos = i + 1;
                // Both ends are ASCII quotes, so they are char boundaries.
                self.text.get(start..i).map(Cow::Borrowed).ok_or(Bail)
            }
            Some(b'\\') => self.escaped_string(start - 1, i),
            _ => Err(Bail), // a control character, or the end of the text
        }
    }

    /// A string literal with escapes, from its opening quote at `open`; `i` is
    /// its first backslash. serde_json decodes the literal.
    #[cold]
    fn escaped_string(&mut self, open: usize, mut i: usize) -> R<Cow<'a, str>> {
        let b = self.bytes();
        loop {
            match b.get(i) {
                None => return Err(Bail),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(&c) if c < 0x20 => return Err(Bail),
                Some(_) => i += 1,
            }
        }
        let literal = self.text.get(open..=i).ok_or(Bail)?;
        let decoded: String = serde_json::from_str(literal).map_err(|_| Bail)?;
        self.pos = i + 1;
        Ok(Cow::Owned(decoded))
    }

    /// Takes a `null` if one is next.
    #[inline]
    pub(crate) fn null(&mut self) -> R<bool> {
        if self.peek() == b'n' {
            self.literal(b"null")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn literal(&mut self, word: &[u8]) -> R<()> {
        if self.bytes().get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// A boolean.
    pub(crate) fn bool(&mut self) -> R<bool> {
        match self.peek() {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => Err(Bail),
        }
    }

    /// The text of the number token at the cursor (not checked here).
    #[inline]
    fn number_token(&mut self) -> R<&'a str> {
        self.peek();
        let b = self.bytes();
        let start = self.pos;
        let mut i = start;
        while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
            i += 1;
        }
        self.pos = i;
        if i == start {
            return Err(Bail);
        }
        self.text.get(start..i).ok_or(Bail)
    }

    /// An `i64`.
    #[inline]
    pub(crate) fn i64(&mut self) -> R<i64> {
        let token = self.number_token()?;
        match plain_integer(token) {
            Some(Plain::NonNegative(n)) => Ok(n as i64),
            Some(Plain::Negative(n)) => Ok(n),
            None => serde_json::from_str(token).map_err(|_| Bail),
        }
    }

    /// An `i32`.
    pub(crate) fn i32(&mut self) -> R<i32> {
        let token = self.number_token()?;
        match plain_integer(token) {
            Some(Plain::NonNegative(n)) => i32::try_from(n).map_err(|_| Bail),
            Some(Plain::Negative(n)) => i32::try_from(n).map_err(|_| Bail),
            None => serde_json::from_str(token).map_err(|_| Bail),
        }
    }

    /// A number as serde_json reads it (an integer stays an integer).
    pub(crate) fn number(&mut self) -> R<serde_json::Number> {
        let token = self.number_token()?;
        match plain_integer(token) {
            Some(Plain::NonNegative(n)) => Ok(n.into()),
            Some(Plain::Negative(n)) => Ok(n.into()),
            None => serde_json::from_str(token).map_err(|_| Bail),
        }
    }

    /// An array, each item read by `item`.
    #[inline]
    pub(crate) fn array<T>(&mut self, item: impl FnMut(&mut Self) -> R<T>) -> R<Vec<T>> {
        self.items(item, |_, _| {})
    }

    /// A request's `events`, each read by `read` (see [`event`](Self::event))
    /// and put straight into the vector. After the first, room is made for
    /// as many more as the rest of the text would hold at that size, so the
    /// vector is not regrown and copied as it fills.
    pub(crate) fn events(&mut self, read: impl Fn(&mut Self) -> R<Event>) -> R<Vec<Event>> {
        self.descend()?;
        self.eat(b'[')?;
        let mut out = Vec::new();
        if self.peek() == b']' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(out);
        }
        let (start, len) = (self.pos, self.text.len());
        self.event(&mut out, &read)?;
        // A quarter more than the estimate: events differ in size, and one
        // regrow would copy them all.
        let each = (self.pos - start).max(1);
        let more = (len - self.pos) / each;
        out.reserve((more + more / 4 + 1).min(4096));
        loop {
            match self.peek() {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(out);
                }
                _ => return Err(Bail),
            }
            self.event(&mut out, &read)?;
        }
    }

    /// Reads an array's items; `after_first` sees the vector and the cursor
    /// once the first item is in.
    #[inline]
    fn items<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> R<T>,
        after_first: impl FnOnce(&mut Vec<T>, usize),
    ) -> R<Vec<T>> {
        self.descend()?;
        self.eat(b'[')?;
        let mut out = Vec::new();
        if self.peek() == b']' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(out);
        }
        out.push(item(self)?);
        after_first(&mut out, self.pos);
        loop {
            match self.peek() {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(out);
                }
                _ => return Err(Bail),
            }
            out.push(item(self)?);
        }
    }

    /// An object of strings (`BTreeMap<String, String>`).
    pub(crate) fn string_map(&mut self) -> R<std::collections::BTreeMap<String, String>> {
        let mut out = std::collections::BTreeMap::new();
        let mut first = self.open(false)?;
        while let Some(k) = self.key(&mut first)? {
            let v = self.string()?;
            if out.insert(k.into_owned(), v).is_some() {
                return Err(Bail);
            }
        }
        Ok(out)
    }

    /// One item of a request's `events`, read by `read` and pushed onto
    /// `out` (the event moves once, from `read`'s result into the vector). An
    /// event `read` gives up on is decided on its own (a typed event or
    /// `Event::Invalid`). Gives up only when the item is not JSON (or nests
    /// too deep).
    #[inline]
    fn event(&mut self, out: &mut Vec<Event>, read: impl FnOnce(&mut Self) -> R<Event>) -> R<()> {
        let (start, depth) = (self.value_start(), self.depth);
        match read(self) {
            Ok(event) => out.push(event),
            Err(Bail) => out.push(self.decide_event(start, depth)?),
        }
        Ok(())
    }

    /// The event from `start` on, which the fast reader gave up on, read again
    /// on its own by the serde path.
    #[cold]
    fn decide_event(&mut self, start: usize, depth: u32) -> R<Event> {
        self.pos = start;
        self.depth = depth;
        self.check(false)?;
        let text = self.text.get(start..self.pos).ok_or(Bail)?;
        let buf: Buf<'_> = serde_json::from_str(text).map_err(|_| Bail)?;
        Ok(super::invalid::decide(buf, Some(text)))
    }

    /// Any JSON value, as `serde_json::Value`.
    pub(crate) fn value(&mut self) -> R<Value> {
        match self.peek() {
            b'"' => Ok(Value::String(self.string_at_quote()?.into_owned())),
            b'{' => Ok(Value::Object(self.object()?)),
            b'[' => Ok(Value::Array(self.array(Self::value)?)),
            b't' => self.literal(b"true").map(|()| Value::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Value::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Value::Null),
            b'-' | b'0'..=b'9' => {
                let token = self.number_token()?;
                match plain_integer(token) {
                    Some(Plain::NonNegative(n)) => Ok(Value::from(n)),
                    Some(Plain::Negative(n)) => Ok(Value::from(n)),
                    None => serde_json::from_str(token).map_err(|_| Bail),
                }
            }
            _ => Err(Bail),
        }
    }

    /// Any JSON object, members inserted in document order.
    pub(crate) fn object(&mut self) -> R<Map<String, Value>> {
        let mut map = Map::new();
        let first = self.open(false)?;
        self.members(&mut map, first, Self::member)?;
        Ok(map)
    }

    /// A property the model does not know, into `extra`. A repeated key gives up.
    #[inline]
    pub(crate) fn other(&mut self, extra: &mut crate::Extra, key: &str) -> R<()> {
        self.member(extra, key)
    }

    /// One member of an object into `map`. A repeated key gives up.
    fn member(&mut self, map: &mut Map<String, Value>, key: &str) -> R<()> {
        let v = self.value()?;
        match map.insert(key.to_owned(), v) {
            None => Ok(()),
            Some(_) => Err(Bail),
        }
    }

    /// A required property into its builder's `slot`. A repeated key gives up.
    #[inline]
    pub(crate) fn req<T>(&mut self, slot: &mut Option<T>, read: impl FnOnce(&mut Self) -> R<T>) -> R<()> {
        if slot.is_some() {
            return Err(Bail);
        }
        *slot = Some(read(self)?);
        Ok(())
    }

    /// An optional property: a value fills `slot`; an explicit `null` leaves
    /// it empty and is kept in `extra`, so it serializes back (as the serde
    /// path does). A repeated key gives up.
    #[inline]
    pub(crate) fn opt<T>(
        &mut self,
        slot: &mut Option<T>,
        extra: &mut crate::Extra,
        key: &str,
        read: impl FnOnce(&mut Self) -> R<T>,
    ) -> R<()> {
        if slot.is_some() || extra.has(key) {
            return Err(Bail);
        }
        if self.null()? {
            extra.insert(key.to_owned(), Value::Null);
        } else {
            *slot = Some(read(self)?);
        }
        Ok(())
    }

    /// A variant's tag met again: the union took the first one, so the key
    /// is repeated, and the reader gives up.
    #[inline]
    pub(crate) fn repeated(&mut self) -> R<()> {
        Err(Bail)
    }

    /// Reads the members of an open object with `field`, up to its `}`.
    #[inline]
    pub(crate) fn members<F>(
        &mut self,
        f: &mut F,
        mut first: bool,
        field: impl Fn(&mut Self, &mut F, &str) -> R<()>,
    ) -> R<()> {
        while let Some(k) = self.key(&mut first)? {
            field(self, f, &k)?;
        }
        Ok(())
    }

    /// Steps over the value of a property read before its union's tag, to
    /// be read by [`replay`](Self::replay) or [`unknown`](Self::unknown)
    /// once the tag is known.
    pub(crate) fn later(&mut self, key: Cow<'a, str>) -> R<LaterValue<'a>> {
        self.peek();
        let start = self.pos;
        self.skip_ahead()?;
        Ok(LaterValue {
            key,
            start,
            end: self.pos,
        })
    }

    /// Reads the values set aside by [`later`](Self::later) into a variant's
    /// builder, in document order, then the rest of the object.
    pub(crate) fn replay<F>(
        &mut self,
        f: &mut F,
        later: &[LaterValue<'a>],
        field: impl Fn(&mut Self, &mut F, &str) -> R<()>,
    ) -> R<()> {
        let resume = self.pos;
        for l in later {
            self.pos = l.start;
            field(self, f, &l.key)?;
            l.check_end(self.pos)?;
        }
        self.pos = resume;
        self.members(f, false, field)
    }

    /// Where the value at the cursor starts (after whitespace).
    #[inline]
    pub(crate) fn value_start(&mut self) -> usize {
        self.peek();
        self.pos
    }

    /// The rest of a union object of an unknown kind, from `start` (its
    /// `{`), kept as text: the values set aside and the remaining properties
    /// are checked, not built.
    pub(crate) fn unknown(&mut self, start: usize, later: &[LaterValue<'a>]) -> R<RawObject> {
        let resume = self.pos;
        let mut keys = Keys::default();
        keys.first(Cow::Borrowed("type"));
        for l in later {
            if !keys.first(l.key.clone()) {
                return Err(Bail);
            }
            self.pos = l.start;
            self.check_value()?;
            l.check_end(self.pos)?;
        }
        self.pos = resume;
        self.check_members(false, keys, true)?;
        self.text.get(start..self.pos).map(RawObject::from_checked).ok_or(Bail)
    }

    /// Checks one value as strictly as [`value`](Self::value) reads it,
    /// without building it (a repeated key gives up).
    pub(crate) fn check_value(&mut self) -> R<()> {
        self.check(true)
    }

    /// Checks one value; `keys`: whether a repeated key gives up.
    fn check(&mut self, keys: bool) -> R<()> {
        match self.peek() {
            b'"' => self.string_at_quote().map(drop),
            b'{' => {
                let first = self.open(false)?;
                self.check_members(first, Keys::default(), keys)
            }
            // Items of zero size: the vector never allocates.
            b'[' => self.array(|r| r.check(keys)).map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => {
                let token = self.number_token()?;
                if plain_integer(token).is_none() {
                    serde_json::from_str::<Value>(token).map_err(|_| Bail)?;
                }
                Ok(())
            }
            _ => Err(Bail),
        }
    }

    /// Checks the members of an open object up to its `}`; with `check_keys`,
    /// a key already in `keys` gives up.
    fn check_members(&mut self, mut first: bool, mut keys: Keys<'a>, check_keys: bool) -> R<()> {
        while let Some(k) = self.key(&mut first)? {
            if check_keys && !keys.first(k) {
                return Err(Bail);
            }
            self.check(check_keys)?;
        }
        Ok(())
    }

    /// Steps over one value without building it. It is not a full syntax
    /// check: the object is read properly afterwards.
    fn skip_ahead(&mut self) -> R<()> {
        let b = self.bytes();
        match self.peek() {
            b'"' => self.skip_string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut i = self.pos;
                loop {
                    while i < b.len() && !SCAN_STOP[b[i] as usize] {
                        i += 1;
                    }
                    match b.get(i) {
                        None => return Err(Bail),
                        Some(b'"') => {
                            self.pos = i;
                            self.skip_string()?;
                            i = self.pos;
                        }
                        Some(b'{' | b'[') => {
                            depth += 1;
                            i += 1;
                        }
                        Some(_) => {
                            depth -= 1;
                            i += 1;
                            if depth == 0 {
                                self.pos = i;
                                return Ok(());
                            }
                        }
                    }
                }
            }
            _ => {
                let mut i = self.pos;
                while i < b.len() && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                    i += 1;
                }
                self.pos = i;
                Ok(())
            }
        }
    }

    /// Steps over the string whose opening quote is at the cursor.
    fn skip_string(&mut self) -> R<()> {
        let b = self.bytes();
        let mut i = self.pos + 1;
        loop {
            i = quote_or_backslash(b, i);
            match b.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(());
                }
                Some(_) => i += 2,
                None => return Err(Bail),
            }
        }
    }
}

/// The properties read before a union's tag (rarely more than eight).
pub(crate) type Later<'a> = smallvec::SmallVec<[LaterValue<'a>; 8]>;

/// A property read before its union's tag: its key and where its value lies.
pub(crate) struct LaterValue<'a> {
    key: Cow<'a, str>,
    start: usize,
    end: usize,
}

impl LaterValue<'_> {
    /// The value must end where the skip ended; a value that reads as
    /// shorter (`12abc`) is not JSON.
    fn check_end(&self, pos: usize) -> R<()> {
        if pos == self.end {
            Ok(())
        } else {
            Err(Bail)
        }
    }
}

enum Plain {
    NonNegative(u64),
    Negative(i64),
}

/// A number token that is a plain integer of at most 18 digits, without a
/// leading zero (so it fits either way); `-0` is not one, because serde_json
/// reads it as a float.
#[inline]
fn plain_integer(token: &str) -> Option<Plain> {
    let (negative, digits) = match token.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if digits.is_empty() || digits.len() > 18 || (digits[0] == b'0' && digits.len() > 1) {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(d - b'0');
    }
    if negative {
        if n == 0 {
            None
        } else {
            Some(Plain::Negative(-(n as i64)))
        }
    } else {
        Some(Plain::NonNegative(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_scans_match_byte_scans() {
        let alphabet = [b'a', b'"', b'\\', 0x1f, 0x20, 0x7f, 0x80, 0xe3, b'!', 0x00, 0x21, 0xff];
        let mut x = 0x1234_5678_9abc_def1_u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let b: Vec<u8> = (0..len)
                .map(|k| alphabet[((x >> (k * 2)) % alphabet.len() as u64) as usize])
                .collect();
            for i in 0..=len {
                let slow = (i..len).find(|&j| STRING_STOP[b[j] as usize]).unwrap_or(len);
                assert_eq!(string_run_end(&b, i), slow, "{b:?} from {i}");
                let slow = (i..len).find(|&j| matches!(b[j], b'"' | b'\\')).unwrap_or(len);
                assert_eq!(quote_or_backslash(&b, i), slow, "{b:?} from {i}");
            }
        }
    }

    #[test]
    fn plain_integers_and_the_rest() {
        assert!(matches!(plain_integer("0"), Some(Plain::NonNegative(0))));
        assert!(matches!(plain_integer("-12"), Some(Plain::Negative(-12))));
        assert!(matches!(
            plain_integer("999999999999999999"),
            Some(Plain::NonNegative(999_999_999_999_999_999))
        ));
        for other in ["-0", "01", "1.0", "1e3", "+1", "-", "", "1234567890123456789", "1-2"] {
            assert!(plain_integer(other).is_none(), "{other}");
        }
    }

    #[test]
    fn values_equal_serde_json() {
        let texts = [
            r#"{"a":[1,-2,0,-0,1.5,1e3,18446744073709551615,18446744073709551616,-9223372036854775808],"b":"x\n\u00e9\ud83d\ude00y","c":{"d":null,"e":true,"f":false}}"#,
            r#"  [ ]  "#,
            r#"{}"#,
            r#""\"quoted\" \\ \/""#,
        ];
        for text in texts {
            let mut r = Reader::new(text);
            let ours = r.value().unwrap();
            r.end().unwrap();
            assert_eq!(ours, serde_json::from_str::<Value>(text).unwrap(), "{text}");
        }
    }

    #[test]
    fn a_repeated_key_gives_up() {
        for text in [
            r#"{"a":1,"b":2,"a":3}"#,
            r#"[{"x":{"k":1,"k":1}}]"#,
            r#"{"\u0061":1,"a":2}"#,
        ] {
            let mut r = Reader::new(text);
            assert!(r.value().is_err(), "{text}");
            let mut r = Reader::new(text);
            assert!(r.check_value().is_err(), "{text}");
            // Syntax alone is fine.
            let mut r = Reader::new(text);
            r.check(false).unwrap();
            r.end().unwrap();
        }
    }

    #[test]
    fn bad_text_gives_up() {
        for text in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "tru",
            "nul",
            "\"a",
            "\"a\u{1}\"",
            "\"\\x\"",
            "01",
            "1.",
            "-",
            "{\"a\":1}x",
            "[1 2]",
            "\"\\ud800\"",
            "{1:2}",
        ] {
            let mut r = Reader::new(text);
            let ok = r.value().and_then(|_| r.end()).is_ok();
            assert!(!ok, "{text:?} was accepted");
            assert!(
                serde_json::from_str::<Value>(text).is_err(),
                "{text:?} is valid JSON after all"
            );
        }
    }

    #[test]
    fn deep_nesting_gives_up_without_overflowing() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let mut r = Reader::new(&text);
        assert!(r.value().is_err());
        // Skipping a deep value before a union's tag needs no recursion.
        let text = format!(
            "{{\"a\":{}1{},\"type\":\"x\"}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let mut r = Reader::new(&text);
        let mut first = r.open(false).unwrap();
        let k = r.key(&mut first).unwrap().unwrap();
        let l = r.later(k).unwrap();
        assert_eq!(r.key(&mut false).unwrap().as_deref(), Some("type"));
        r.str().unwrap();
        assert!(r.unknown(0, &[l]).is_err());
    }

    #[test]
    fn values_set_aside_are_read_in_order_and_checked() {
        let text = r#"{"x":{"type":"no","y":["]",{"z":"}"}]},"q":"\"type\"","n":12,"type":"b\u0021","w":[1]}"#;
        let mut r = Reader::new(text);
        let mut first = r.open(false).unwrap();
        let mut later = Vec::new();
        let tag = loop {
            let k = r.key(&mut first).unwrap().unwrap();
            if k == "type" {
                break r.str().unwrap();
            }
            later.push(r.later(k).unwrap());
        };
        assert_eq!(tag, "b!");
        let raw = r.unknown(0, &later).unwrap();
        r.end().unwrap();
        assert_eq!(raw.as_str(), text);
        assert_eq!(
            Value::Object(raw.to_map()),
            serde_json::from_str::<Value>(text).unwrap()
        );

        // A value the skip reads as longer than it is fails the replay.
        for bad in [
            r#"{"n":12abc,"type":"t"}"#,
            r#"{"n":nullx,"type":"t"}"#,
            r#"{"n":"a"b,"type":"t"}"#,
        ] {
            let mut r = Reader::new(bad);
            let mut first = r.open(false).unwrap();
            let k = r.key(&mut first).unwrap().unwrap();
            let l = r.later(k).unwrap();
            let ok = (|| {
                let k = r.key(&mut false)?.ok_or(Bail)?;
                assert_eq!(k, "type");
                r.str()?;
                r.unknown(0, std::slice::from_ref(&l))
            })();
            assert!(ok.is_err(), "{bad}");
        }
    }
}
