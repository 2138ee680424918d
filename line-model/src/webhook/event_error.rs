//! [`EventError`]: why one event of a webhook request could not be read. It sits
//! apart from the reading (in `invalid`) so that the generated events, which hold
//! it in `Event::Invalid`, and the reader, which builds events, each import it
//! without importing one another.

use std::fmt;

/// Why an event of a webhook request could not be read: the JSON pointer of
/// the failing place, relative to the event (`/message/contentProvider`; empty
/// for the event itself), and the reason.
///
/// ```
/// use line_model::webhook::{parse, Event};
///
/// let body = br#"{"events":[{"type":"unfollow","timestamp":"soon"},{"type":"unfollow","timestamp":1}]}"#;
/// let request = parse(body)?;
/// let Event::Invalid { kind, error, .. } = &request.events[0] else { unreachable!() };
/// assert_eq!(kind, "unfollow");
/// assert_eq!(error.pointer(), "/timestamp");
/// assert!(error.reason().starts_with("invalid type: string \"soon\""));
/// assert!(matches!(request.events[1], Event::Unfollow(_)));
/// # Ok::<(), line_model::webhook::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    pub(crate) pointer: String,
    pub(crate) reason: String,
}

impl EventError {
    /// The JSON pointer of the failing place, relative to the event.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// What was wrong there.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "invalid event: {}", self.reason)
        } else {
            write!(f, "invalid event at {}: {}", self.pointer, self.reason)
        }
    }
}

impl std::error::Error for EventError {}
