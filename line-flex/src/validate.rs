//! Validation: everything LINE rejects (errors) or renders badly (warnings)
//! that the types cannot rule out, each finding with the JSON pointer LINE
//! would use.
//!
//! ```
//! use line_flex::{vbox, Bubble, Severity, Text};
//!
//! let bubble = Bubble::new().body(vbox![Text::new("")]);
//! let findings = bubble.validate();
//! assert_eq!(findings[0].severity, Severity::Error);
//! assert_eq!(findings[0].pointer, "/body/contents/0/text");
//! ```

use std::fmt;
use std::io;

use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

use crate::limits::{MAX_FLEX_BUBBLE_BYTES, MAX_FLEX_CAROUSEL_BYTES};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// LINE accepts the message, but it renders badly or only on newer clients.
    Warning,
    /// LINE rejects the message with a 400.
    Error,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found by `validate()`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// JSON pointer of the offending value, relative to the validated document
    /// (for example `/body/contents/2/action/uri`).
    pub pointer: String,
    /// What is wrong, in lowercase.
    pub message: String,
}

impl Finding {
    /// An error finding.
    pub fn error(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    /// A warning finding.
    pub fn warning(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    /// Whether this finding makes LINE reject the message.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    /// `error<TAB>/pointer<TAB>message`, the format of `linectl flex validate`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\t{}\t{}", self.severity, self.pointer, self.message)
    }
}

/// Settings of a validation run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidateOptions {
    /// Largest serialized bubble, in bytes.
    pub max_bubble_bytes: usize,
    /// Largest serialized carousel, in bytes.
    pub max_carousel_bytes: usize,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        Self {
            max_bubble_bytes: MAX_FLEX_BUBBLE_BYTES,
            max_carousel_bytes: MAX_FLEX_CAROUSEL_BYTES,
        }
    }
}

impl ValidateOptions {
    /// Sets the largest serialized bubble, in bytes.
    #[must_use]
    pub fn max_bubble_bytes(mut self, bytes: usize) -> Self {
        self.max_bubble_bytes = bytes;
        self
    }

    /// Sets the largest serialized carousel, in bytes.
    #[must_use]
    pub fn max_carousel_bytes(mut self, bytes: usize) -> Self {
        self.max_carousel_bytes = bytes;
        self
    }
}

/// One step of a JSON pointer.
#[derive(Debug, Clone, Copy)]
enum Seg {
    Key(&'static str),
    Index(usize),
}

/// A JSON pointer under construction, kept as a stack of steps so that
/// walking a document allocates nothing until a pointer is printed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Path(Vec<Seg>);

impl Path {
    pub(crate) fn new() -> Self {
        Self(Vec::with_capacity(16))
    }

    pub(crate) fn push_key(&mut self, key: &'static str) {
        self.0.push(Seg::Key(key));
    }

    pub(crate) fn push_index(&mut self, index: usize) {
        self.0.push(Seg::Index(index));
    }

    pub(crate) fn pop(&mut self) {
        self.0.pop();
    }

    /// Number of steps.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The pointer as RFC 6901 text (`""` for the root).
    pub(crate) fn pointer(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            out.push('/');
            match seg {
                Seg::Key(k) => push_escaped(&mut out, k),
                Seg::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }

    /// The pointer with one more key appended.
    pub(crate) fn pointer_with(&self, key: &str) -> String {
        let mut out = self.pointer();
        out.push('/');
        push_escaped(&mut out, key);
        out
    }
}

/// Appends a JSON-pointer step, escaping `~` and `/`.
pub(crate) fn push_escaped(out: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// The state of one validation walk.
pub(crate) struct Cx<'a> {
    pub(crate) path: Path,
    pub(crate) findings: Vec<Finding>,
    pub(crate) opts: &'a ValidateOptions,
    /// Animated images seen so far in this message.
    pub(crate) animated: usize,
    /// Whether the walk is inside a carousel.
    pub(crate) in_carousel: bool,
    /// Whether the walk is inside a quick reply (labels have a lower limit).
    pub(crate) in_quick_reply: bool,
    /// Serialized sizes of the bubbles checked so far (read by the carousel).
    pub(crate) bubble_bytes: Vec<usize>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(opts: &'a ValidateOptions) -> Self {
        Self {
            path: Path::new(),
            findings: Vec::new(),
            opts,
            animated: 0,
            in_carousel: false,
            in_quick_reply: false,
            bubble_bytes: Vec::new(),
        }
    }

    fn push(&mut self, severity: Severity, pointer: String, message: String) {
        self.findings.push(Finding {
            severity,
            pointer,
            message,
        });
    }

    /// An error at the current place.
    pub(crate) fn error(&mut self, message: impl Into<String>) {
        let pointer = self.path.pointer();
        self.push(Severity::Error, pointer, message.into());
    }

    /// A warning at the current place.
    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        let pointer = self.path.pointer();
        self.push(Severity::Warning, pointer, message.into());
    }

    /// An error at a property of the current object.
    pub(crate) fn error_at(&mut self, key: &str, message: impl Into<String>) {
        let pointer = self.path.pointer_with(key);
        self.push(Severity::Error, pointer, message.into());
    }

    /// A warning at a property of the current object.
    pub(crate) fn warn_at(&mut self, key: &str, message: impl Into<String>) {
        let pointer = self.path.pointer_with(key);
        self.push(Severity::Warning, pointer, message.into());
    }

    /// Runs `f` one key deeper.
    pub(crate) fn at(&mut self, key: &'static str, f: impl FnOnce(&mut Self)) {
        self.path.push_key(key);
        f(self);
        self.path.pop();
    }

    /// Runs `f` one array index deeper.
    pub(crate) fn at_index(&mut self, index: usize, f: impl FnOnce(&mut Self)) {
        self.path.push_index(index);
        f(self);
        self.path.pop();
    }

    pub(crate) fn finish(self) -> Vec<Finding> {
        self.findings
    }
}

/// Counts bytes written, so that sizes are measured without buffering.
struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Size of a value's compact JSON, in bytes.
pub(crate) fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = ByteCounter(0);
    // Writing to a counter cannot fail, and our Serialize impls do not fail.
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

/// Length in grapheme clusters.
pub(crate) fn graphemes(s: &str) -> usize {
    if s.is_ascii() {
        // Every ASCII character is its own cluster except "\r\n".
        s.len() - s.matches("\r\n").count()
    } else {
        s.graphemes(true).count()
    }
}

/// Length in characters (Unicode scalar values).
pub(crate) fn chars(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Length in UTF-16 code units.
pub(crate) fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// Validation of the `line_model` Flex types (and of [`Document`](crate::Document)).
///
/// ```
/// use line_flex::Validate;
///
/// let bubble: line_model::FlexBubble = serde_json::from_str(
///     r#"{"type":"bubble","hero":{"type":"image","url":"http://example.com/a.png"}}"#,
/// ).unwrap();
/// let findings = bubble.validate();
/// assert_eq!(findings[0].pointer, "/hero/url");
/// ```
pub trait Validate {
    /// All findings with the default limits, errors and warnings, with
    /// pointers relative to this value.
    fn validate(&self) -> Vec<Finding> {
        self.validate_with(&ValidateOptions::default())
    }

    /// All findings with the given limits.
    fn validate_with(&self, options: &ValidateOptions) -> Vec<Finding>;
}
