//! The logic behind `linectl segment …`, on strings, so the command line stays a thin layer.
//!
//! A segment file is JSON when its first non-blank character is `{`, and text otherwise.

use jiff::Timestamp;
use line_core::clock::{Clock, SystemClock};

use crate::ast::Segment;
use crate::error::{Error, Result};
use crate::eval::CompiledSegment;
use crate::profile::parse_jsonl;
use crate::schema::Schema;
use crate::text::SourceMap;

/// The two forms of a segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The text syntax.
    Text,
    /// The JSON form.
    Json,
}

/// Detects the form of a segment file.
pub fn detect(content: &str) -> Form {
    if content.trim_start().starts_with('{') {
        Form::Json
    } else {
        Form::Text
    }
}

/// A parsed segment file.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The segment.
    pub segment: Segment,
    /// Its form.
    pub form: Form,
    /// Positions of its nodes, for text files.
    pub map: Option<SourceMap>,
}

/// Parses a segment file in either form.
pub fn load(content: &str) -> Result<Loaded> {
    match detect(content) {
        Form::Json => Ok(Loaded {
            segment: crate::json::from_json_str(content)?,
            form: Form::Json,
            map: None,
        }),
        Form::Text => {
            let (segment, map) = crate::text::parse_with_map(content)?;
            Ok(Loaded {
                segment,
                form: Form::Text,
                map: Some(map),
            })
        }
    }
}

/// Parses a schema file (JSON, see [`Schema`]).
pub fn load_schema(content: &str) -> Result<Schema> {
    serde_json::from_str(content).map_err(|e| {
        Error::new(crate::ErrorKind::Json {
            place: crate::Place::Text {
                line: e.line(),
                column: e.column(),
            },
            message: crate::json::strip_serde_position(&e.to_string()),
        })
    })
}

/// Parses `--now` (RFC 3339), or reads the clock.
pub fn now(arg: Option<&str>, clock: &dyn Clock) -> Result<Timestamp> {
    match arg {
        None => Ok(clock.now()),
        Some(s) => s.parse().map_err(|e| {
            Error::new(crate::ErrorKind::Json {
                place: crate::Place::Field("--now".into()),
                message: format!("invalid RFC 3339 timestamp `{s}`: {e}"),
            })
        }),
    }
}

/// `check`: parses, then checks against the schema when one is given. Returns the problems, each
/// a line naming the place (empty when the segment is fine).
pub fn check(content: &str, schema: Option<&Schema>) -> Vec<String> {
    let loaded = match load(content) {
        Ok(l) => l,
        Err(e) => return vec![e.to_string()],
    };
    let Some(schema) = schema else {
        return Vec::new();
    };
    schema
        .check(&loaded.segment)
        .into_iter()
        .map(|e| match &loaded.map {
            Some(m) => m.locate(e).to_string(),
            None => e.to_string(),
        })
        .collect()
}

/// `fmt`: text becomes pretty JSON, JSON becomes text (or force the output form with `to`).
pub fn fmt(content: &str, to: Option<Form>) -> Result<String> {
    let loaded = load(content)?;
    let target = to.unwrap_or(match loaded.form {
        Form::Text => Form::Json,
        Form::Json => Form::Text,
    });
    Ok(match target {
        Form::Json => {
            let mut s = serde_json::to_string_pretty(&crate::json::to_json(&loaded.segment)?).unwrap_or_default();
            s.push('\n');
            s
        }
        Form::Text => format!("{}\n", crate::text::print(&loaded.segment)),
    })
}

/// `eval`: the matching user IDs, one per line; with `explain`, the explanation for that user instead.
pub fn eval(
    segment: &str,
    profiles: &str,
    schema: Option<&Schema>,
    now_arg: Option<&str>,
    explain: Option<&str>,
) -> Result<String> {
    let loaded = load(segment)?;
    let locate = |e: Error| match &loaded.map {
        Some(m) => m.locate(e),
        None => e,
    };
    let compiled = CompiledSegment::compile(&loaded.segment).map_err(locate)?;
    let profiles = parse_jsonl(profiles, schema)?;
    let now = now(now_arg, &SystemClock)?;
    let eval = compiled.at(now);
    if let Some(user) = explain {
        let p = profiles.iter().find(|p| p.id.as_str() == user).ok_or_else(|| {
            Error::new(crate::ErrorKind::Json {
                place: crate::Place::Field("--explain".into()),
                message: format!("no profile with id `{user}`"),
            })
        })?;
        return Ok(eval.explain(p).to_string());
    }
    let mut out = String::new();
    for p in profiles.iter().filter(|p| eval.matches(*p)) {
        out.push_str(p.id.as_str());
        out.push('\n');
    }
    Ok(out)
}

/// `compile --target sql`: the query (PostgreSQL `$n` placeholders when `postgres`), then its
/// parameters as a JSON array on the last line.
pub fn compile_sql(segment: &str, mapping: &str, now_arg: Option<&str>, postgres: bool) -> Result<String> {
    let loaded = load(segment)?;
    let mapping: crate::sql::SqlMapping = serde_json::from_str(mapping).map_err(|e| {
        Error::new(crate::ErrorKind::Json {
            place: crate::Place::Text {
                line: e.line(),
                column: e.column(),
            },
            message: crate::json::strip_serde_position(&e.to_string()),
        })
    })?;
    let now = now(now_arg, &SystemClock)?;
    let style = if postgres {
        crate::sql::Placeholders::Dollar
    } else {
        crate::sql::Placeholders::Question
    };
    let q = crate::sql::compile(&loaded.segment, &mapping, now, style).map_err(|e| match &loaded.map {
        Some(m) => m.locate(e),
        None => e,
    })?;
    Ok(format!(
        "{};\n-- params: {}\n",
        q.sql,
        serde_json::to_string(&q.params).unwrap_or_default()
    ))
}

/// `compile --target narrowcast`: the plan as pretty JSON. `profiles` (JSON Lines) are used for the
/// locally evaluated part.
#[cfg(feature = "narrowcast")]
pub fn compile_narrowcast(
    segment: &str,
    profiles: Option<&str>,
    schema: Option<&Schema>,
    now_arg: Option<&str>,
) -> Result<String> {
    let loaded = load(segment)?;
    let profiles = match profiles {
        Some(p) => parse_jsonl(p, schema)?,
        None => Vec::new(),
    };
    let now = now(now_arg, &SystemClock)?;
    let plan = crate::narrowcast::plan_profiles(&loaded.segment, &profiles, now, &Default::default()).map_err(|e| {
        match &loaded.map {
            Some(m) => m.locate(e),
            None => e,
        }
    })?;
    // Through a `Value`, whose map sorts keys: the nested LINE objects print as they always have.
    let json = serde_json::to_value(&plan).map_err(|e| {
        Error::new(crate::ErrorKind::Json {
            place: crate::Place::Field("plan".into()),
            message: e.to_string(),
        })
    })?;
    let mut s = serde_json::to_string_pretty(&json).unwrap_or_default();
    s.push('\n');
    Ok(s)
}
