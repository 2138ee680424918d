//! The crate's one error type, in twilight's shape: a struct with a
//! [`kind()`](Error::kind) to branch on and a boxed source.
//!
//! No message ever holds a channel secret, an access token or a private key:
//! errors about those fields name the field and the rule, never the value.

use std::error::Error as StdError;
use std::fmt;

/// Anything that can go wrong in `line-accounts`.
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What went wrong. Match with a wildcard arm: new kinds may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An account (from a registry file, or given in code) was rejected.
    InvalidAccount {
        /// Which entry: `accounts[2]`, with its channel ID when it could be read
        /// (`accounts[2] (channel 1234567890)`), or `account` for one given in code.
        entry: String,
        /// The field, as the file spells it (`channel_secret`, `token.private_key`,
        /// `time_zone`, `plan.yen_per_additional_message`); empty for the entry as a whole.
        field: String,
        /// Why it was rejected (never the value of a secret field).
        reason: String,
    },
    /// A registry file is not a registry (not JSON, no `accounts` array).
    InvalidFile {
        /// JSON pointer of the offending value (empty for the document root).
        pointer: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A file could not be read.
    Io {
        /// The path.
        path: String,
    },
    /// Another account already has this bot user ID.
    Conflict {
        /// The channel that holds the bot user ID.
        existing_channel: String,
        /// The bot user ID.
        bot_user_id: String,
    },
    /// No account with this channel ID is in the registry.
    UnknownChannel {
        /// The channel ID.
        channel_id: String,
    },
    /// A store failed: the account registry, or the state of bulk send runs
    /// (`bulk::BulkStore`).
    Store {
        /// What the store was doing (`put`, `get`, `remove`, …; `begin_run`,
        /// `reserve_chunks`, `record_outcome`, … for a bulk store).
        operation: &'static str,
    },
    /// A campaign (module `bulk`) was rejected.
    InvalidCampaign {
        /// The field: `messages`, or `audiences[CHANNEL_ID]`.
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A channel access token could not be issued, verified or revoked.
    Token {
        /// The channel.
        channel_id: String,
        /// What was being done (`issue`, `revoke`).
        operation: &'static str,
    },
}

impl Error {
    /// An error of this kind, with no source.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of this kind caused by `source`.
    pub fn with_source(kind: ErrorKind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Consumes the error, giving its kind and source.
    pub fn into_parts(self) -> (ErrorKind, Option<Box<dyn StdError + Send + Sync>>) {
        (self.kind, self.source)
    }

    pub(crate) fn invalid(entry: impl Into<String>, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidAccount {
            entry: entry.into(),
            field: field.into(),
            reason: reason.into(),
        })
    }

    /// A store failure during `operation`, caused by `source`.
    pub fn store(operation: &'static str, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::with_source(ErrorKind::Store { operation }, source)
    }

    /// Prefixes the entry of an [`InvalidAccount`](ErrorKind::InvalidAccount) error
    /// (an account read as entry `entry` of a file).
    pub(crate) fn in_entry(mut self, entry: &str) -> Self {
        if let ErrorKind::InvalidAccount { entry: e, .. } = &mut self.kind {
            *e = entry.to_owned();
        }
        self
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::InvalidAccount { entry, field, reason } if field.is_empty() => {
                write!(f, "invalid registry entry {entry}: {reason}")
            }
            ErrorKind::InvalidAccount { entry, field, reason } => {
                write!(f, "invalid registry entry {entry}, field `{field}`: {reason}")
            }
            ErrorKind::InvalidFile { pointer, reason } => {
                let at = if pointer.is_empty() {
                    "the document root"
                } else {
                    pointer
                };
                write!(f, "invalid registry file at {at}: {reason}")
            }
            ErrorKind::Io { path } => write!(f, "cannot read {path}"),
            ErrorKind::Conflict {
                existing_channel,
                bot_user_id,
            } => write!(
                f,
                "bot user ID {bot_user_id} already belongs to channel {existing_channel}"
            ),
            ErrorKind::UnknownChannel { channel_id } => write!(f, "no account for channel {channel_id}"),
            ErrorKind::Store { operation } => write!(f, "store failed during {operation}"),
            ErrorKind::InvalidCampaign { field, reason } => write!(f, "invalid campaign, field `{field}`: {reason}"),
            ErrorKind::Token { channel_id, operation } => {
                write!(f, "channel access token {operation} failed for channel {channel_id}")
            }
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}
