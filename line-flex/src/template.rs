//! Personalized Flex messages: a document with `{name}` variables, compiled
//! once and rendered per recipient by concatenation.
//!
//! Compiling serializes the document once and splits its JSON into literal
//! chunks and variable slots. Rendering copies the chunks and writes each
//! value JSON-escaped in its slot, so it costs about as much as copying the
//! output, and it is safe: a value can never break out of its string.
//!
//! Variables are `{identifier}` inside JSON strings (ASCII letters, digits and
//! `_`, not starting with a digit). `{{` and `}}` stand for literal braces.
//!
//! ```
//! use line_flex::{Bubble, Text, vbox};
//! use line_flex::template::Template;
//!
//! let bubble = Bubble::new().body(vbox![
//!     Text::new("Hi {name}!"),
//!     Text::new("¥{remaining_yen} more to reach REINE"),
//! ]);
//! let template = Template::new(&bubble).unwrap();
//! assert_eq!(template.variables(), ["name", "remaining_yen"]);
//!
//! let json = template.render(&[("name", "Aoi \"A\""), ("remaining_yen", "3,200")]).unwrap();
//! let value: serde_json::Value = serde_json::from_str(&json).unwrap();
//! assert_eq!(value["body"]["contents"][0]["text"], "Hi Aoi \"A\"!");
//!
//! let err = template.render(&[("name", "Aoi")]).unwrap_err();
//! assert_eq!(err.to_string(), "template variable {remaining_yen} (used at /body/contents/1/text) has no value");
//! ```

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use serde::Serialize;
use serde_json::Value;

use crate::container::Document;
use crate::error::{Error, ErrorKind};
use crate::validate::push_escaped;

/// Values of template variables, looked up by name.
pub trait Vars {
    /// The value of `name`, unescaped.
    fn get(&self, name: &str) -> Option<&str>;
}

impl<K: Borrow<str> + Hash + Eq, V: AsRef<str>, S: BuildHasher> Vars for HashMap<K, V, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(AsRef::as_ref)
    }
}

impl<K: Borrow<str> + Ord, V: AsRef<str>> Vars for BTreeMap<K, V> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(AsRef::as_ref)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Vars for [(K, V)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.as_ref() == name).map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Vars for [(K, V); N] {
    fn get(&self, name: &str) -> Option<&str> {
        Vars::get(self.as_slice(), name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Vars for Vec<(K, V)> {
    fn get(&self, name: &str) -> Option<&str> {
        Vars::get(self.as_slice(), name)
    }
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// All literal text, concatenated.
    literal: String,
    /// Slots in order: the literal ends at `.0`, then variable `.1` follows.
    slots: Vec<(usize, usize)>,
    /// Variable names, in order of first use.
    names: Vec<String>,
    /// JSON pointer of each variable's first use.
    pointers: Vec<String>,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A piece of a string body.
enum Piece<'a> {
    Literal(&'a str),
    Var(&'a str),
}

/// Splits one (escaped) JSON string body into literal text and variables.
fn split_vars<'a>(body: &'a str, mut on: impl FnMut(Piece<'a>)) {
    let on_literal = |s: &'a str, on: &mut dyn FnMut(Piece<'a>)| {
        if !s.is_empty() {
            on(Piece::Literal(s))
        }
    };
    let b = body.as_bytes();
    let mut i = 0;
    let mut lit_start = 0;
    while i < b.len() {
        match b[i] {
            b'{' if b.get(i + 1) == Some(&b'{') => {
                on_literal(&body[lit_start..=i], &mut on);
                i += 2;
                lit_start = i;
            }
            b'}' if b.get(i + 1) == Some(&b'}') => {
                on_literal(&body[lit_start..=i], &mut on);
                i += 2;
                lit_start = i;
            }
            b'{' if b.get(i + 1).copied().is_some_and(is_ident_start) => {
                let mut j = i + 2;
                while j < b.len() && is_ident(b[j]) {
                    j += 1;
                }
                if b.get(j) == Some(&b'}') {
                    on_literal(&body[lit_start..i], &mut on);
                    on(Piece::Var(&body[i + 1..j]));
                    i = j + 1;
                    lit_start = i;
                } else {
                    i = j;
                }
            }
            _ => i += 1,
        }
    }
    on_literal(&body[lit_start..], &mut on);
}

/// Records the first pointer of each variable, walking the document as JSON.
fn find_pointers(v: &Value, path: &mut String, out: &mut BTreeMap<String, String>) {
    match v {
        Value::String(s) => split_vars(s, |piece| {
            if let Piece::Var(name) = piece {
                out.entry(name.to_owned()).or_insert_with(|| path.clone());
            }
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                find_pointers(item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                path.push('/');
                push_escaped(path, k);
                find_pointers(item, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

impl Template {
    /// Compiles a document (a bubble, a carousel, a container or a whole flex
    /// message) into a template.
    pub fn new<T: Serialize + ?Sized>(document: &T) -> Result<Self, Error> {
        let json =
            serde_json::to_string(document).map_err(|e| Error::new(ErrorKind::Conversion { reason: e.to_string() }))?;
        let mut t = Template {
            literal: String::with_capacity(json.len()),
            slots: Vec::new(),
            names: Vec::new(),
            pointers: Vec::new(),
        };
        // Walk the compact JSON; split the bodies of strings.
        let bytes = json.as_bytes();
        let mut i = 0;
        let mut start = 0;
        while i < bytes.len() {
            if bytes[i] != b'"' {
                i += 1;
                continue;
            }
            // Copy up to and including the opening quote.
            t.literal.push_str(&json[start..=i]);
            let body_start = i + 1;
            let mut j = body_start;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            let body = &json[body_start..j.min(bytes.len())];
            let Template {
                literal, slots, names, ..
            } = &mut t;
            split_vars(body, |piece| match piece {
                Piece::Literal(lit) => literal.push_str(lit),
                Piece::Var(name) => {
                    let index = match names.iter().position(|n| n == name) {
                        Some(k) => k,
                        None => {
                            names.push(name.to_owned());
                            names.len() - 1
                        }
                    };
                    slots.push((literal.len(), index));
                }
            });
            start = j;
            i = j + 1;
        }
        t.literal.push_str(&json[start..]);
        if !t.names.is_empty() {
            let value = serde_json::to_value(document)
                .map_err(|e| Error::new(ErrorKind::Conversion { reason: e.to_string() }))?;
            let mut found = BTreeMap::new();
            find_pointers(&value, &mut String::new(), &mut found);
            t.pointers = t
                .names
                .iter()
                .map(|n| found.get(n).cloned().unwrap_or_default())
                .collect();
        }
        Ok(t)
    }

    /// A template of a whole flex message whose `altText` may use variables too.
    pub fn message(alt_text: impl Into<String>, contents: impl Into<line_model::FlexContainer>) -> Result<Self, Error> {
        Self::new(&crate::FlexMessage::new(alt_text, contents))
    }

    /// The variables, in order of first use.
    pub fn variables(&self) -> &[String] {
        &self.names
    }

    /// Renders with values looked up by name; the result is compact JSON.
    pub fn render<V: Vars + ?Sized>(&self, vars: &V) -> Result<String, Error> {
        let mut out = String::with_capacity(self.literal.len() + 16 * self.slots.len());
        self.render_into(vars, &mut out)?;
        Ok(out)
    }

    /// Renders into `out` (cleared first), so that a fan-out can reuse one buffer.
    pub fn render_into<V: Vars + ?Sized>(&self, vars: &V, out: &mut String) -> Result<(), Error> {
        out.clear();
        let mut at = 0;
        for &(end, index) in &self.slots {
            out.push_str(&self.literal[at..end]);
            let name = &self.names[index];
            let Some(value) = vars.get(name) else {
                return Err(self.missing(index));
            };
            escape_into(value, out);
            at = end;
        }
        out.push_str(&self.literal[at..]);
        Ok(())
    }

    /// Renders with values given by position, in the order of
    /// [`variables`](Self::variables) (the fastest way, with no lookups).
    pub fn render_values(&self, values: &[&str], out: &mut String) -> Result<(), Error> {
        if values.len() < self.names.len() {
            return Err(self.missing(values.len()));
        }
        out.clear();
        let mut at = 0;
        for &(end, index) in &self.slots {
            out.push_str(&self.literal[at..end]);
            escape_into(values[index], out);
            at = end;
        }
        out.push_str(&self.literal[at..]);
        Ok(())
    }

    /// Renders and parses the result back, so that it can be validated per
    /// recipient (values can push a label or `altText` over a limit).
    pub fn render_document<V: Vars + ?Sized>(&self, vars: &V) -> Result<Document, Error> {
        Document::parse(self.render(vars)?.as_bytes())
    }

    fn missing(&self, index: usize) -> Error {
        Error::new(ErrorKind::MissingVariable {
            name: self.names[index].clone(),
            pointer: self.pointers.get(index).cloned().unwrap_or_default(),
        })
    }
}

/// Appends `s` escaped as the body of a JSON string.
fn escape_into(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_quotes_and_backslashes() {
        let mut out = String::new();
        escape_into("a\"b\\c\nd\u{1}e", &mut out);
        assert_eq!(out, "a\\\"b\\\\c\\nd\\u0001e");
        let parsed: String = serde_json::from_str(&format!("\"{out}\"")).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\u{1}e");
    }

    #[test]
    fn double_braces_are_literal_and_unclosed_braces_stay() {
        let mut lits = String::new();
        let mut vars = Vec::new();
        split_vars("{{x}} {y} {z {1a}", |piece| match piece {
            Piece::Literal(l) => lits.push_str(l),
            Piece::Var(v) => vars.push(v.to_owned()),
        });
        assert_eq!(lits, "{x}  {z {1a}");
        assert_eq!(vars, ["y"]);
    }
}
