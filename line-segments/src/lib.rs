#![doc = include_str!("../README.md")]
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
