//! Limits every reader and tree walk of the crate shares; the lowest module, importing nothing.

/// The deepest nesting a segment may have: at most this many `not` nodes and non-empty
/// `all`/`any` nodes on one path from the root (see [`Segment::depth`](crate::ast::Segment::depth)).
///
/// Both readers enforce it with the position of the offending node (in text, each `(` and each
/// `not` also counts as a level, so the parser never recurses deeper), and every function that walks
/// a tree checks it first ([`Segment::check_depth`](crate::ast::Segment::check_depth)). It keeps the JSON form of any segment well
/// within the 128 levels that `serde_json` reads, so every segment that parses as text also converts
/// to JSON and back.
pub const MAX_DEPTH: usize = 32;
