//! Named segments that refer to each other, with cycle detection.
//!
//! ```
//! use line_segments::{library::Library, text};
//! let mut lib = Library::new();
//! lib.insert("buyers", text::parse("count(purchase, 90d) >= 1").unwrap());
//! lib.insert("vip_buyers", text::parse(r#"segment("buyers") and rank = "gold""#).unwrap());
//! let resolved = lib.resolve(&text::parse(r#"segment("vip_buyers")"#).unwrap()).unwrap();
//! assert!(resolved.references().is_empty());
//! ```

use std::collections::BTreeMap;

use crate::ast::{Segment, MAX_DEPTH};
use crate::error::{Error, ErrorKind, Place, Result};

/// A set of named segments.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Library {
    segments: BTreeMap<String, Segment>,
}

impl Library {
    /// An empty library.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a named segment.
    pub fn insert(&mut self, name: impl Into<String>, segment: Segment) {
        self.segments.insert(name.into(), segment);
    }

    /// Looks a segment up.
    pub fn get(&self, name: &str) -> Option<&Segment> {
        self.segments.get(name)
    }

    /// The names defined.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.segments.keys().map(|s| s.as_str())
    }

    /// Checks that every reference is defined and no segment refers to itself through others.
    pub fn validate(&self) -> Result<()> {
        for name in self.segments.keys() {
            self.resolve(&Segment::Ref(name.clone()))?;
        }
        Ok(())
    }

    /// Replaces every reference by the segment it names, recursively.
    ///
    /// Errors: [`ErrorKind::UnknownSegment`] (with the pointer of the reference),
    /// [`ErrorKind::Cycle`] (with the chain of names), and [`ErrorKind::TooDeep`] when the resolved
    /// segment would nest deeper than [`MAX_DEPTH`] levels or references would chain through more
    /// than [`MAX_DEPTH`] names (so resolution never recurses deeper than twice the limit).
    pub fn resolve(&self, segment: &Segment) -> Result<Segment> {
        let mut stack = Vec::new();
        self.go(segment, "", 0, &mut stack)
    }

    /// Where a node is: a pointer into the segment being resolved, or into a named one.
    fn place(ptr: &str, stack: &[String]) -> Place {
        match stack.last() {
            None => Place::Pointer(ptr.to_owned()),
            Some(name) => Place::Field(format!("segment `{name}` at {ptr}")),
        }
    }

    fn go(&self, s: &Segment, ptr: &str, above: usize, stack: &mut Vec<String>) -> Result<Segment> {
        let level = match s {
            Segment::All(c) | Segment::Any(c) if !c.is_empty() => above + 1,
            Segment::Not(_) => above + 1,
            _ => above,
        };
        if level > MAX_DEPTH {
            return Err(Error::new(ErrorKind::TooDeep {
                place: Self::place(ptr, stack),
                max: MAX_DEPTH,
            }));
        }
        Ok(match s {
            Segment::All(c) => Segment::All(
                c.iter()
                    .enumerate()
                    .map(|(i, x)| self.go(x, &format!("{ptr}/all/{i}"), level, stack))
                    .collect::<Result<_>>()?,
            ),
            Segment::Any(c) => Segment::Any(
                c.iter()
                    .enumerate()
                    .map(|(i, x)| self.go(x, &format!("{ptr}/any/{i}"), level, stack))
                    .collect::<Result<_>>()?,
            ),
            Segment::Not(x) => Segment::Not(Box::new(self.go(x, &format!("{ptr}/not"), level, stack)?)),
            Segment::Pred(p) => Segment::Pred(p.clone()),
            Segment::Ref(name) => {
                if let Some(i) = stack.iter().position(|n| n == name) {
                    let mut path = stack[i..].to_vec();
                    path.push(name.clone());
                    return Err(Error::new(ErrorKind::Cycle { path }));
                }
                let Some(target) = self.segments.get(name) else {
                    let place = if stack.is_empty() {
                        Place::Pointer(format!("{ptr}/ref"))
                    } else {
                        Place::Field(format!(
                            "segment `{}` at {ptr}/ref",
                            stack.last().map(|s| s.as_str()).unwrap_or("")
                        ))
                    };
                    return Err(Error::new(ErrorKind::UnknownSegment {
                        place,
                        name: name.clone(),
                    }));
                };
                if stack.len() >= MAX_DEPTH {
                    return Err(Error::new(ErrorKind::TooDeep {
                        place: Self::place(&format!("{ptr}/ref"), stack),
                        max: MAX_DEPTH,
                    }));
                }
                stack.push(name.clone());
                let out = self.go(target, "", level, stack)?;
                stack.pop();
                out
            }
        })
    }
}
