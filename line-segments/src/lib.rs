//! # line-segments
//!
//! A segment algebra for LINE marketing: segments are data that can be stored, sent and evaluated
//! anywhere. A segment is
//!
//! - **written** as text ([`text`]) or JSON ([`json`], the interchange format between services),
//! - **checked** against the host's schema ([`schema`]),
//! - **evaluated** in process, per profile or in batches ([`eval`], `source`), with an
//!   **explanation** of each decision ([`eval::Evaluator::explain`]),
//! - **compiled** to a LINE narrowcast plan (`narrowcast`) or to portable SQL ([`sql`]).
//!
//! ```
//! use line_segments::{eval::CompiledSegment, profile::{Profile, Value, Event}, text};
//! let seg = text::parse(
//!     r#"gender = "female" and "cosmetics" in interests and id_linked and count(purchase, 90d) >= 2"#,
//! ).unwrap();
//! let compiled = CompiledSegment::compile(&seg).unwrap();
//! let now: jiff::Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
//! let mut p = Profile::new("U1")
//!     .with_attr("gender", Value::Str("female".into()))
//!     .with_attr("interests", Value::Set(vec!["cosmetics".into()]))
//!     .with_event(Event::new("purchase", "2026-04-01T00:00:00Z".parse().unwrap()))
//!     .with_event(Event::new("purchase", "2026-04-20T00:00:00Z".parse().unwrap()));
//! p.line.id_linked = Some(true);
//! assert!(compiled.at(now).matches(&p));
//! ```
//!
//! # Three-valued logic
//!
//! Every node evaluates to `true`, `false` or `unknown` (Kleene logic: `all` is the minimum,
//! `any` the maximum, `not` swaps true and false and keeps unknown). **A profile is a member only
//! when the segment is `true`.**
//!
//! - A comparison with a missing attribute (or a value of another type) is `unknown`. So is
//!   its negation: `not (age >= 20)` does **not** select profiles without an age. Write
//!   `missing(age) or age < 20` to include them.
//! - `exists(x)` and `missing(x)` are never unknown.
//! - `x in [a, b]` is `x = a or x = b`, so an empty list is `false`.
//! - `min`, `max` and `avg` over no events are `unknown`; `sum` over no events is 0, `count` is 0.
//! - An event condition (`where`) on a missing property does not match (SQL `WHERE` semantics).
//! - **Partial history.** A profile may say its events are complete only from `history_start` on
//!   (say, when it was created). For a window that starts earlier, a count is only a lower bound:
//!   `count(purchase, 30d) >= 1` can still be true, but `count(purchase, 30d) = 0` ("has not
//!   purchased in 30 days") is unknown for a profile younger than 30 days, so it is not selected,
//!   and neither is its negation. As in Customer.io, "has not done X in 30 days" is not true for a
//!   profile younger than 30 days. Sums, minimums, maximums, averages and first occurrences over such a
//!   window are unknown; a last occurrence is known when one was seen; a sequence is true when a
//!   qualifying first event after `history_start` was seen and unknown otherwise.
//!
//! # Namespaces
//!
//! - First-party attributes (`gender`, `birthday`) are what the host stores.
//! - LINE facts (`line.is_friend`, `line.blocked`, `line.id_linked`, `line.friend_since`,
//!   `line.friend_source`, `line.store`) are what LINE tells the host; evaluated in process.
//! - LINE-inferred demographics (`demo.gender(…)`, `demo.age(20..40)`, `demo.area(…)`,
//!   `demo.app_type(…)`, `demo.subscription(…)`), LINE audiences (`audience(123)`) and redeliveries
//!   (`redelivery("…")`) are known only to LINE. They cannot be evaluated in process: compiling
//!   them fails with [`ErrorKind::NotEvaluable`]. The narrowcast planner turns them into
//!   the request's `filter` and `recipient`.
//!
//! # Profiles
//!
//! Evaluation reads profiles through [`profile::ProfileView`]; the JSON Lines format of
//! [`profile::Profile`] (used by `linectl segment eval`) is described in [`profile`].
//!
//! # Features
//!
//! - `source` (default): the async `source::ProfileSource` host trait, an in-memory source and
//!   batch evaluation.
//! - `narrowcast` (default): compilation to a LINE narrowcast or multicast plan.
//! - `execute`: `execute::Executor`, which carries out a plan with a `line_core` client (audience
//!   upload, readiness, narrowcast, progress, multicast chunks), resumable through a checkpoint.
//! - `testing`: `source::testing`, the conformance suite for `ProfileSource` implementations.
//!
//! Without default features, the crate (AST, parsers, checker, evaluator, SQL compiler) does no I/O
//! and pulls in no async runtime or HTTP client (`check-no-io-deps.sh` verifies this).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod ast;
pub mod cli;
pub mod condition;
pub mod error;
pub mod eval;
#[cfg(feature = "execute")]
pub mod execute;
pub mod json;
pub mod library;
mod limits;
#[cfg(feature = "narrowcast")]
pub mod narrowcast;
pub mod normal;
pub mod profile;
pub mod schema;
#[cfg(feature = "source")]
pub mod source;
pub mod sql;
pub mod text;

pub use ast::{Attr, CmpOp, Literal, Predicate, Segment, Window};
pub use condition::SegmentCondition;
pub use error::{Error, ErrorKind, Place, Result};
pub use eval::{AggregateValue, CompiledSegment, Explanation, Truth};
