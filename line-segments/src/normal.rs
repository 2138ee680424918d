//! Normal forms.
//!
//! [`nnf`] pushes every `not` down to the leaves (negation normal form) with Kleene's De Morgan laws,
//! removes double negations, negates comparisons into their complements where that is exact in
//! three-valued logic (`not (x < 5)` is `x >= 5`: both are unknown when `x` is missing), and flattens
//! nested `all`/`any`. The result evaluates equal to the input on every profile.

use crate::ast::{Predicate, Segment};

/// The negation normal form of a segment.
///
/// Errors: [`crate::ErrorKind::TooDeep`] for a segment deeper than [`crate::ast::MAX_DEPTH`]
/// (checked before the tree is walked).
pub fn nnf(s: &Segment) -> crate::Result<Segment> {
    s.check_depth()?;
    Ok(pos(s))
}

fn pos(s: &Segment) -> Segment {
    match s {
        Segment::All(c) => flatten(true, c.iter().map(pos).collect()),
        Segment::Any(c) => flatten(false, c.iter().map(pos).collect()),
        Segment::Not(x) => neg(x),
        other => other.clone(),
    }
}

fn neg(s: &Segment) -> Segment {
    match s {
        Segment::All(c) => flatten(false, c.iter().map(neg).collect()),
        Segment::Any(c) => flatten(true, c.iter().map(neg).collect()),
        Segment::Not(x) => pos(x),
        Segment::Ref(_) => Segment::Not(Box::new(s.clone())),
        Segment::Pred(p) => match negate_pred(p) {
            Some(q) => Segment::Pred(q),
            None => Segment::Not(Box::new(s.clone())),
        },
    }
}

/// The predicate that is exactly the Kleene negation of `p`, when one exists.
pub fn negate_pred(p: &Predicate) -> Option<Predicate> {
    let mut q = p.clone();
    match &mut q {
        Predicate::Compare { op, .. }
        | Predicate::DaysSince { op, .. }
        | Predicate::Count { op, .. }
        | Predicate::Aggregate { op, .. } => *op = op.negate(),
        Predicate::Exists(a) => return Some(Predicate::Missing(a.clone())),
        Predicate::Missing(a) => return Some(Predicate::Exists(a.clone())),
        _ => return None,
    }
    Some(q)
}

fn flatten(is_all: bool, children: Vec<Segment>) -> Segment {
    let mut out = Vec::with_capacity(children.len());
    for c in children {
        match c {
            Segment::All(inner) if is_all => out.extend(inner),
            Segment::Any(inner) if !is_all => out.extend(inner),
            other => out.push(other),
        }
    }
    if out.len() == 1 {
        return out.pop().unwrap_or_else(Segment::always);
    }
    if is_all {
        Segment::All(out)
    } else {
        Segment::Any(out)
    }
}
