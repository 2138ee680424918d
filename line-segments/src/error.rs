//! The crate's error type, in the twilight shape: a struct with a [`kind`](Error::kind) to branch on.

use std::fmt;

/// Where in the input something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Place {
    /// A position in text, 1-based.
    Text {
        /// Line number, starting at 1.
        line: usize,
        /// Column number in characters, starting at 1.
        column: usize,
    },
    /// A JSON pointer (RFC 6901) into a JSON document, or into the JSON form of a segment.
    Pointer(String),
    /// A line of a JSON Lines file, plus a pointer inside that line's document.
    JsonLine {
        /// Line number, starting at 1.
        line: usize,
        /// JSON pointer inside the line's document.
        pointer: String,
    },
    /// A named field of a schema, mapping or option.
    Field(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Text { line, column } => write!(f, "line {line}, column {column}"),
            Place::Pointer(p) if p.is_empty() => f.write_str("the document root"),
            Place::Pointer(p) => write!(f, "`{p}`"),
            Place::JsonLine { line, pointer } if pointer.is_empty() => write!(f, "line {line}"),
            Place::JsonLine { line, pointer } => write!(f, "line {line} at `{pointer}`"),
            Place::Field(name) => write!(f, "field `{name}`"),
        }
    }
}

/// What kind of error happened. Grows over time, so match with a wildcard arm.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text syntax could not be parsed.
    Parse {
        /// Where the parser stopped.
        place: Place,
        /// What the parser expected there.
        expected: Vec<String>,
        /// What it found instead.
        found: String,
    },
    /// A JSON document was malformed or did not follow the documented form.
    Json {
        /// Where in the document.
        place: Place,
        /// What was wrong.
        message: String,
    },
    /// A static check against the host schema failed.
    Schema {
        /// The node of the segment (JSON pointer into its JSON form, or a text position).
        place: Place,
        /// What was wrong.
        message: String,
    },
    /// A named segment refers to itself, directly or through others.
    Cycle {
        /// The chain of names, ending with the name that closes the cycle.
        path: Vec<String>,
    },
    /// A segment refers to a name that is not defined.
    UnknownSegment {
        /// Where the reference is.
        place: Place,
        /// The missing name.
        name: String,
    },
    /// The segment contains a predicate that only LINE can evaluate (an inferred demographic, an
    /// audience or a redelivery), and was asked to run in process.
    NotEvaluable {
        /// Where the predicate is.
        place: Place,
        /// What the predicate is.
        what: String,
    },
    /// The segment cannot be compiled to the requested target.
    Unsupported {
        /// Where the unsupported node is.
        place: Place,
        /// Why.
        message: String,
    },
    /// A narrowcast plan would break one of LINE's limits.
    Limit {
        /// Which limit, and by how much.
        message: String,
    },
    /// The segment nests deeper than [`crate::limits::MAX_DEPTH`] levels.
    TooDeep {
        /// The first node past the limit (a text position, or a JSON pointer).
        place: Place,
        /// The limit.
        max: usize,
    },
    /// A host profile source failed.
    Source {
        /// What the source said.
        message: String,
    },
    /// A call to LINE made while carrying out a plan failed (the source is the client's error).
    Line {
        /// The operationId (`createAudienceGroup`, `narrowcast`, …).
        operation: String,
    },
    /// The uploaded audience ended in a state a narrowcast cannot use (`FAILED`, `EXPIRED`,
    /// `INACTIVE`).
    AudienceFailed {
        /// The audience.
        audience_group_id: i64,
        /// Its status, as LINE wrote it.
        status: String,
        /// LINE's `failedType`, if it gave one.
        failed_type: Option<String>,
    },
    /// Waiting for LINE took longer than allowed.
    Timeout {
        /// What was awaited (`audience 123 to be READY`, `narrowcast <request id> to finish`).
        waiting_for: String,
    },
    /// LINE accepted the narrowcast and then reported it `failed`.
    NarrowcastFailed {
        /// The narrowcast's request id.
        request_id: String,
        /// LINE's `errorCode`, if any.
        error_code: Option<i64>,
        /// LINE's `failedDescription`, if any.
        description: Option<String>,
    },
    /// Some multicast chunks failed; the others were accepted. Running the same plan again with
    /// the same checkpoint sends only what is missing (accepted chunks answer 409).
    MulticastIncomplete {
        /// Recipients in failed chunks.
        failed_recipients: usize,
        /// All recipients.
        recipients: usize,
    },
}

/// The error type of this crate.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// Creates an error of the given kind.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// Attaches an underlying cause.
    pub fn with_source(mut self, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Consumes the error and returns its kind.
    pub fn into_kind(self) -> ErrorKind {
        self.kind
    }

    /// The place the error names, if any.
    pub fn place(&self) -> Option<&Place> {
        match &self.kind {
            ErrorKind::Parse { place, .. }
            | ErrorKind::Json { place, .. }
            | ErrorKind::Schema { place, .. }
            | ErrorKind::UnknownSegment { place, .. }
            | ErrorKind::NotEvaluable { place, .. }
            | ErrorKind::Unsupported { place, .. }
            | ErrorKind::TooDeep { place, .. } => Some(place),
            _ => None,
        }
    }

    pub(crate) fn json(pointer: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Json {
            place: Place::Pointer(pointer.to_owned()),
            message: message.into(),
        })
    }

    pub(crate) fn schema(pointer: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Schema {
            place: Place::Pointer(pointer.to_owned()),
            message: message.into(),
        })
    }

    pub(crate) fn unsupported(pointer: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported {
            place: Place::Pointer(pointer.to_owned()),
            message: message.into(),
        })
    }

    pub(crate) fn too_deep(place: Place) -> Self {
        Self::new(ErrorKind::TooDeep {
            place,
            max: crate::limits::MAX_DEPTH,
        })
    }

    #[cfg(feature = "source")]
    pub(crate) fn source_failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Source {
            message: message.into(),
        })
    }

    /// Replaces a JSON-pointer place by a text position, using a lookup from pointers to positions.
    pub(crate) fn map_place(mut self, f: impl Fn(&str) -> Option<Place>) -> Self {
        let slot = match &mut self.kind {
            ErrorKind::Schema { place, .. }
            | ErrorKind::UnknownSegment { place, .. }
            | ErrorKind::NotEvaluable { place, .. }
            | ErrorKind::Unsupported { place, .. }
            | ErrorKind::TooDeep { place, .. } => place,
            _ => return self,
        };
        if let Place::Pointer(p) = slot {
            if let Some(new) = f(p) {
                *slot = new;
            }
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Parse { place, expected, found } => {
                write!(f, "syntax error at {place}: expected ")?;
                match expected.len() {
                    0 => f.write_str("something else")?,
                    1 => f.write_str(&expected[0])?,
                    _ => {
                        let (last, rest) = expected.split_last().unwrap_or((&expected[0], &[]));
                        write!(f, "{} or {}", rest.join(", "), last)?;
                    }
                }
                write!(f, ", found {found}")
            }
            ErrorKind::Json { place, message } => write!(f, "invalid json at {place}: {message}"),
            ErrorKind::Schema { place, message } => write!(f, "schema check failed at {place}: {message}"),
            ErrorKind::Cycle { path } => write!(f, "named segments form a cycle: {}", path.join(" -> ")),
            ErrorKind::UnknownSegment { place, name } => write!(f, "unknown segment `{name}` referenced at {place}"),
            ErrorKind::NotEvaluable { place, what } => write!(
                f,
                "{what} at {place} is known only to LINE and cannot be evaluated in process; compile the segment to a narrowcast plan instead"
            ),
            ErrorKind::Unsupported { place, message } => write!(f, "cannot compile node at {place}: {message}"),
            ErrorKind::TooDeep { place, max } => write!(
                f,
                "segment nested too deeply at {place}: at most {max} levels of `not`, `all`/`and` and `any`/`or` (and parentheses in text) are allowed"
            ),
            ErrorKind::Limit { message } => write!(f, "line limit exceeded: {message}"),
            ErrorKind::Source { message } => write!(f, "profile source failed: {message}"),
            ErrorKind::Line { operation } => match &self.source {
                Some(e) => write!(f, "line call {operation} failed: {e}"),
                None => write!(f, "line call {operation} failed"),
            },
            ErrorKind::AudienceFailed {
                audience_group_id,
                status,
                failed_type,
            } => {
                write!(f, "audience {audience_group_id} is {status}, not READY")?;
                match failed_type {
                    Some(t) => write!(f, " ({t})"),
                    None => Ok(()),
                }
            }
            ErrorKind::Timeout { waiting_for } => write!(f, "timed out waiting for {waiting_for}"),
            ErrorKind::NarrowcastFailed {
                request_id,
                error_code,
                description,
            } => {
                write!(f, "narrowcast {request_id} failed")?;
                if let Some(c) = error_code {
                    write!(f, " (error code {c})")?;
                }
                match description {
                    Some(d) => write!(f, ": {d}"),
                    None => Ok(()),
                }
            }
            ErrorKind::MulticastIncomplete {
                failed_recipients,
                recipients,
            } => write!(
                f,
                "multicast incomplete: {failed_recipients} of {recipients} recipients are in chunks that failed; run the plan again with the same checkpoint"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Appends a segment to a JSON pointer, escaping `~` and `/`.
pub(crate) fn push_ptr(base: &str, token: impl fmt::Display) -> String {
    let t = token.to_string().replace('~', "~0").replace('/', "~1");
    format!("{base}/{t}")
}
