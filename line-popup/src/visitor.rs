//! [`VisitorContext`]: one page view as the host describes it, the input of
//! [`PopupEngine::decide`](crate::PopupEngine::decide) and of a
//! [`SegmentCondition`](crate::SegmentCondition).

use line_core::ids::UserId;
use serde::{Deserialize, Serialize};

use crate::config::Device;
use crate::error::Error;

/// Longest accepted visitor or session ID, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// The visitor's relation to the LINE Official Account, as the host knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LineStatus {
    /// The host does not know (an anonymous visitor). Counts as not a friend.
    #[default]
    Unknown,
    /// Known not to be a friend.
    NotFriend,
    /// A friend whose member ID is not linked.
    Friend,
    /// A friend with a linked member ID.
    Linked,
}

/// One page view, as the host describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VisitorContext {
    /// A stable visitor ID (a first-party cookie, for example); 1 to 128 bytes.
    pub visitor_id: String,
    /// The visitor's current session; 1 to 128 bytes.
    pub session_id: String,
    /// The page path, starting with `/` (no query string).
    pub path: String,
    /// The device class.
    pub device: Device,
    /// The visitor's relation to the LINE account.
    #[serde(default)]
    pub line: LineStatus,
    /// The visitor's LINE user ID, when the host knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_user_id: Option<UserId>,
}

impl VisitorContext {
    /// A page view of an anonymous visitor.
    pub fn new(
        visitor_id: impl Into<String>,
        session_id: impl Into<String>,
        path: impl Into<String>,
        device: Device,
    ) -> Self {
        Self {
            visitor_id: visitor_id.into(),
            session_id: session_id.into(),
            path: path.into(),
            device,
            line: LineStatus::Unknown,
            line_user_id: None,
        }
    }

    /// The same page view with another LINE status.
    pub fn with_line(mut self, line: LineStatus) -> Self {
        self.line = line;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        check_id("visitor_id", &self.visitor_id)?;
        check_id("session_id", &self.session_id)?;
        if !self.path.starts_with('/') {
            return Err(Error::invalid_input("path", "must start with '/'"));
        }
        Ok(())
    }
}

fn check_id(field: &str, v: &str) -> Result<(), Error> {
    if v.is_empty() || v.len() > MAX_ID_LEN {
        return Err(Error::invalid_input(field, format!("must be 1 to {MAX_ID_LEN} bytes")));
    }
    // Printable ASCII (0x21 to 0x7e) is the common case and needs no decoding;
    // anything else is checked by character.
    let printable = v.bytes().fold(true, |ok, b| ok & (b'!'..=b'~').contains(&b));
    if !printable && v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid_input(
            field,
            "must not contain spaces or control characters",
        ));
    }
    Ok(())
}
