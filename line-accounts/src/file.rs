//! The registry file: a JSON document listing accounts (see `docs/formats.md`).
//!
//! ```json
//! {
//!   "accounts": [
//!     {
//!       "channel_id": "1234567890",
//!       "bot_user_id": "U0123456789abcdef0123456789abcdef",
//!       "name": "Shibuya store",
//!       "channel_secret": "0123456789abcdef0123456789abcdef",
//!       "token": { "type": "v2.1", "kid": "6a0c…", "private_key_file": "keys/shibuya.pem" },
//!       "time_zone": "Asia/Tokyo",
//!       "plan": { "free_messages_per_month": 30000, "yen_per_additional_message": 3.0 }
//!     }
//!   ]
//! }
//! ```
//!
//! Every error names the entry (`accounts[1] (channel 1234567890)`) and the field
//! (`channel_secret`, `token.private_key`, `time_zone`, `plan.free_messages_per_month`),
//! and never quotes a secret.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::account::{Account, Entry};
use crate::error::{Error, ErrorKind};

/// Fields whose values are secrets: an error about them never quotes what it found.
const SECRET_FIELDS: &[&str] = &["channel_secret", "token.access_token", "token.private_key"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    accounts: Vec<Value>,
}

/// Reads a registry file. A relative `private_key_file` is read relative to the
/// file's directory.
pub fn load_registry_file(path: impl AsRef<Path>) -> Result<Vec<Account>, Error> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| {
        Error::with_source(
            ErrorKind::Io {
                path: path.display().to_string(),
            },
            e,
        )
    })?;
    parse_registry(&bytes, path.parent())
}

/// Parses a registry document. `base` is the directory a relative
/// `private_key_file` is read from (the current directory when `None`).
///
/// ```
/// let doc = br#"{"accounts": [{
///     "channel_id": "1234567890",
///     "bot_user_id": "U0123456789abcdef0123456789abcdef",
///     "channel_secret": "not-hex",
///     "token": {"type": "stateless"},
///     "plan": {"free_messages_per_month": 200}
/// }]}"#;
/// let err = line_accounts::parse_registry(doc, None).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid registry entry accounts[0] (channel 1234567890), field `channel_secret`: \
///      must be 32 hexadecimal digits, as LINE's channel secrets are"
/// );
/// assert!(!format!("{err:?}").contains("not-hex"));
/// ```
pub fn parse_registry(json: &[u8], base: Option<&Path>) -> Result<Vec<Account>, Error> {
    let doc: Document = line_core::error::from_json_slice(json).map_err(|e| match e.kind() {
        line_core::ErrorKind::Parse { pointer, reason } if !pointer.starts_with("/accounts/") => {
            Error::new(ErrorKind::InvalidFile {
                pointer: pointer.clone(),
                reason: reason.clone(),
            })
        }
        // Inside an entry the parser's message could quote a secret: keep only where.
        line_core::ErrorKind::Parse { pointer, .. } => Error::new(ErrorKind::InvalidFile {
            pointer: pointer.clone(),
            reason: "not valid JSON".into(),
        }),
        _ => Error::new(ErrorKind::InvalidFile {
            pointer: String::new(),
            reason: "not a registry document".into(),
        }),
    })?;
    let mut accounts = Vec::with_capacity(doc.accounts.len());
    let mut channels: HashMap<String, usize> = HashMap::new();
    let mut bots: HashMap<String, usize> = HashMap::new();
    for (i, value) in doc.accounts.into_iter().enumerate() {
        let label = match value.get("channel_id").and_then(Value::as_str) {
            Some(id) if id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) => {
                format!("accounts[{i}] (channel {id})")
            }
            _ => format!("accounts[{i}]"),
        };
        let entry: Entry = serde_path_to_error::deserialize(value).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            let reason = if field == "token.private_key" {
                "must be a PEM string or a JWK object".to_owned()
            } else if SECRET_FIELDS.contains(&field.as_str()) {
                "must be a string".to_owned()
            } else {
                e.inner().to_string()
            };
            Error::invalid(label.clone(), field, reason)
        })?;
        let account = entry.into_account(base).map_err(|e| e.in_entry(&label))?;
        if let Some(j) = channels.insert(account.channel_id.as_str().to_owned(), i) {
            return Err(Error::invalid(
                label,
                "channel_id",
                format!("the same channel as accounts[{j}]"),
            ));
        }
        if let Some(j) = bots.insert(account.bot_user_id.as_str().to_owned(), i) {
            return Err(Error::invalid(
                label,
                "bot_user_id",
                format!("the same bot user ID as accounts[{j}]"),
            ));
        }
        accounts.push(account);
    }
    Ok(accounts)
}
